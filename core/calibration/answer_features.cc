#include "core/calibration/answer_features.h"

#include <algorithm>
#include <cmath>

#include "core/geo/unit_vector.h"

namespace geoloc::calibration {

const std::array<absl::string_view, kNumFeatures>& FeatureNames() {
  static constexpr std::array<absl::string_view, kNumFeatures> kNames = {
      "top_score", "score_gap", "top_peak_mass", "log10_density_at_best", "peak_mass_entropy"};
  return kNames;
}

FeatureVector AnswerFeatures(const AnswerEvidence& evidence, geo::ScoreKind score_kind,
                             const PredictiveDensity& density) {
  const double sign = score_kind == geo::ScoreKind::kSimilarity ? 1.0 : -1.0;
  double top = -INFINITY, mean = 0;
  for (double s : evidence.scores) {
    top = std::max(top, sign * s);
    mean += sign * s;
  }
  mean /= static_cast<double>(evidence.scores.size());
  double total_mass = 0;
  for (double m : evidence.peak_masses) total_mass += m;
  double entropy = 0;
  if (total_mass > 0) {
    for (double m : evidence.peak_masses) {
      const double p = m / total_mass;
      if (p > 0) entropy -= p * std::log(p);
    }
  }
  FeatureVector x;
  x[0] = top;
  x[1] = top - mean;
  x[2] = evidence.peak_masses.front();
  x[3] = density.LogDensity(geo::ToUnitVector(evidence.best)) / std::log(10.0);
  x[4] = entropy;
  return x;
}

}  // namespace geoloc::calibration
