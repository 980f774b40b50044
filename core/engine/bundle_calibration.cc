#include "core/engine/bundle_calibration.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/calibration/incident_calibration.h"
#include "core/calibration/record.h"
#include "core/cells/area_region.h"
#include "core/cells/cell_union_outline.h"
#include "core/cells/region_cells.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/engine/locator.h"

namespace geoloc::engine {

static_assert(calibration::SuperlevelOptions{}.max_cells == kDefaultRegionCellsPerLevel,
              "the engine's default region budget is the library's");

calibration::EstimatorSettings AnswerSettings(const LocateParams& params, geo::ScoreKind kind,
                                              bool classifier) {
  calibration::EstimatorSettings s;
  s.estimator = std::string(geo::EstimatorName(params.estimator.kind));
  s.k = params.k;
  s.weight_exponent_m = params.estimator.weight_exponent_m;
  s.bandwidth_km = params.estimator.bandwidth_km;
  s.score_kind = kind;
  s.classifier = classifier;
  return s;
}

calibration::CalibrationExample CalibrationExampleOf(const LocateResult& result,
                                                     std::optional<geo::LatLon> truth) {
  calibration::CalibrationExample e;
  e.positions.reserve(result.neighbors.size());
  e.scores.reserve(result.neighbors.size());
  for (const index::Neighbor& n : result.neighbors) {
    e.positions.push_back(geo::LatLon{n.lat, n.lon});
    e.scores.push_back(n.score);
  }
  e.weights = result.weights;
  e.best = result.best.pos;
  e.peak_masses = result.peak_masses;
  e.classifier_cells = result.classifier_leaves;
  e.classifier_probabilities = result.classifier_leaf_probabilities;
  e.truth = truth;
  return e;
}

void ClipRegionsToArea(const cells::AreaRegion& area, const calibration::ApplyOptions& options,
                       calibration::CalibratedAnswer* answer) {
  const std::vector<cells::CellId> covering = area.ClipCovering();  // once for every level
  for (calibration::ConfidenceRegion& region : answer->regions) {
    // The truth lies inside a hard area (the filter's premise: only photos inside it were
    // searched), so the part of a region outside it holds no truth: clipping keeps the region's
    // coverage, and level and guaranteed_coverage stay as they are.
    region.cells =
        region.whole_sphere ? covering : cells::IntersectCellUnions(region.cells, covering);
    region.whole_sphere = false;
    region.area_km2 = cells::CellUnionAreaKm2(region.cells);
    // The cells settled by the boundary rule are not tracked one by one: at most all of them
    // survive the clip.
    region.boundary_area_km2 = std::min(region.boundary_area_km2, region.area_km2);
    region.pieces.clear();
    if (options.pieces || options.outlines) {
      region.pieces = cells::CellUnionPieces(region.cells, options.outlines);
    }
  }
}

absl::StatusOr<calibration::CalibratedAnswer> CalibrateAnswer(
    const calibration::Calibrator& calibrator, const LocateResult& result,
    const LocateParams& params) {
  const calibration::CalibrationExample example = CalibrationExampleOf(result, std::nullopt);
  calibration::ApplyOptions options;
  options.levels = params.region_levels;
  // Settling undecided cells by their centres (the library's default) measured 0.20 coverage of
  // the cells shown at the 50% level on the medium proving ground, where the cell budget left the
  // boundaries coarse (docs/CALIBRATION.md).
  options.region.boundary = calibration::BoundaryRule::kInclude;
  options.region.max_cells = params.region_cells_per_level;
  GEOLOC_ASSIGN_OR_RETURN(calibration::CalibratedAnswer answer,
                          calibrator.Apply(example.Evidence(), options));
  if (params.area.hard()) {
    GEOLOC_ASSIGN_OR_RETURN(cells::AreaRegion area, cells::AreaRegion::Build(params.area));
    ClipRegionsToArea(area, options, &answer);
  }
  return answer;
}

absl::StatusOr<std::unique_ptr<const BundleCalibration>> BundleCalibration::Load(
    const index::Bundle& bundle, const model::ModelInfo& model) {
  if (!bundle.HasExtra(kCalibrationExtraName)) {
    return std::unique_ptr<const BundleCalibration>(new BundleCalibration());
  }
  GEOLOC_ASSIGN_OR_RETURN(std::string path, bundle.ExtraPath(kCalibrationExtraName));
  absl::StatusOr<calibration::proto::CalibrationFile> file = calibration::ReadCalibrationFile(path);
  if (!file.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle ", bundle.version(), ": unusable calibration: ", file.status().message()));
  }
  return Create(*std::move(file), model.fingerprint, absl::StrCat("bundle ", bundle.version()));
}

absl::StatusOr<std::unique_ptr<const BundleCalibration>> BundleCalibration::Create(
    calibration::proto::CalibrationFile file, absl::string_view model_fingerprint,
    absl::string_view where) {
  if (absl::Status st = calibration::ValidateCalibrationFile(file); !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": unusable calibration: ", st.message()));
  }
  std::unique_ptr<BundleCalibration> out(new BundleCalibration());
  out->present_ = true;
  out->file_ = std::move(file);
  if (out->file_.model_fingerprint() != model_fingerprint) {
    out->problem_ =
        absl::StrCat("the calibration was fitted for model ", out->file_.model_fingerprint(),
                     ", not the served ", model_fingerprint, ": answers are not calibrated");
    GEOLOC_LOG(WARNING) << where << ": " << out->problem_;
    return std::unique_ptr<const BundleCalibration>(std::move(out));
  }
  for (const calibration::proto::CalibrationEntry& entry : out->file_.entries()) {
    absl::StatusOr<calibration::Calibrator> c = calibration::Calibrator::Create(entry);
    if (!c.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, ": unusable calibration entry: ", c.status().message()));
    }
    out->calibrators_.push_back(*std::move(c));
    std::vector<calibration::Calibrator>& incident = out->incident_calibrators_.emplace_back();
    for (const calibration::proto::IncidentCalibration& part : entry.incidents()) {
      absl::StatusOr<calibration::Calibrator> ic = calibration::Calibrator::Create(part.entry());
      if (!ic.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(where, ": unusable incident calibration (", part.photos(),
                         " photos): ", ic.status().message()));
      }
      incident.push_back(*std::move(ic));
    }
  }
  return std::unique_ptr<const BundleCalibration>(std::move(out));
}

const calibration::Calibrator* BundleCalibration::Find(
    const calibration::EstimatorSettings& settings) const {
  for (const calibration::Calibrator& c : calibrators_) {
    if (calibration::CheckSettings(c.entry().settings(), settings).ok()) return &c;
  }
  return nullptr;
}

const calibration::Calibrator* BundleCalibration::FindIncident(
    const calibration::EstimatorSettings& settings, int photos) const {
  if (photos <= 1) return Find(settings);
  for (size_t e = 0; e < calibrators_.size(); ++e) {
    if (!calibration::CheckSettings(calibrators_[e].entry().settings(), settings).ok()) continue;
    const int i = calibration::IncidentCalibrationIndex(calibrators_[e].entry(), photos);
    return i < 0 ? nullptr : &incident_calibrators_[e][i];
  }
  return nullptr;
}

absl::Status BundleCalibration::CheckServes(const calibration::EstimatorSettings& settings) const {
  if (!present_) return absl::NotFoundError("the bundle has no calibration");
  if (!problem_.empty()) return absl::FailedPreconditionError(problem_);
  return calibration::FindEntry(file_, file_.model_fingerprint(), settings).status();
}

}  // namespace geoloc::engine
