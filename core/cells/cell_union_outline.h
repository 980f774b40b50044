// The connected pieces of a cell union and their outlines as lat/lon rings, for maps (GeoJSON) and
// emergency-call location objects (PIDF-LO gml:Polygon). No S2 type appears here.
//
//   std::vector<CellUnionPiece> pieces = CellUnionPieces(NormalizeCellUnion(cells));
//   for (const auto& p : pieces) rings = geo::SplitRingAtAntimeridian(p.exterior);  // GeoJSON
//
// Pieces are edge-connected: two cells belong to one piece when they share part of an edge (cells
// that touch only at a corner are separate pieces, and their outlines touch at that corner).
// Outlines are traced from the cells' edges, so they are exact: every vertex is a cell corner and
// every edge a great-circle arc (S2 cell edges are geodesics; runs of collinear cell edges are
// merged into one arc, which can be long: densify before drawing straight lines on a flat map).
//
// | input                                   | result                                            |
// | --------------------------------------- | ------------------------------------------------- |
// | empty union                             | no pieces                                         |
// | one cell                                | one piece, exterior = its 4 corners, no holes     |
// | cells in two separate groups            | two pieces, larger area first                     |
// | a ring of cells around an empty cell    | one piece whose exterior is the outer boundary    |
// |                                         | and whose one hole is the empty cell's boundary   |
// | the whole sphere (the six faces)        | one piece with no rings (it has no boundary)      |
// | a union that is not normalised          | normalised first (NormalizeCellUnion)             |
//
// Ring conventions (RFC 7946 and RFC 5491 both want them): the exterior is counter-clockwise seen
// from outside the sphere (the piece on its left), holes are clockwise (the piece again on their
// left); rings are open (the first vertex is not repeated) and longitudes are in [-180, 180], so a
// ring may cross the antimeridian or enclose a pole: geo::SplitRingAtAntimeridian turns it into
// GeoJSON rings. The exterior of a piece is its boundary loop with the smallest area on its left;
// for a piece smaller than a hemisphere that is the outer boundary everyone expects.
//
// Cost: four neighbour lookups and binary searches per cell plus the boundary length; about
// 0.4 us per cell on the shared test machine (tools/bench/calibration, BM_Stage_Outlines). Pure
// function: thread-safe.
#ifndef GEOLOC_CORE_CELLS_CELL_UNION_OUTLINE_H_
#define GEOLOC_CORE_CELLS_CELL_UNION_OUTLINE_H_

#include <vector>

#include "absl/types/span.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {

struct CellUnionPiece {
  // The piece's cells, a normalised union of their own (sorted by id).
  std::vector<CellId> cells;
  // Area of the cells, km^2 (CellUnionAreaKm2: within 0.1%).
  double area_km2 = 0;
  // Counter-clockwise outer boundary (empty only for the whole sphere, or when outlines were not
  // asked for).
  std::vector<geo::LatLon> exterior;
  // Clockwise boundaries of the holes, largest area first.
  std::vector<std::vector<geo::LatLon>> holes;
};

// The pieces of the union, largest area first (ties: smallest first cell id). With
// with_outlines = false the rings stay empty and only cells and areas are computed.
std::vector<CellUnionPiece> CellUnionPieces(absl::Span<const CellId> cells,
                                            bool with_outlines = true);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_CELL_UNION_OUTLINE_H_
