// The incident part of a calibration entry (calibration.proto IncidentCalibration): pooled answers
// to several photos of one place (core/engine/incident.h) are calibrated like single photos, on
// incidents instead of photos, one fitted entry per incident size (docs/INCIDENTS.md).
//
//   GEOLOC_ASSIGN_OR_RETURN(proto::IncidentCalibration part,
//       FitIncidentCalibration(settings, 4, 5, {"val", val_4}, {"calib", calib_4}));
//   const int used = IncidentCalibrationIndex(entry, /*photos=*/6);  // the 4-photo entry's index
//
// Serving rule by size (IncidentCalibrationIndex):
// | incident photos n | calibrated by                                                         |
// | 1                 | the entry itself (one photo's pooled answer is the photo's answer)    |
// | n >= 2            | the incident entry with the largest photos <= n; none: not calibrated |
// The conformal guarantee holds for incidents exchangeable with the fitted ones (same size, places
// drawn like the calibration split's); a size between two fitted sizes borrows the smaller one's
// scores: more photos sharpen the pooled answer and its errors shrink (measured), so the borrowed
// scores are the more cautious ones, but no guarantee is claimed for that size.
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_INCIDENT_CALIBRATION_H_
#define GEOLOC_CORE_CALIBRATION_INCIDENT_CALIBRATION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/calibration/calibration.pb.h"
#include "core/calibration/fit.h"

namespace geoloc::calibration {

// Incident sizes a calibration may be fitted for (the API's incidents hold 2 to 16 photos).
inline constexpr int kMinIncidentCalibrationPhotos = 2;
inline constexpr int kMaxIncidentCalibrationPhotos = 16;

// The rules record.h ValidateEntry applies to entry.incidents(): photos in [2, 16] and strictly
// increasing, draws_per_place >= 1, every nested entry valid, with the enclosing entry's settings
// and no incidents of its own. InvalidArgument naming the first broken rule.
absl::Status ValidateIncidentCalibrations(const proto::CalibrationEntry& entry);

// Fits the incident entry for incidents of `photos` photos: FitCalibrationEntry on the pooled
// answers of incidents drawn from the fit split (score function) and from the calibration split
// (conformal scores, isotonic maps). Its errors (InvalidArgument for a test split, bad options or
// sizes; FailedPrecondition for too few incidents) name the incident size.
absl::StatusOr<proto::IncidentCalibration> FitIncidentCalibration(const EstimatorSettings& settings,
                                                                  int photos, int draws_per_place,
                                                                  const NamedSplit& fit,
                                                                  const NamedSplit& calibration,
                                                                  const FitOptions& options = {});

// The index in entry.incidents() of the incident entry that calibrates an incident of `photos`
// >= 2 photos (table above), or -1 when none does. The one place the size rule lives.
int IncidentCalibrationIndex(const proto::CalibrationEntry& entry, int photos);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_INCIDENT_CALIBRATION_H_
