// The answer features the localizability model reads, defined once: the fit (fit.h) and the
// per-answer apply (calibrator.h) both call AnswerFeatures, and the record stores FeatureNames() so
// that a model fitted on other features is refused.
//
//   std::array<double, kNumFeatures> x = AnswerFeatures(evidence, settings.score_kind, density);
//
// | name                   | value                                                            |
// | ---------------------- | ---------------------------------------------------------------- |
// | top_score              | the best neighbour's score, higher = closer (a distance negated) |
// | score_gap              | top_score minus the mean score of the k neighbours              |
// | top_peak_mass          | the heaviest peak's mass                                         |
// | log10_density_at_best  | log10 of the predictive density at the best estimate (per km^2)  |
// | peak_mass_entropy      | entropy (nats) of the peak masses normalised to sum 1; 0 for one |
//
// Pure functions: thread-safe. The evidence must pass ValidateAnswerEvidence.
#ifndef GEOLOC_CORE_CALIBRATION_ANSWER_FEATURES_H_
#define GEOLOC_CORE_CALIBRATION_ANSWER_FEATURES_H_

#include <array>

#include "absl/strings/string_view.h"
#include "core/calibration/answer.h"
#include "core/calibration/predictive_density.h"

namespace geoloc::calibration {

inline constexpr int kNumFeatures = 5;
using FeatureVector = std::array<double, kNumFeatures>;

const std::array<absl::string_view, kNumFeatures>& FeatureNames();

FeatureVector AnswerFeatures(const AnswerEvidence& evidence, geo::ScoreKind score_kind,
                             const PredictiveDensity& density);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_ANSWER_FEATURES_H_
