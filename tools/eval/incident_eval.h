// geoloc-eval incidents (docs/INCIDENTS.md): incidents of 1, 2, 4, 8 ... photos of one place drawn
// from a stored retrieval of a query split, answered the way geolocd's LocateIncident answers
// them (each photo's Locator::Finish, then Locator::CombineIncident), against the truth.
//
//   IncidentEvalOptions options;  options.sizes = {1, 2, 4, 8};
//   GEOLOC_ASSIGN_OR_RETURN(IncidentEvalReport report,
//                           EvaluateIncidents(*locator, test_run, params, options));
//
// Sampling: only places with at least max(sizes) photos with a place take part, so that every
// size is measured on the same places; each takes `draws_per_place` random incidents of each
// size (seeded: the same draws every run). Incident size 1 is the single-photo baseline on
// those places. With `intruders`, every incident of size >= 2 is also measured with one photo
// replaced by a photo of another place (is the intruder reported? does the answer hold?).
// The incident's truth is its first photo's true position (photos of one place are metres
// apart). Nothing is fitted: the regions are the served ones (the bundle's incident calibration
// for that size, incident_calibration.h), and beside them the bundle's single-photo calibration
// applied to the same pooled answers, the baseline the incident calibration is measured against.
// IncidentExamples draws incidents the same way for geoloc-eval calibrate (on val and calib).
// A function, not a thread: call from one thread.
#ifndef GEOLOC_TOOLS_EVAL_INCIDENT_EVAL_H_
#define GEOLOC_TOOLS_EVAL_INCIDENT_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/calibration/fit.h"
#include "core/engine/incident.h"
#include "core/engine/locate_params.h"
#include "core/engine/locator.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {

struct IncidentEvalOptions {
  std::vector<int> sizes = {1, 2, 4, 8};
  int draws_per_place = 5;
  uint64_t seed = 1;
  bool intruders = true;
  engine::IncidentPooling pooling = engine::IncidentPooling::kGeometricMean;
  bool show_progress = false;
  // Also report the dissent flag at each of these ratios (IncidentOptions::dissent_ratio, the
  // same answers re-flagged): the trade-off the served ratio is chosen from, on val.
  std::vector<double> dissent_ratios;
};

// The dissent flag at one ratio (IncidentSizeReport::dissent_curve).
struct DissentPoint {
  double ratio = 0;
  double false_dissent_share = 0;      // incidents of one place with some photo flagged
  double intruder_reported_share = 0;  // incidents with an intruder where it was flagged
  double intruded_false_share = 0;     // ... where some genuine photo was flagged
  // Per photo: the share of genuine photos flagged (incidents of one place), the share of
  // intruders flagged is intruder_reported_share (one per incident).
  double genuine_photo_flag_rate = 0;
};

struct IncidentSizeReport {
  int size = 0;
  bool with_intruder = false;  // one photo replaced by a photo of another place
  int64_t incidents = 0;
  double accuracy_1km = 0, accuracy_25km = 0, median_error_km = 0;
  double mean_effective_photos = 0;
  // Calibrated answers only (the served calibration for this size), per region level.
  bool calibrated = false;
  std::vector<double> levels, coverage, median_area_km2;
  // Share whose truth lies in the exact conformal set (score <= the level's quantile): what the
  // guarantee is about; `coverage` (the cells shown, which contain it) may only be higher.
  std::vector<double> exact_coverage;
  // The bundle's single-photo calibration applied to the same pooled answers (the baseline), per
  // level; empty when the bundle has none for these settings.
  std::vector<double> single_photo_coverage, single_photo_median_area_km2;
  // Share of incidents in which some photo of the place was reported as dissenting (a false
  // alarm: all are of one place), and with an intruder, the share in which the intruder was.
  double false_dissent_share = 0;
  double intruder_reported_share = 0;
  // Rows without an intruder, one point per IncidentEvalOptions::dissent_ratios (sizes >= 2),
  // measured on these incidents and on the same incidents with an intruder.
  std::vector<DissentPoint> dissent_curve;
};

struct IncidentEvalReport {
  std::string split;
  int64_t places = 0;  // places taking part
  std::vector<IncidentSizeReport> sizes;
};

// INVALID_ARGUMENT for sizes outside [1, kMaxIncidentPhotos] or draws < 1; FAILED_PRECONDITION
// when the run was made with another model, or no place has max(sizes) photos.
absl::StatusOr<IncidentEvalReport> EvaluateIncidents(const engine::Locator& locator,
                                                     const RetrievalRun& run,
                                                     const engine::LocateParams& params,
                                                     const IncidentEvalOptions& options);

// Incidents of `photos` photos drawn from `run` as EvaluateIncidents draws them (every place with
// at least `photos` photos with a place, `draws_per_place` random incidents each, seeded), each
// answered like LocateIncident (geometric pooling) and turned into a calibration example: the
// pooled answer with the incident's truth. What geoloc-eval calibrate fits incident calibrations
// on. INVALID_ARGUMENT for photos outside [2, kMaxIncidentPhotos] or draws < 1;
// FAILED_PRECONDITION for another model's run or no place with `photos` photos.
absl::StatusOr<std::vector<calibration::CalibrationExample>> IncidentExamples(
    const engine::Locator& locator, const RetrievalRun& run, const engine::LocateParams& params,
    int photos, int draws_per_place, uint64_t seed, bool show_progress);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_INCIDENT_EVAL_H_
