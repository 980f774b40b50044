// GeoJSON (RFC 7946) maps of a cell hierarchy, for checking cells in a map tool
// (`geoloc-cells export-geojson`).
//
//   GEOLOC_ASSIGN_OR_RETURN(std::string json, CellsToGeoJson(cells, {.points_per_edge = 8}));
//   GEOLOC_RETURN_IF_ERROR(WriteFileAtomically("cells.geojson", json));
//
// One FeatureCollection with a feature per cell (nodes() order: coarse levels first, so leaves
// draw on top), geometry Polygon or MultiPolygon, properties:
//   token       S2 token                 level     absolute S2 level
//   count       points inside the cell   leaf_class class of a leaf, -1 for an internal cell
//   area_km2    CellAreaKm2
// Positions are [longitude, latitude]; rings are closed and counter-clockwise. S2 cell edges are
// geodesics, so each edge is densified with points_per_edge - 1 points (CellVertices).
//
// Antimeridian and poles (RFC 7946 section 3.1.9: cut, don't wrap), the approach of
// client/geojson.cc on geo::LatLon rings (the client's version works on proto LatLng and core
// must not depend on client). The ring is unwrapped into continuous longitudes, then cut at
// +-180 into pieces shifted back into [-180, 180]:
//   | input ring                                   | output                                   |
//   | does not cross +-180                         | one ring (Polygon)                       |
//   | crosses +-180 (a cell over Fiji)             | two rings (MultiPolygon): east and west  |
//   | encloses a pole (faces "5" and "b": the      | ring(s) closed along +-180 and latitude  |
//   |   longitudes wind through 360 degrees)       |   +-90, the band the cap is on a map     |
//   | has a pole as a vertex (the polar faces'     | the pole becomes two vertices at +-90,   |
//   |   inner cells: its longitude is undefined)   |   one per adjacent edge's longitude      |
//
// Pure functions: thread-safe.
#ifndef GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_
#define GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cells/cell_hierarchy.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells_cli {

struct LonLat {
  double lon = 0;
  double lat = 0;
};
using GeoRing = std::vector<LonLat>;  // closed when returned: front == back

// Cuts an open, counter-clockwise ring (CellVertices' convention) into closed GeoJSON rings inside
// [-180, 180] (see the table above). Fewer than 3 vertices: no rings.
std::vector<GeoRing> SplitRingAtAntimeridian(const std::vector<geo::LatLon>& ring);

struct CellGeoJsonOptions {
  int points_per_edge = 8;  // 1..64
  bool leaves_only = false;
};

// INVALID_ARGUMENT for points_per_edge outside [1, 64].
absl::StatusOr<std::string> CellsToGeoJson(const cells::CellHierarchy& cells,
                                           const CellGeoJsonOptions& options);

}  // namespace geoloc::cells_cli

#endif  // GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_
