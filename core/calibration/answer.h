// What calibration needs from one answer of the engine, and the settings that produced it.
//
//   AnswerEvidence evidence;
//   evidence.positions = positions;        // the k neighbours' places
//   evidence.weights = estimate.weights;   // their normalised weights
//   evidence.scores = scores;              // their retrieval scores
//   evidence.best = estimate.peaks[0].pos;
//   evidence.peak_masses = masses;         // heaviest first
//   GEOLOC_RETURN_IF_ERROR(ValidateAnswerEvidence(evidence));
//
// AnswerEvidence only views the caller's arrays (spans): they must outlive its use. Plain value
// types; the functions are pure and thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_ANSWER_H_
#define GEOLOC_CORE_CALIBRATION_ANSWER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"
#include "core/geo/neighbor_weights.h"

namespace geoloc::calibration {

// The estimator configuration a calibration is fitted for and may be applied to
// (proto::EstimatorSettings in calibration.proto).
struct EstimatorSettings {
  std::string estimator = "spherical_kde";  // geo::EstimatorName
  int k = 100;
  double weight_exponent_m = 5;
  double bandwidth_km = 0.5;
  geo::ScoreKind score_kind = geo::ScoreKind::kSimilarity;
  bool classifier = false;
};

// InvalidArgument for an unknown estimator name, k < 1, m outside [0, 50] or a bandwidth outside
// (0, 20015] km.
absl::Status ValidateEstimatorSettings(const EstimatorSettings& settings);

struct AnswerEvidence {
  // The retrieved neighbours: places, normalised weights (geo::Estimate::weights) and retrieval
  // scores, one each, in the order retrieved.
  absl::Span<const geo::LatLon> positions;
  absl::Span<const double> weights;
  absl::Span<const double> scores;
  // The answer's best estimate.
  geo::LatLon best;
  // The answer's peak masses, heaviest first (at least one).
  absl::Span<const double> peak_masses;
  // The classifier's leaf cells and their probabilities, for answers fused with it (settings
  // .classifier); empty otherwise.
  absl::Span<const cells::CellId> classifier_cells;
  absl::Span<const double> classifier_probabilities;
};

// InvalidArgument naming the first problem: no neighbours, sizes that differ, a bad coordinate, a
// weight that is negative or not finite (or all zero), a score that is not finite, no peak mass or
// one outside [0, 1], or classifier cells without probabilities (or the reverse).
absl::Status ValidateAnswerEvidence(const AnswerEvidence& evidence);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_ANSWER_H_
