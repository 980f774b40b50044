#include "tests/support/calibrated_bundle.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/calibration/fit.h"
#include "core/calibration/incident_calibration.h"
#include "core/calibration/record.h"
#include "core/calibration/synthetic_answers.h"
#include "core/common/status_macros.h"
#include "core/index/bundle_writer.h"

namespace geoloc::testing {
namespace fs = std::filesystem;

calibration::EstimatorSettings TestCalibrationSettings(int k, const std::string& estimator) {
  calibration::EstimatorSettings s;
  s.estimator = estimator;
  s.k = k;
  return s;
}

namespace {

// Synthetic answers over the whole world, photos hundreds of km apart (see below).
calibration::SyntheticAnswerOptions WorldWide(const calibration::EstimatorSettings& s) {
  calibration::SyntheticAnswerOptions options;
  options.k = s.k;
  options.bandwidth_km = s.bandwidth_km;
  options.weight_exponent_m = s.weight_exponent_m;
  // A world-wide spread of towns and photos hundreds of km wide: regions of a few 100,000 km^2,
  // so that any bundle's answers get regions with pieces (synthetic_answers.h's defaults, towns
  // of a few km in Europe, would leave a diffuse answer elsewhere with empty low-level regions).
  options.lat_min = -60;
  options.lat_max = 70;
  options.lon_min = -180;
  options.lon_max = 180;
  options.photo_spread_km = 300;
  options.good_spread_km = 200;
  options.town_spread_km = 300;
  return options;
}

}  // namespace

absl::Status AddSyntheticIncidentCalibrations(const std::vector<int>& sizes,
                                              calibration::proto::CalibrationFile* file) {
  for (calibration::proto::CalibrationEntry& entry : *file->mutable_entries()) {
    GEOLOC_ASSIGN_OR_RETURN(const calibration::EstimatorSettings settings,
                            calibration::SettingsFromProto(entry.settings()));
    for (int photos : sizes) {
      calibration::SyntheticAnswerOptions options = WorldWide(settings);
      // Each size's answers a little sharper than the last, as pooled answers are.
      options.photo_spread_km /= photos;
      const std::vector<calibration::CalibrationExample> val =
          calibration::MakeSyntheticSplit(options, /*seed=*/10 + 2 * photos, 400);
      const std::vector<calibration::CalibrationExample> calib =
          calibration::MakeSyntheticSplit(options, /*seed=*/11 + 2 * photos, 400);
      GEOLOC_ASSIGN_OR_RETURN(
          *entry.add_incidents(),
          calibration::FitIncidentCalibration(settings, photos, 1, {"val", val}, {"calib", calib}));
    }
  }
  return calibration::ValidateCalibrationFile(*file);
}

absl::StatusOr<calibration::proto::CalibrationFile> SyntheticCalibrationFile(
    const std::string& model_fingerprint,
    const std::vector<calibration::EstimatorSettings>& settings) {
  calibration::proto::CalibrationFile file;
  file.set_format_version(calibration::kCalibrationFormatVersion);
  file.set_model_fingerprint(model_fingerprint);
  file.set_created_by("tests/support/calibrated_bundle.cc (synthetic answers)");
  for (const calibration::EstimatorSettings& s : settings) {
    const calibration::SyntheticAnswerOptions options = WorldWide(s);
    const std::vector<calibration::CalibrationExample> val =
        calibration::MakeSyntheticSplit(options, /*seed=*/1, 600);
    const std::vector<calibration::CalibrationExample> calib =
        calibration::MakeSyntheticSplit(options, /*seed=*/2, 600);
    GEOLOC_ASSIGN_OR_RETURN(*file.add_entries(),
                            calibration::FitCalibrationEntry(s, {"val", val}, {"calib", calib}));
  }
  return file;
}

absl::Status CopyWithCalibration(const std::string& from, const std::string& to,
                                 const calibration::proto::CalibrationFile& file) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) return absl::InternalError(absl::StrCat("copy ", from, " -> ", to, ": ", ec.message()));
  const std::string staging = to + ".calibration";
  fs::create_directories(staging, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", staging, ": ", ec.message()));
  const std::string path = staging + "/" + calibration::kCalibrationFileName;
  GEOLOC_RETURN_IF_ERROR(calibration::WriteCalibrationFile(path, file));
  GEOLOC_RETURN_IF_ERROR(index::AddBundleExtra(to, {"calibration", path}).status());
  fs::remove_all(staging, ec);
  return absl::OkStatus();
}

}  // namespace geoloc::testing
