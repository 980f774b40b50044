#include "core/calibration/answer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "core/geo/estimator_options.h"

namespace geoloc::calibration {

absl::Status ValidateEstimatorSettings(const EstimatorSettings& settings) {
  if (absl::StatusOr<geo::EstimatorKind> kind = geo::ParseEstimatorKind(settings.estimator);
      !kind.ok() || geo::EstimatorName(*kind) != settings.estimator) {
    return absl::InvalidArgumentError(absl::StrCat("estimator settings: '", settings.estimator,
                                                   "' is not a canonical estimator name"));
  }
  if (settings.k < 1) {
    return absl::InvalidArgumentError(absl::StrCat("estimator settings: k = ", settings.k));
  }
  if (!(settings.weight_exponent_m >= 0 && settings.weight_exponent_m <= geo::kMaxWeightExponent)) {
    return absl::InvalidArgumentError(
        absl::StrCat("estimator settings: m = ", settings.weight_exponent_m));
  }
  if (!(settings.bandwidth_km > 0 && settings.bandwidth_km <= geo::kHalfCircumferenceKm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("estimator settings: bandwidth_km = ", settings.bandwidth_km));
  }
  return absl::OkStatus();
}

absl::Status ValidateAnswerEvidence(const AnswerEvidence& e) {
  const size_t k = e.positions.size();
  if (k == 0) return absl::InvalidArgumentError("answer evidence: no neighbours");
  if (e.weights.size() != k || e.scores.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("answer evidence: ", k, " positions, ",
                                                   e.weights.size(), " weights, ", e.scores.size(),
                                                   " scores"));
  }
  double total = 0;
  for (size_t i = 0; i < k; ++i) {
    if (absl::Status s = geo::ValidateLatLon(e.positions[i]); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("answer evidence: neighbour ", i, ": ", s.message()));
    }
    if (!(e.weights[i] >= 0) || !std::isfinite(e.weights[i]) || !std::isfinite(e.scores[i])) {
      return absl::InvalidArgumentError(absl::StrCat("answer evidence: neighbour ", i,
                                                     " has weight ", e.weights[i], " and score ",
                                                     e.scores[i]));
    }
    total += e.weights[i];
  }
  if (!(total > 0)) return absl::InvalidArgumentError("answer evidence: every weight is 0");
  if (absl::Status s = geo::ValidateLatLon(e.best); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("answer evidence: best estimate: ", s.message()));
  }
  if (e.peak_masses.empty()) return absl::InvalidArgumentError("answer evidence: no peak masses");
  for (size_t i = 0; i < e.peak_masses.size(); ++i) {
    if (!(e.peak_masses[i] >= 0 && e.peak_masses[i] <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("answer evidence: peak mass ", i, " is ", e.peak_masses[i]));
    }
  }
  if (e.classifier_cells.size() != e.classifier_probabilities.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("answer evidence: ", e.classifier_cells.size(), " classifier cells but ",
                     e.classifier_probabilities.size(), " probabilities"));
  }
  return absl::OkStatus();
}

}  // namespace geoloc::calibration
