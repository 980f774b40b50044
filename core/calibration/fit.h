// Fits one calibration entry from the engine's answers on two held-out splits: the fit split
// ("val") fixes the score function (mixture weights, localizability logistic model), the
// calibration split ("calib") calibrates it (conformal scores, isotonic maps). This is what
// `geoloc-eval calibrate` runs after answering every photo of both splits.
//
//   std::vector<CalibrationExample> val = ..., calib = ...;  // one per photo, from Locate
//   GEOLOC_ASSIGN_OR_RETURN(proto::CalibrationEntry entry,
//       FitCalibrationEntry(settings, {"val", val}, {"calib", calib}));
//
// Steps (docs/CALIBRATION.md):
//  1. Mixture: for each candidate broad bandwidth, and (options.regional) each wider candidate as
//     the regional bandwidth, the weights of narrow KDE / broad KDE / regional KDE / classifier
//     (when settings.classifier) / uniform floor that maximise the likelihood of the fit split's
//     true places (mixture_fit.h, Dirichlet prior of options.prior_count); the pair with the
//     highest likelihood wins. The regional term keeps the score continuous for photos whose truth
//     lies beyond every broad kernel (else their scores tie at the floor's).
//  2. Localizability: a ridge logistic model (logistic.h) of "the best estimate lies within
//     options.localizable_within_km of the truth" (0 for a distractor: a photo with no true place)
//     on AnswerFeatures, fitted on the fit split.
//  3. Conformal scores: -log f(truth) of every calibration photo with a true place, sorted, in
//     options.score_groups groups by the logistic model's raw output (group limits at its
//     quantiles on the fit split; equal limits merge groups): group-conditional conformal
//     prediction, so the regions of confident answers come from confident answers' scores.
//  4. Isotonic maps on the calibration split: for each threshold t, from the mass within t km of
//     the best estimate to "the truth lies within t km" (photos with a true place); and from the
//     logistic output to "localizable" (every photo).
// Why two splits: the conformal guarantee needs the score function fixed before the calibration
// scores are drawn (fitting the weights on the calibration photos themselves makes the scores of
// those photos look better than a new photo's); and an isotonic map fitted on the data the
// logistic model was trained on would inherit its overconfidence.
//
// | input                                                           | result                   |
// | --------------------------------------------------------------- | ------------------------ |
// | invalid settings or options, a split named "test", both splits  | InvalidArgument          |
// |   with the same name, an example with bad evidence (its index)  |                          |
// | fit split with no true place, or without both localizable and   | FailedPrecondition       |
// |   non-localizable photos; calibration split with no true place  |                          |
//
// Pure function: thread-safe. Cost: a few density evaluations per photo and candidate bandwidth.
#ifndef GEOLOC_CORE_CALIBRATION_FIT_H_
#define GEOLOC_CORE_CALIBRATION_FIT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/answer.h"
#include "core/calibration/calibration.pb.h"

namespace geoloc::calibration {

// One photo of a split as the engine answered it, with its true place (none for a distractor).
struct CalibrationExample {
  std::vector<geo::LatLon> positions;
  std::vector<double> weights;
  std::vector<double> scores;
  geo::LatLon best;
  std::vector<double> peak_masses;
  std::vector<cells::CellId> classifier_cells;
  std::vector<double> classifier_probabilities;
  std::optional<geo::LatLon> truth;

  // A view of this example (valid while it lives).
  AnswerEvidence Evidence() const;
};

struct FitOptions {
  std::vector<double> broad_bandwidths_km = {5, 25, 100, 400, 1600};
  // Also fit a regional term (a wider candidate than the broad one). On by default: it removes
  // the floor-tie atom of the scores, so the 90/95% regions stop being the whole Earth; each
  // level's region has its own cell budget (superlevel_set.h), so the wider high-level regions
  // cost the 50/68% cells nothing (docs/CALIBRATION.md, measured on the medium proving ground).
  // false reproduces the fits written before it (narrow + broad + classifier + floor).
  bool regional = true;
  double prior_count = 1.0;
  std::vector<double> thresholds_km = {1, 25, 200, 750, 2500};
  double localizable_within_km = 25;
  double ridge = 1e-2;
  // Score groups for group-conditional conformal regions (1: plain split conformal).
  int score_groups = 3;
};

absl::Status ValidateFitOptions(const FitOptions& options);

struct NamedSplit {
  std::string name;
  absl::Span<const CalibrationExample> examples;
};

absl::StatusOr<proto::CalibrationEntry> FitCalibrationEntry(const EstimatorSettings& settings,
                                                            const NamedSplit& fit,
                                                            const NamedSplit& calibration,
                                                            const FitOptions& options = {});

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_FIT_H_
