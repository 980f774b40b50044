// geoloc-eval areas: what a search area known around the truth buys (issue 17, "Search areas and
// priors"). For every localizable query of a stored retrieval and every prior radius R, a disc of
// radius R is centred on the truth displaced by a random offset uniform within the disc (as a
// cell sector's centre is off the caller's true position); the photo is then located with no
// area, with the disc as a hard filter, and with the disc as a soft prior, through the engine's
// Search/AreaRows/WithPriorSupport/Finish (the settings geolocd serves for `params`). The disc's
// centre alone is reported too: the answer an operator has without the photo.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::vector<AreaRow> rows,
//                           EvaluateAreas(*locator, run, params, {10, 50}, /*seed=*/1, true));
//
// A hard disc that holds no database photo has no answer (FAILED_PRECONDITION from the engine):
// it counts as a miss at every threshold, as an infinite error for the median and as uncovered at
// every level, and is counted in `no_answer`. Deterministic for a seed. Single-threaded (uses the
// Locator, which is thread-safe).
#ifndef GEOLOC_TOOLS_EVAL_AREA_EVAL_H_
#define GEOLOC_TOOLS_EVAL_AREA_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/engine/locator.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {

// A region level's coverage over a row's queries (calibrated answers only).
struct AreaLevelCoverage {
  double level = 0;
  double coverage = 0;        // the truth in the region's cells (clipped under a hard area)
  double exact_coverage = 0;  // the truth's score within the level's quantile
  double median_area_km2 = 0;
};

struct AreaRow {
  double radius_km = 0;  // 0: no prior
  std::string mode;      // "none", "disc centre", "hard", "soft"
  int64_t queries = 0;
  int64_t no_answer = 0;
  double accuracy_1km = 0;
  double accuracy_25km = 0;
  double median_error_km = 0;
  // With a bundle calibrated for `params` ("none", "hard", "soft"): the answers' regions at
  // params.region_levels against the truth, a query without an answer counting as uncovered.
  // The calibration was fitted on global answers: this measures whether it holds given the area.
  std::vector<AreaLevelCoverage> levels;
};

absl::StatusOr<std::vector<AreaRow>> EvaluateAreas(const engine::Locator& locator,
                                                   const RetrievalRun& run,
                                                   const engine::LocateParams& params,
                                                   const std::vector<double>& radii_km,
                                                   uint64_t seed, bool show_progress);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_AREA_EVAL_H_
