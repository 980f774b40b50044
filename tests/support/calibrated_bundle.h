// Calibrated copies of test bundles: a calibration.json fitted on synthetic answers (core/
// calibration/synthetic_answers.h) for the given estimator settings, added to a copy of a bundle
// as its "calibration" extra (checksummed in the manifest like geoloc-eval calibrate does). The
// numbers are not a calibration of the bundle's own answers (coverage is tested on a real world
// in tests/tools); they are a valid record for tests of loading, applying and swapping.
//
//   ScratchDir dir("calibrated");
//   ASSERT_TRUE(CopyWithCalibration(fixture + "/bundles/v1", dir.file("v1c"), fingerprint,
//                                   {SyntheticFitSettings(10, "spherical_kde")}).ok());
//
// Pure helpers with file I/O; thread-safe on distinct paths.
#ifndef GEOLOC_TESTS_SUPPORT_CALIBRATED_BUNDLE_H_
#define GEOLOC_TESTS_SUPPORT_CALIBRATED_BUNDLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/calibration/answer.h"
#include "core/calibration/calibration.pb.h"

namespace geoloc::testing {

// Similarity scores, m = 5, h = 0.5 km, no classifier: the engine's defaults with this k and
// estimator ("spherical_kde", "nearest", ...).
calibration::EstimatorSettings TestCalibrationSettings(int k, const std::string& estimator);

// A calibration file for `model_fingerprint` with one entry per settings, fitted on synthetic
// answers ("val" 600 photos, "calib" 600 photos).
absl::StatusOr<calibration::proto::CalibrationFile> SyntheticCalibrationFile(
    const std::string& model_fingerprint,
    const std::vector<calibration::EstimatorSettings>& settings);

// Adds to every entry of `file` incident calibrations for `sizes` (ascending, each in [2, 16]),
// fitted on synthetic answers of other seeds whose photos are `photos` times closer together
// (sharper, as pooled answers are), so that each size's quantiles differ from the entry's.
absl::Status AddSyntheticIncidentCalibrations(const std::vector<int>& sizes,
                                              calibration::proto::CalibrationFile* file);

// Copies the bundle directory `from` to `to` (which must not exist) and adds `file` as its
// calibration extra (index::AddBundleExtra).
absl::Status CopyWithCalibration(const std::string& from, const std::string& to,
                                 const calibration::proto::CalibrationFile& file);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_CALIBRATED_BUNDLE_H_
