// geoloc-eval's calibration work (docs/CALIBRATION.md): answer stored retrievals the way the
// server does (engine::Locator::Finish with the served settings), fit calibration.json from two
// held-out splits and write it into the bundle, and report coverage, reliability and abstention
// on a third split.
//
//   GEOLOC_ASSIGN_OR_RETURN(files::CalibrateReport fitted,
//       CalibrateBundle(*locator, bundle_dir, val, calib, {params}, {}, {{2, 4, 8}},
//                       "geoloc-eval calibrate", false));
//   GEOLOC_ASSIGN_OR_RETURN(files::CoverageReport report,
//       ReportCoverage(*calibrated_locator, test, params, /*abstain_below=*/0.2));
//
// The answers are the engine's own (Finish on the stored neighbours and descriptor), so the
// calibration is fitted on exactly what geolocd answers for those settings. Distractors (the
// query list's localizable = 0) have no true place. Neither function fits or tunes anything on
// the split it reports on: CalibrateBundle refuses a split named "test", ReportCoverage fits
// nothing. Functions, not threads: call from one thread (the Locator is shared read-only).
#ifndef GEOLOC_TOOLS_EVAL_CALIBRATION_EVAL_H_
#define GEOLOC_TOOLS_EVAL_CALIBRATION_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/calibration/fit.h"
#include "core/engine/locate_params.h"
#include "core/engine/locator.h"
#include "tools/eval/eval.pb.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {

// The engine's answer to every query of `run` with `params` (Finish on its stored neighbours),
// as calibration examples with their true places (none for distractors). FAILED_PRECONDITION
// when the run was made with another model than the locator's.
absl::StatusOr<std::vector<calibration::CalibrationExample>> AnswerExamples(
    const engine::Locator& locator, const RetrievalRun& run, const engine::LocateParams& params,
    bool show_progress);

// Incident calibrations to fit beside each single-photo entry (incident_calibration.h): one per
// size, on incidents drawn from both splits (incident_eval.h IncidentExamples). Empty: none, and
// the bundle's incident answers of two or more photos are uncalibrated.
struct IncidentFitOptions {
  std::vector<int> sizes;
  int draws_per_place = 5;
  uint64_t seed = 1;
};

// Fits one entry per `configs` on `fit` (score function) and `calibration` (conformal scores,
// isotonic maps), with the incident calibrations `incidents` asks for, merges them into the
// bundle's calibration.json (entries of other settings for the same model are kept; a file of
// another model is replaced) and writes it into `bundle_dir` as its "calibration" extra,
// atomically, with the manifest's checksum (index::AddBundleExtra). INVALID_ARGUMENT when either
// split is the test split (its name, or the run's split column) or both are the same split.
absl::StatusOr<files::CalibrateReport> CalibrateBundle(
    const engine::Locator& locator, const std::string& bundle_dir, const RetrievalRun& fit,
    const RetrievalRun& calibration, const std::vector<engine::LocateParams>& configs,
    const calibration::FitOptions& fit_options, const IncidentFitOptions& incidents,
    const std::string& created_by, bool show_progress);

// The calibrated answers to `run` with `params` against the truth: coverage per level and score
// group, median region areas against the peak-radius disc, ECE and reliability of every
// P(within t) and of P(localizable), each with its noise floor (reliability.h EceNoiseFloor:
// 1,000 draws, seed 1, and a 5-95% band per bin), the P(localizable) risk-coverage curve and abstention at `abstain_below`; with
// `per_photo`, every photo's outcome as well (report.per_photo).
// FAILED_PRECONDITION when the locator's bundle has no calibration for these settings.
absl::StatusOr<files::CoverageReport> ReportCoverage(const engine::Locator& locator,
                                                     const RetrievalRun& run,
                                                     const engine::LocateParams& params,
                                                     double abstain_below, bool show_progress,
                                                     bool per_photo);

// The split name a run is known by: its split column, else its query list's description.
std::string SplitName(const RetrievalRun& run);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_CALIBRATION_EVAL_H_
