// The superlevel sets {x : f(x) >= t} of a predictive density as unions of S2 cells at adaptive
// levels: coarse where f is far above or below t, refined along the boundary. This is how a
// confidence region (the highest-density region at a conformal threshold) becomes cells, area and
// outlines.
//
//   GEOLOC_ASSIGN_OR_RETURN(SuperlevelResult r, ExtractSuperlevelSets(f, {t50, t68, t90, t95}));
//   double km2 = cells::CellUnionAreaKm2(r.sets[3].cells);
//
// Method (one traversal for all thresholds, which share their coarse cells):
//  1. Start from a covering (cells::CellsCoveringCaps) of f's superlevel cover at the lowest
//     threshold, which holds every set.
//  2. For every cell, bound f over it (PredictiveDensity::BoundsOverCell). For each threshold t the
//     cell is inside when lo >= t, outside when hi < t, undecided otherwise. Undecided cells are
//     split into their four children, level by level.
//  3. Refinement stops at the finest level: the first S2 level whose average edge is at most
//     options.finest_edge_fraction times f's ScaleKm() (its smallest bandwidth), or earlier when the
//     next level would take the number of evaluated cells past options.max_cells (capped = true;
//     the cells then stay uniformly coarser along the whole boundary). Cells still undecided there
//     are settled by options.boundary: kCentre puts a cell inside when f at its centre reaches t
//     (the region is then the exact set up to those boundary cells, in both directions); kInclude
//     puts every undecided cell inside, so the region contains the exact set (conformal coverage
//     then holds for the cells as well as for the set, at the price of a larger area).
//     boundary_area_km2 is their total area: how far the outline is uncertain.
//
// | threshold t                      | set                                              |
// | -------------------------------- | ------------------------------------------------ |
// | t <= a_0 u (the floor density)   | the whole sphere (whole_sphere = true, 6 faces)  |
// | +infinity, or above f everywhere | empty                                            |
// | NaN                              | InvalidArgument                                  |
//
// Cost: O(evaluated cells x kernels); about 0.1-0.3 ms for four thresholds at k = 100
// (tools/bench/calibration, docs/BENCHMARKS.md). Pure function: thread-safe.
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
  double finest_edge_fraction = 0.35;
  // Cap on the cells evaluated (all thresholds together), >= 1.
  int64_t max_cells = 6000;
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
};

struct SuperlevelResult {
  // One per threshold, in the order given.
  std::vector<SuperlevelSet> sets;
  // The level refinement could reach, and the deepest it did reach.
  int finest_level = 0;
  int deepest_level = 0;
  int64_t cells_evaluated = 0;
  // True when max_cells stopped refinement before finest_level.
  bool capped = false;
};

absl::StatusOr<SuperlevelResult> ExtractSuperlevelSets(const PredictiveDensity& f,
                                                       absl::Span<const double> thresholds,
                                                       const SuperlevelOptions& options = {});

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_SUPERLEVEL_SET_H_
