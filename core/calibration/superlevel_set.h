// The superlevel sets {x : f(x) >= t} of a predictive density as unions of S2 cells at adaptive
// levels: coarse where f is far above or below t, refined along the boundary. This is how a
// confidence region (the highest-density region at a conformal threshold) becomes cells, area and
// outlines.
//
//   GEOLOC_ASSIGN_OR_RETURN(SuperlevelResult r, ExtractSuperlevelSets(f, {t50, t68, t90, t95}));
//   double km2 = cells::CellUnionAreaKm2(r.sets[3].cells);
//
// Method (one traversal per threshold, each with its own cell budget, so that a level's region
// depends on its own threshold only: asking for another level never changes or coarsens it):
//  1. Start from a covering (cells::CellsCoveringCaps) of f's superlevel cover at the threshold.
//  2. For every cell, bound f over it (the parts' BoundsOverTerms). The cell is inside when
//     lo >= t, outside when hi < t, undecided otherwise.
//  3. Undecided cells are split into their four children, level by level (coarse first). A cell's
//     importance is its area over the area already inside the region (1 while it has nothing
//     inside yet). A cell is not split when
//       - it has reached the finest level of the terms that still vary over it: the first S2 level
//         whose average edge is at most options.finest_edge_fraction times the term's ScaleKm (its
//         bandwidth). Terms that cannot matter inside a cell are dropped for its descendants, and
//         a term whose bounds over a cell are already tight is frozen there, so the boundary drawn
//         by a 400 km kernel gets cells of about 140 km while the answer's 0.5 km kernels get
//         0.1 km cells where they decide;
//       - its importance is below options.min_relative_cell_area (a 1 km^2 island cannot change a
//         continent-sized region's area by more than that share);
//       - or splitting it would take the evaluated cells past options.max_cells (capped = true:
//         the deepest level reached is then left coarser than the rule above asks).
//  4. Cells left undecided are settled by options.boundary: kCentre puts each quarter of the cell
//     inside when f at the quarter's centre reaches t, f there estimated to first order from the
//     cell's centre (the region is then the exact set up to those boundary cells, in both
//     directions; an island smaller than a quarter may be missed);
//     kInclude puts every undecided cell inside, so the region contains the exact set (conformal
//     coverage then holds for the cells as well as for the set, at the price of a larger area).
//     boundary_area_km2 is their total area: how far the outline is uncertain.
// Shared work: the traversals of one call measure each cell once (its geometry), evaluate a part's
// terms over a cell once for all the traversals that reach the cell holding the same terms
// (DensityComponent::MemoiseTerms: all of them, or the cell's last subset), and reuse a start
// covering whose caps have the same centres and covering levels as an earlier one
// (cells::CapCoveringLevel). Each traversal derives its own bounds, pruning and freezing from the
// memos, and prunes only cells it leaves undecided. None of this depends on a threshold, so every
// set is exactly the one its threshold gives alone.
// Nesting: the exact sets are nested (a higher threshold's inside a lower one's), and so are the
// cell unions wherever both boundaries are resolved to the finest level; where a budget left a
// boundary coarse, a higher threshold's boundary cells may reach past a lower one's region (under
// kInclude by at most its boundary_area_km2: its cells decided by bounds lie in the lower one's
// exact set, which kInclude contains).
//
// | threshold t                      | set                                              |
// | -------------------------------- | ------------------------------------------------ |
// | t <= a_0 u (the floor density)   | the whole sphere (whole_sphere = true, 6 faces)  |
// | +infinity, or above f everywhere | empty                                            |
// | NaN                              | InvalidArgument                                  |
//
// Cost: O(evaluated cells x terms still in play), up to max_cells cells per threshold, the shared
// work counted once; at k = 100 and four thresholds about 2,300 to 3,400 cells, and 1.3 to 2.7 ms
// of CPU for the engine's whole calibrate stage on the shared test machine (about 0.7 us per
// evaluated cell, a third of it the kernels' bounds; 2.8 to 4.5 ms before the work was shared,
// 1.6 to 3.1 ms before the kernels shared their distances; tools/bench/calibration,
// docs/BENCHMARKS.md, docs/CALIBRATION.md "Cost").
// Pure function: thread-safe. The memos live in per-thread arenas that are kept for the thread's
// next call (cleared, not freed, so an answer maps no fresh pages): at most max_memo_bytes per
// thread that extracts regions.
#ifndef GEOLOC_CORE_CALIBRATION_SUPERLEVEL_SET_H_
#define GEOLOC_CORE_CALIBRATION_SUPERLEVEL_SET_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/predictive_density.h"
#include "core/cells/s2_cells.h"

namespace geoloc::calibration {

enum class BoundaryRule { kCentre, kInclude };

struct SuperlevelOptions {
  // Finest cells: average edge at most this fraction of the density's ScaleKm, in (0, 10].
  double finest_edge_fraction = 0.5;
  // Cells smaller than this share of the region they may change are not split, in [0, 1).
  double min_relative_cell_area = 4e-3;
  // Cap on the cells evaluated per threshold, >= 1.
  int64_t max_cells = 1000;
  // Cap on the memory of the memos the thresholds' traversals share (see "Shared work"), >= 0:
  // beyond it cells are bounded from their terms without a memo (the same bounds, not shared).
  // The memos scale with k (up to 4,096): 2 to 4 MB at k = 100 and four thresholds.
  int64_t max_memo_bytes = int64_t{8} << 20;
  BoundaryRule boundary = BoundaryRule::kCentre;
};

absl::Status ValidateSuperlevelOptions(const SuperlevelOptions& options);

struct SuperlevelSet {
  double threshold = 0;
  bool whole_sphere = false;
  // Normalised cell union (cells::NormalizeCellUnion).
  std::vector<cells::CellId> cells;
  // Area of the cells settled by the boundary rule, km^2 (0 when every cell was decided by bounds).
  double boundary_area_km2 = 0;
  // This threshold's traversal: the cells it evaluated, and whether max_cells stopped it.
  int64_t cells_evaluated = 0;
  bool capped = false;
};

struct SuperlevelResult {
  // One per threshold, in the order given.
  std::vector<SuperlevelSet> sets;
  // The finest level of the narrowest term, and the deepest level refinement reached.
  int finest_level = 0;
  int deepest_level = 0;
  // All thresholds together: the cells evaluated, and whether max_cells stopped any traversal
  // before finest_level.
  int64_t cells_evaluated = 0;
  bool capped = false;
};

absl::StatusOr<SuperlevelResult> ExtractSuperlevelSets(const PredictiveDensity& f,
                                                       absl::Span<const double> thresholds,
                                                       const SuperlevelOptions& options = {});

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_SUPERLEVEL_SET_H_
