// A bundle's calibration at serving time: calibration.json (the "calibration" extra, verified by
// its SHA-256 with the bundle's other files) turned into one calibration::Calibrator per fitted
// estimator configuration, and the glue between a Locate and core/calibration: the settings an
// answer was made with, and the evidence it hands over (docs/CALIBRATION.md).
//
//   GEOLOC_ASSIGN_OR_RETURN(auto calibration, BundleCalibration::Load(*bundle, encoder->info()));
//   const calibration::Calibrator* c = calibration->Find(AnswerSettings(params, kind, false));
//
// Bundle extra -> result of Load:
//   | calibration extra                          | result                                       |
//   | absent                                     | empty: present() false, every answer         |
//   |                                            | uncalibrated                                 |
//   | unreadable or breaking record.h's rules    | FAILED_PRECONDITION naming the file: the     |
//   |                                            | bundle is refused (a swap changes nothing)   |
//   | fitted for another model fingerprint       | present(), no calibrators, problem() says    |
//   |                                            | why (Load logs it): answers uncalibrated     |
//   | valid                                      | one Calibrator per entry; an answer is       |
//   |                                            | calibrated when its settings match one       |
//   |                                            | (an incident: FindIncident)                  |
//
// Lifetime and threading: immutable after Load; every method is const and safe from many threads.
// A Locator owns one per bundle, so the calibration swaps with the bundle it was fitted on.
#ifndef GEOLOC_CORE_ENGINE_BUNDLE_CALIBRATION_H_
#define GEOLOC_CORE_ENGINE_BUNDLE_CALIBRATION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/calibration/calibrator.h"
#include "core/calibration/fit.h"
#include "core/cells/area_region.h"
#include "core/engine/locate_params.h"
#include "core/geo/neighbor_weights.h"
#include "core/index/bundle.h"
#include "core/model/model_info.h"

namespace geoloc::engine {

inline constexpr char kCalibrationExtraName[] = "calibration";

struct LocateResult;  // locator.h

// The settings of an answer made with `params` on a bundle of this score kind, fused with a
// classifier when `classifier` (the bundle has one): what a calibration entry must match.
calibration::EstimatorSettings AnswerSettings(const LocateParams& params, geo::ScoreKind kind,
                                              bool classifier);

// The answer as calibration sees it (its neighbours' places, weights and scores, the best
// estimate, every peak's mass, and the classifier's leaves when fused), with `truth` (nullopt for
// a distractor). The one conversion, used by the Locator and by geoloc-eval calibrate.
calibration::CalibrationExample CalibrationExampleOf(const LocateResult& result,
                                                     std::optional<geo::LatLon> truth);

// The calibrate stage of a Locate (Locator::Calibrate): `calibrator` applied to `result` at
// params.region_levels, with pieces and outline rings, and the boundary cells the cell budget
// leaves undecided counted inside, so that the cells an operator is shown contain the exact
// conformal set (superlevel_set.h) and its coverage guarantee holds for them too. The one
// definition of what the engine computes per answer, also measured by
// tools/bench/calibration/calibrate_stage_bench. Under a HARD search area every region is then
// clipped to the area (ClipRegionsToArea): the answer is "given the area".
absl::StatusOr<calibration::CalibratedAnswer> CalibrateAnswer(
    const calibration::Calibrator& calibrator, const LocateResult& result,
    const LocateParams& params);

// Replaces every region of `answer` by its part inside `area` (intersected with the area's
// cells::AreaRegion::ClipCovering; a whole-sphere region becomes that covering, whole_sphere =
// false) and recomputes its area, pieces and outlines as `options` asks; level,
// guaranteed_coverage and the density threshold are kept: a hard area's premise is that the truth
// lies inside it, so clipping removes no coverage.
// For hard areas only: a soft prior is a belief, not a bound, and leaves regions whole.
void ClipRegionsToArea(const cells::AreaRegion& area, const calibration::ApplyOptions& options,
                       calibration::CalibratedAnswer* answer);

class BundleCalibration {
 public:
  // See the table above.
  static absl::StatusOr<std::unique_ptr<const BundleCalibration>> Load(
      const index::Bundle& bundle, const model::ModelInfo& model);
  // From a file already read (tests): validates it like Load and applies the same rules.
  static absl::StatusOr<std::unique_ptr<const BundleCalibration>> Create(
      calibration::proto::CalibrationFile file, absl::string_view model_fingerprint,
      absl::string_view where);

  // The bundle has a calibration file (whether or not it applies to the served model).
  bool present() const { return present_; }
  // Why the file applies to no answer (another model), else empty.
  const std::string& problem() const { return problem_; }
  const calibration::proto::CalibrationFile& file() const { return file_; }

  // The calibrator fitted for exactly these settings; null when none (the answer is uncalibrated).
  const calibration::Calibrator* Find(const calibration::EstimatorSettings& settings) const;
  // The calibrator for an incident of `photos` pooled photos (incident_calibration.h): the entry's
  // own for one photo, else its incident entry with the largest size <= photos; null when there
  // is none (the incident answer is uncalibrated: a single-photo calibration under-covers pooled
  // answers, docs/INCIDENTS.md).
  const calibration::Calibrator* FindIncident(const calibration::EstimatorSettings& settings,
                                              int photos) const;
  // OK when Find(settings) is not null; else why not (no file, another model, the entries the
  // file has), for logs and GetStatus.
  absl::Status CheckServes(const calibration::EstimatorSettings& settings) const;

 private:
  BundleCalibration() = default;

  bool present_ = false;
  std::string problem_;
  calibration::proto::CalibrationFile file_;
  std::vector<calibration::Calibrator> calibrators_;  // one per entry of file_, in its order
  // Per entry of file_, one calibrator per entry.incidents(), in its order.
  std::vector<std::vector<calibration::Calibrator>> incident_calibrators_;
};

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_BUNDLE_CALIBRATION_H_
