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
// Antimeridian and poles (RFC 7946 section 3.1.9: cut, don't wrap): geo::SplitRingAtAntimeridian
// (core/geo/geojson_ring.h). A cell over +-180 becomes a MultiPolygon; the polar faces "5" and
// "b" enclose a pole and become bands up to latitude +-90.
//
// Pure functions: thread-safe.
#ifndef GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_
#define GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cells/cell_hierarchy.h"
#include "core/geo/geojson_ring.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells_cli {

using geo::LonLat;
using GeoRing = geo::GeoJsonRing;
using geo::SplitRingAtAntimeridian;

struct CellGeoJsonOptions {
  int points_per_edge = 8;  // 1..64
  bool leaves_only = false;
};

// INVALID_ARGUMENT for points_per_edge outside [1, 64].
absl::StatusOr<std::string> CellsToGeoJson(const cells::CellHierarchy& cells,
                                           const CellGeoJsonOptions& options);

}  // namespace geoloc::cells_cli

#endif  // GEOLOC_TOOLS_CELLS_CELL_GEOJSON_H_
