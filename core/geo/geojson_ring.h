// Lat/lon rings as GeoJSON (RFC 7946) polygon rings: cut at the antimeridian instead of wrapped
// (section 3.1.9), poles handled, counter-clockwise and closed. Used by the client's answer maps
// and by geoloc-cells' cell maps.
//
//   std::vector<GeoJsonRing> rings = SplitRingAtAntimeridian(cells::CellVertices(id, 8));
//   // 1 ring: a Polygon; 2 or more: a MultiPolygon
//
// The ring is unwrapped into continuous longitudes, then cut at +-180 into pieces shifted back
// into [-180, 180]:
//   | input ring                                   | output                                   |
//   | does not cross +-180                         | one ring                                 |
//   | crosses +-180 (a cell over Fiji)             | two rings: east and west                 |
//   | encloses a pole (its longitudes wind         | ring(s) closed along +-180 and latitude  |
//   |   through 360 degrees)                       |   +-90, the band the cap is on a map     |
//   | has a pole as a vertex (its longitude is     | the pole becomes two vertices at +-90,   |
//   |   undefined)                                 |   one per adjacent edge's longitude      |
//   | fewer than 3 vertices, or only poles         | no rings                                 |
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_GEOJSON_RING_H_
#define GEOLOC_CORE_GEO_GEOJSON_RING_H_

#include <vector>

#include "absl/types/span.h"
#include "core/geo/lat_lon.h"

namespace geoloc::geo {

// A GeoJSON position, in GeoJSON's order.
struct LonLat {
  double lon = 0;
  double lat = 0;
};
using GeoJsonRing = std::vector<LonLat>;  // closed when returned: front == back

// Cuts an open, counter-clockwise ring into closed GeoJSON rings inside [-180, 180] (see above).
std::vector<GeoJsonRing> SplitRingAtAntimeridian(absl::Span<const LatLon> ring);

}  // namespace geoloc::geo

#endif  // GEOLOC_CORE_GEO_GEOJSON_RING_H_
