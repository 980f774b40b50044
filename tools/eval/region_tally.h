// Coverage of calibrated confidence regions against true places, per level, shared by the
// evaluations that report it (area_eval.cc, incident_eval.cc): the share of answers whose region
// cells contain the truth, the share whose exact set does (the truth's conformal score within the
// level's quantile), and the regions' areas.
//
//   RegionTally tally;
//   GEOLOC_ASSIGN_OR_RETURN(double score, TruthScore(answer, truth, calibrator));
//   tally.Add(answer.calibration->regions, truth, score);
//   double coverage = tally.inside[0] / answers;  double median_km2 = Median(tally.areas[0]);
#ifndef GEOLOC_TOOLS_EVAL_REGION_TALLY_H_
#define GEOLOC_TOOLS_EVAL_REGION_TALLY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/calibrator.h"
#include "core/engine/locator.h"
#include "core/geo/lat_lon.h"

namespace geoloc::eval {

struct RegionTally {
  // Per level, in the order of the first answer's regions.
  std::vector<double> levels;
  std::vector<int64_t> inside, exact;
  std::vector<std::vector<double>> areas;

  // One answer's regions against the truth. `score` is the truth's conformal score under the
  // answer's predictive density (TruthScore); NaN counts only whole-sphere regions as exact.
  void Add(absl::Span<const calibration::ConfidenceRegion> regions, geo::LatLon truth,
           double score);
};

// -log of the answer's predictive density at the truth, under the calibrator that calibrated it.
absl::StatusOr<double> TruthScore(const engine::LocateResult& answer, geo::LatLon truth,
                                  const calibration::Calibrator& calibrator);

// The median (the mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> v);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_REGION_TALLY_H_
