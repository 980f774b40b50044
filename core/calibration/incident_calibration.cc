#include "core/calibration/incident_calibration.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/calibration/record.h"
#include "core/common/status_macros.h"

namespace geoloc::calibration {
namespace {

absl::Status Invalid(int index, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("incident calibration ", index, ": ", what));
}

}  // namespace

absl::Status ValidateIncidentCalibrations(const proto::CalibrationEntry& entry) {
  int previous = 1;
  for (int i = 0; i < entry.incidents_size(); ++i) {
    const proto::IncidentCalibration& part = entry.incidents(i);
    if (part.photos() < kMinIncidentCalibrationPhotos ||
        part.photos() > kMaxIncidentCalibrationPhotos) {
      return Invalid(
          i, absl::StrCat("photos ", part.photos(), " is not in [", kMinIncidentCalibrationPhotos,
                          ", ", kMaxIncidentCalibrationPhotos, "]"));
    }
    if (part.photos() <= previous) {
      return Invalid(i, "incident sizes must be increasing");
    }
    previous = part.photos();
    if (part.draws_per_place() < 1) return Invalid(i, "draws_per_place must be >= 1");
    if (part.entry().incidents_size() > 0) return Invalid(i, "has incidents of its own");
    absl::StatusOr<EstimatorSettings> settings = SettingsFromProto(entry.settings());
    if (!settings.ok()) return settings.status();
    const absl::Status same = CheckSettings(part.entry().settings(), *settings);
    if (!same.ok()) {
      return Invalid(i, absl::StrCat("settings unlike the entry's: ", same.message()));
    }
    const absl::Status valid = ValidateEntry(part.entry());
    if (!valid.ok()) return Invalid(i, valid.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::IncidentCalibration> FitIncidentCalibration(const EstimatorSettings& settings,
                                                                  int photos, int draws_per_place,
                                                                  const NamedSplit& fit,
                                                                  const NamedSplit& calibration,
                                                                  const FitOptions& options) {
  if (photos < kMinIncidentCalibrationPhotos || photos > kMaxIncidentCalibrationPhotos ||
      draws_per_place < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("incident calibration: photos must be in [", kMinIncidentCalibrationPhotos,
                     ", ", kMaxIncidentCalibrationPhotos, "] and draws_per_place >= 1, got ",
                     photos, " and ", draws_per_place));
  }
  proto::IncidentCalibration out;
  out.set_photos(photos);
  out.set_draws_per_place(draws_per_place);
  absl::StatusOr<proto::CalibrationEntry> entry =
      FitCalibrationEntry(settings, fit, calibration, options);
  if (!entry.ok()) {
    return absl::Status(entry.status().code(), absl::StrCat("incidents of ", photos,
                                                            " photos: ", entry.status().message()));
  }
  *out.mutable_entry() = *std::move(entry);
  return out;
}

int IncidentCalibrationIndex(const proto::CalibrationEntry& entry, int photos) {
  int found = -1;
  for (int i = 0; i < entry.incidents_size(); ++i) {
    if (entry.incidents(i).photos() <= photos) found = i;
  }
  return found;
}

}  // namespace geoloc::calibration
