// S2 cells behind plain integers: the only geoloc header about S2 cells, and it exposes no S2 type
// (S2's bundled base/ headers clash with glog from LibTorch, so callers include this next to
// LibTorch). A CellId is S2's 64-bit cell id; tokens are S2's hex tokens ("47e66f").
//
//   CellId paris = CellIdAt({48.8584, 2.2945}, 10);           // "47e66f"
//   std::vector<geo::LatLon> ring = CellVertices(paris, 16);  // densified outline for a map
//
// Every function is pure and thread-safe. Functions that take a CellId accept any uint64 and
// answer invalid input with a documented value instead of crashing (S2 itself aborts on some):
//
// | input                                      | result                                      |
// | ------------------------------------------ | ------------------------------------------- |
// | CellIdAt: non-finite coordinate, latitude  | kNoCell                                     |
// |   outside [-90, 90], longitude outside     |                                             |
// |   [-180, 180], level outside [0, 30]       |                                             |
// | id that is not a valid cell (0, "X", ...)  | IsValidCell false, CellLevel -1,            |
// |                                            | CellParent/CellChildren/CellRange* kNoCell, |
// |                                            | CellCenter NaN, CellVertices empty,         |
// |                                            | CellAreaKm2 0, CellContains false           |
// | CellParent(id, level), level > CellLevel   | kNoCell (a parent is never finer)           |
// | CellChildren of a leaf (level 30)          | four kNoCell                                |
#ifndef GEOLOC_CORE_CELLS_S2_CELLS_H_
#define GEOLOC_CORE_CELLS_S2_CELLS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {

// S2CellId::id(): face in the top 3 bits, then the Hilbert-curve position; its order is S2's
// (spatially coherent) cell order, and a cell's descendants are exactly the ids in
// [CellRangeMin, CellRangeMax].
using CellId = uint64_t;

// Never a valid cell (S2CellId::None()).
inline constexpr CellId kNoCell = 0;
// Level of S2's leaf cells (about 1 cm across); level 0 is a cube face.
inline constexpr int kMaxCellLevel = 30;

// The level-`level` cell that contains the point (see the case table for invalid input).
CellId CellIdAt(geo::LatLon point, int level);

// S2's canonical token: lower-case hex without trailing zeros ("1", "47e66f"); "X" for kNoCell.
std::string CellToken(CellId id);
// Accepts exactly the canonical token of a valid cell, in either letter case. Anything else
// (empty, non-hex, more than 16 digits, a non-canonical spelling such as "10" for "1", an id that
// is no cell) is INVALID_ARGUMENT naming the token.
absl::StatusOr<CellId> CellFromToken(absl::string_view token);

bool IsValidCell(CellId id);
// 0 (a face) to 30 (a leaf); -1 when `id` is not a valid cell.
int CellLevel(CellId id);
// The ancestor at `level` (0 <= level <= CellLevel(id)); the cell itself at its own level.
CellId CellParent(CellId id, int level);
// The four children in S2 order (Hilbert-curve order, increasing ids).
std::array<CellId, 4> CellChildren(CellId id);
// Smallest and largest leaf id inside the cell.
CellId CellRangeMin(CellId id);
CellId CellRangeMax(CellId id);
// True when `descendant` lies inside `ancestor` (a cell contains itself).
bool CellContains(CellId ancestor, CellId descendant);

// The point where S2 splits the cell into its children (its centre in S2's (s,t) space).
geo::LatLon CellCenter(CellId id);
// The boundary as a counter-clockwise ring (seen from outside the sphere), not closed: vertex 0,
// then points_per_edge - 1 points along edge 0 (geodesic to vertex 1), vertex 1, ... so
// 4 * points_per_edge points. S2 cell edges are geodesics, which are curves on a flat map; pass
// points_per_edge > 1 to draw them (values < 1 count as 1). Longitudes are in [-180, 180]: a
// ring that crosses the antimeridian or encloses a pole (faces 2 and 5, "5" and "b") must be
// split by the caller before drawing it on a flat map.
std::vector<geo::LatLon> CellVertices(CellId id, int points_per_edge = 1);
// Exact area on a sphere of radius geo's mean Earth radius (6371.0088 km).
double CellAreaKm2(CellId id);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_S2_CELLS_H_
