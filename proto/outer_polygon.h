// A polygon with few vertices that CONTAINS a given ring: what a location object may carry
// (RFC 5491 section 5.2.2: at most 15 vertices, edges of at most about 130 km) when a confidence
// region has many more. Containing the original keeps the region's stated confidence a lower
// bound: the truth is inside the original with probability >= c, so inside the outer polygon too.
//
//   absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(piece.exterior);
//   // open, counter-clockwise, 3 to 15 vertices, contains every point of piece.exterior
//
// Edges, of the input and of the result, are great-circle arcs: RFC 5491 defines an edge as the
// straight line in space between its vertices, whose projection onto the sphere is the arc.
//
// Method (all in a gnomonic projection centred on the ring's mean direction, where great circles
// are straight lines, so planar convexity is spherical convexity and the seam at +-180 and the
// poles need no special case):
//   1. the convex hull of the vertices, each widened to a square that holds a disc of margin_m
//      on the ground (the hull contains every arc between vertices, hence the ring, and keeps
//      margin_m from it, so rounding the written coordinates cannot cut the ring);
//   2. while the hull has more than max_vertices vertices: among the edges whose two neighbouring
//      edges meet beyond it (exterior angles summing to less than 180 degrees, which some edge
//      always satisfies once there are 5 or more vertices), remove the one whose removal adds the
//      least area: its two vertices are replaced by the meeting point. Each step only grows the
//      polygon and keeps it convex; edges shorter than 1 m are then removed the same way where
//      that adds less than their length squared (no two vertices nearly coincide);
//   3. while there is room under max_vertices, the longest edge above max_edge_km is split at its
//      midpoint (the same arc, so the polygon does not change). When 15 vertices cannot make all
//      edges short (a perimeter above 15 x 130 km), the longer edges stay.
//
//   | input ring                                   | result                                     |
//   |----------------------------------------------|--------------------------------------------|
//   | convex with <= max_vertices vertices          | its vertices, moved out by the margin      |
//   | any simple counter-clockwise ring             | a convex polygon containing it             |
//   | crosses +-180, or encloses a pole             | the same (longitudes in [-180, 180))       |
//   | tiny or degenerate (one point, a line)        | a small quadrilateral around it (margin)   |
//   | fewer than 3 vertices, a bad coordinate       | InvalidArgument                            |
//   | clockwise (its inside is the far side), or    | InvalidArgument / OutOfRange: no convex    |
//   |   a vertex more than 75 degrees from the      |   polygon of a hemisphere or less can hold |
//   |   ring's mean direction                       |   it                                       |
//
// Pure function: thread-safe.
#ifndef GEOLOC_PROTO_OUTER_POLYGON_H_
#define GEOLOC_PROTO_OUTER_POLYGON_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"

namespace geoloc::pidf {

// RFC 5491 section 5.2.2: "Polygon shapes should be restricted to a maximum of 15 vertices (16
// points including the repeated first point)" and edges to about 130 km.
inline constexpr int kRfc5491MaxPolygonVertices = 15;
inline constexpr double kRfc5491MaxEdgeKm = 130.0;

struct OuterPolygonOptions {
  int max_vertices = kRfc5491MaxPolygonVertices;  // at least 4
  double max_edge_km = kRfc5491MaxEdgeKm;
  double margin_m = 0.0;  // least distance from the ring to the result's edges, metres (>= 0)
};

// An open, counter-clockwise ring of 3 to options.max_vertices vertices whose polygon contains
// the polygon of `ring` (open, counter-clockwise, great-circle edges). See the table above.
absl::StatusOr<std::vector<geo::LatLon>> OuterPolygon(absl::Span<const geo::LatLon> ring,
                                                      const OuterPolygonOptions& options = {});

}  // namespace geoloc::pidf

#endif  // GEOLOC_PROTO_OUTER_POLYGON_H_
