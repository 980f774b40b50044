#include "tools/eval/region_tally.h"

#include <algorithm>

#include "core/calibration/predictive_density.h"
#include "core/cells/region_cells.h"
#include "core/common/status_macros.h"
#include "core/geo/unit_vector.h"

namespace geoloc::eval {

void RegionTally::Add(absl::Span<const calibration::ConfidenceRegion> regions, geo::LatLon truth,
                      double score) {
  if (levels.empty()) {
    for (const auto& region : regions) levels.push_back(region.level);
    inside.assign(levels.size(), 0);
    exact.assign(levels.size(), 0);
    areas.assign(levels.size(), {});
  }
  for (size_t l = 0; l < regions.size() && l < levels.size(); ++l) {
    const auto& region = regions[l];
    inside[l] += region.whole_sphere || cells::CellUnionContains(region.cells, truth);
    exact[l] += region.whole_sphere || score <= region.score_quantile;
    areas[l].push_back(region.area_km2);
  }
}

absl::StatusOr<double> TruthScore(const engine::LocateResult& answer, geo::LatLon truth,
                                  const calibration::Calibrator& calibrator) {
  const calibration::CalibrationExample example = engine::CalibrationExampleOf(answer, truth);
  GEOLOC_ASSIGN_OR_RETURN(const calibration::PredictiveDensity density,
                          calibrator.Density(example.Evidence()));
  return -density.LogDensity(geo::ToUnitVector(truth));
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace geoloc::eval
