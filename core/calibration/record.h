// calibration.json (calibration.proto): checks, reading and writing, and choosing the entry that
// fits an answer's settings. A calibration fitted for one model, k, bandwidth or estimator must
// never be applied to another: these functions are where that is enforced.
//
//   GEOLOC_ASSIGN_OR_RETURN(proto::CalibrationFile file, ReadCalibrationFile(dir +
//   "/calibration.json")); GEOLOC_ASSIGN_OR_RETURN(const proto::CalibrationEntry* entry,
//                           FindEntry(file, model.fingerprint, settings));
//   GEOLOC_ASSIGN_OR_RETURN(Calibrator calibrator, Calibrator::Create(*entry));
//
// ValidateEntry checks, and Read/Write refuse a file failing, these rules:
// | rule                                                                  | why | |
// --------------------------------------------------------------------- | -------------------------
// | | settings valid (answer.h ValidateEstimatorSettings)                   | applicability | | fit
// and calibration splits named, different, neither named "test"     | the test split stays      |
// |                                                                       | untouched; the score |
// |                                                                       | function is fixed
// before  | |                                                                       | its
// calibration scores    | | mixture weights >= 0, sum 1 (1e-9), classifier weight 0 unless        |
// a density                 | |   settings.classifier, broad bandwidth valid when its weight > 0 |
// | | score groups: at least one, the first from 0, limits increasing in    | conformal.h | |   [0,
// 1); scores sorted ascending, none NaN or -infinity; in all at   |                           | |
// most the calibration split's photos with truth                      |                           |
// | within thresholds > 0 and increasing; isotonic knots valid (isotonic.h)| probabilities | | with
// y in [0, 1]                                                    |                           | |
// localizability features == FeatureNames(), one mean/scale/coefficient | answer_features.h | |
// each, scales > 0, all finite                                        |                           |
// The file adds: format_version == 1, a model fingerprint, and no two entries with equal settings.
//
// Pure functions (the file functions do I/O): thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_RECORD_H_
#define GEOLOC_CORE_CALIBRATION_RECORD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/calibration/answer.h"
#include "core/calibration/calibration.pb.h"

namespace geoloc::calibration {

inline constexpr int kCalibrationFormatVersion = 1;
// The file's name inside an index bundle.
inline constexpr char kCalibrationFileName[] = "calibration.json";
// The split name that must never be used to fit or calibrate.
inline constexpr char kTestSplitName[] = "test";

proto::EstimatorSettings SettingsToProto(const EstimatorSettings& settings);
absl::StatusOr<EstimatorSettings> SettingsFromProto(const proto::EstimatorSettings& settings);
// "spherical_kde k=100 m=5 h=0.5km similarity" (+ " +classifier").
std::string DescribeSettings(const EstimatorSettings& settings);

// OK when the answer's settings are the ones the entry was fitted for: equal estimator, k, score
// kind and classifier flag; m and bandwidth equal to 1e-9 relative. FailedPrecondition naming the
// first difference otherwise (and InvalidArgument for unreadable fitted settings).
absl::Status CheckSettings(const proto::EstimatorSettings& fitted, const EstimatorSettings& answer);

absl::Status ValidateEntry(const proto::CalibrationEntry& entry);
absl::Status ValidateCalibrationFile(const proto::CalibrationFile& file);

// Reads and validates (InvalidArgument names the path and the rule broken).
absl::StatusOr<proto::CalibrationFile> ReadCalibrationFile(const std::string& path);
// Validates, then writes atomically (core/common/file_util.h).
absl::Status WriteCalibrationFile(const std::string& path, const proto::CalibrationFile& file);

// The entry for these settings. FailedPrecondition when the file was fitted for another model
// fingerprint; NotFound listing the settings the file has when none matches.
absl::StatusOr<const proto::CalibrationEntry*> FindEntry(const proto::CalibrationFile& file,
                                                         absl::string_view model_fingerprint,
                                                         const EstimatorSettings& settings);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_RECORD_H_
