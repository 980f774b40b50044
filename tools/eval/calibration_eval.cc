#include "tools/eval/calibration_eval.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/calibration/incident_calibration.h"
#include "core/calibration/record.h"
#include "core/calibration/reliability.h"
#include "core/cells/region_cells.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/engine/bundle_calibration.h"
#include "core/geo/distance.h"
#include "core/index/bundle_writer.h"
#include "tools/eval/incident_eval.h"
#include "tools/eval/region_tally.h"

namespace geoloc::eval {
namespace {

namespace fs = std::filesystem;

constexpr double kEarthAreaKm2 = 4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
constexpr size_t kMaxCurvePoints = 200;

// The engine's answer to one stored query: Finish on its neighbours, as geolocd would after its
// search. Stored runs keep database ids, not rows; Finish only needs a row >= 0 to know a result
// is real.
absl::StatusOr<engine::LocateResult> Answer(const engine::Locator& locator,
                                            const RetrievedQuery& q,
                                            const engine::LocateParams& params) {
  std::vector<index::Neighbor> neighbors(q.neighbors.size());
  for (size_t i = 0; i < q.neighbors.size(); ++i) {
    neighbors[i].row = static_cast<int64_t>(i);
    neighbors[i].id = q.neighbors[i].id;
    neighbors[i].score = static_cast<float>(q.neighbors[i].score);
    neighbors[i].lat = q.neighbors[i].pos.lat;
    neighbors[i].lon = q.neighbors[i].pos.lon;
  }
  return locator.Finish(q.descriptor, std::move(neighbors), params);
}

absl::Status CheckModel(const engine::Locator& locator, const RetrievalRun& run) {
  if (run.model != locator.model_version()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the retrieval of ", run.source, " was made with model ", run.model,
                     ", not ", locator.model_version()));
  }
  return absl::OkStatus();
}

files::CalibrationSplitSummary Summary(const calibration::proto::SplitInfo& s) {
  files::CalibrationSplitSummary out;
  out.set_name(s.name());
  out.set_photos(s.photos());
  out.set_with_place(s.with_truth());
  return out;
}

double CapAreaKm2(double radius_km) {
  const double r = std::min(radius_km, geo::kHalfCircumferenceKm);
  return 2 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm *
         (1 - std::cos(r / geo::kEarthRadiusKm));
}

// A reliability diagram with its noise floor: the bins, each with the band a perfectly calibrated
// predictor's accuracy falls in, and the ECE's floor.
absl::Status AddReliability(absl::Span<const double> confidences,
                            absl::Span<const double> outcomes,
                            google::protobuf::RepeatedPtrField<files::ReliabilityBin>* out,
                            double* ece, files::EceNoise* floor) {
  GEOLOC_ASSIGN_OR_RETURN(std::vector<calibration::ReliabilityBin> bins,
                          calibration::ReliabilityBins(confidences, outcomes));
  GEOLOC_ASSIGN_OR_RETURN(calibration::EceNoise noise,
                          calibration::EceNoiseFloor(confidences, outcomes));
  *ece = calibration::ExpectedCalibrationError(bins);
  for (size_t i = 0; i < bins.size(); ++i) {
    const calibration::ReliabilityBin& b = bins[i];
    files::ReliabilityBin* r = out->Add();
    r->set_confidence_lo(b.lower);
    r->set_confidence_hi(b.upper);
    r->set_count(b.count);
    r->set_mean_confidence(b.count > 0 ? b.mean_confidence : 0);
    r->set_accuracy(b.count > 0 ? b.frequency : 0);
    r->set_band_lo(b.count > 0 ? noise.band_lower[i] : 0);
    r->set_band_hi(b.count > 0 ? noise.band_upper[i] : 0);
  }
  floor->set_draws(noise.draws);
  floor->set_seed(noise.seed);
  floor->set_median(noise.median);
  floor->set_p95(noise.p95);
  floor->set_share_at_or_above(noise.share_at_or_above);
  floor->set_beyond_noise(noise.BeyondNoise());
  floor->set_debiased_squared(noise.debiased_squared);
  floor->set_debiased_l2(noise.debiased_l2);
  return absl::OkStatus();
}

}  // namespace

std::string SplitName(const RetrievalRun& run) {
  return run.split.empty() ? run.source : run.split;
}

absl::StatusOr<std::vector<calibration::CalibrationExample>> AnswerExamples(
    const engine::Locator& locator, const RetrievalRun& run, const engine::LocateParams& params,
    bool show_progress) {
  GEOLOC_RETURN_IF_ERROR(CheckModel(locator, run));
  std::vector<calibration::CalibrationExample> examples;
  examples.reserve(run.queries.size());
  std::optional<ProgressReporter> progress;
  if (show_progress) {
    progress.emplace(absl::StrCat("answer ", SplitName(run)), run.queries.size(), "photos");
  }
  for (const RetrievedQuery& q : run.queries) {
    GEOLOC_ASSIGN_OR_RETURN(engine::LocateResult result, Answer(locator, q, params));
    examples.push_back(engine::CalibrationExampleOf(
        result, q.localizable ? std::optional<geo::LatLon>(q.truth) : std::nullopt));
    if (progress) progress->Add(1);
  }
  if (progress) progress->Finish();
  return examples;
}

absl::StatusOr<files::CalibrateReport> CalibrateBundle(
    const engine::Locator& locator, const std::string& bundle_dir, const RetrievalRun& fit,
    const RetrievalRun& calibration_run, const std::vector<engine::LocateParams>& configs,
    const calibration::FitOptions& fit_options, const IncidentFitOptions& incidents,
    const std::string& created_by, bool show_progress) {
  const absl::Time start = absl::Now();
  const std::string fit_name = SplitName(fit);
  const std::string calibration_name = SplitName(calibration_run);
  for (const RetrievalRun* run : {&fit, &calibration_run}) {
    if (run->split == calibration::kTestSplitName ||
        SplitName(*run) == calibration::kTestSplitName) {
      return absl::InvalidArgumentError(
          absl::StrCat("refusing to calibrate on the test split (", run->source,
                       "): it is reported on, never fitted on; calibrate on val and calib"));
    }
  }
  if (fit_name == calibration_name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the fit and calibration splits are both '", fit_name,
        "': the score function must be fixed on another split than the conformal scores"));
  }
  if (configs.empty()) return absl::InvalidArgumentError("no estimator configuration to fit");

  const std::string fingerprint = locator.model_info().fingerprint;
  calibration::proto::CalibrationFile file;
  const engine::BundleCalibration& existing = locator.calibration();
  if (existing.present() && existing.file().model_fingerprint() == fingerprint) {
    file = existing.file();
  }
  file.set_format_version(calibration::kCalibrationFormatVersion);
  file.set_model_fingerprint(fingerprint);
  file.set_created_by(created_by);

  files::CalibrateReport report;
  report.set_bundle(bundle_dir);
  report.set_model(locator.model_version());
  for (const engine::LocateParams& params : configs) {
    const calibration::EstimatorSettings settings = locator.AnswerSettingsFor(params);
    GEOLOC_ASSIGN_OR_RETURN(std::vector<calibration::CalibrationExample> fit_examples,
                            AnswerExamples(locator, fit, params, show_progress));
    GEOLOC_ASSIGN_OR_RETURN(std::vector<calibration::CalibrationExample> calibration_examples,
                            AnswerExamples(locator, calibration_run, params, show_progress));
    GEOLOC_ASSIGN_OR_RETURN(
        calibration::proto::CalibrationEntry entry,
        calibration::FitCalibrationEntry(settings, {fit_name, fit_examples},
                                         {calibration_name, calibration_examples}, fit_options));
    // Replace an entry for the same settings, keep the others.
    auto* entries = file.mutable_entries();
    for (int i = entries->size() - 1; i >= 0; --i) {
      if (calibration::CheckSettings(entries->Get(i).settings(), settings).ok()) {
        entries->DeleteSubrange(i, 1);
      }
    }
    files::CalibratedEntry* summary = report.add_entries();
    summary->set_settings(calibration::DescribeSettings(settings));
    *summary->mutable_fit_split() = Summary(entry.fit_split());
    *summary->mutable_calibration_split() = Summary(entry.calibration_split());
    for (const auto& group : entry.score_groups()) {
      summary->add_score_group_sizes(group.scores_size());
    }
    summary->set_narrow(entry.mixture().narrow());
    summary->set_broad(entry.mixture().broad());
    summary->set_classifier(entry.mixture().classifier());
    summary->set_floor(entry.mixture().floor());
    summary->set_broad_bandwidth_km(entry.mixture().broad_bandwidth_km());
    summary->set_regional(entry.mixture().regional());
    summary->set_regional_bandwidth_km(entry.mixture().regional_bandwidth_km());
    // Incidents pool spherical KDE densities only (Locator::CombineIncident).
    const bool incident_estimator = params.estimator.kind == geo::EstimatorKind::kSphericalKde;
    for (int photos : incident_estimator ? incidents.sizes : std::vector<int>{}) {
      GEOLOC_ASSIGN_OR_RETURN(
          std::vector<calibration::CalibrationExample> fit_incidents,
          IncidentExamples(locator, fit, params, photos, incidents.draws_per_place, incidents.seed,
                           show_progress));
      GEOLOC_ASSIGN_OR_RETURN(
          std::vector<calibration::CalibrationExample> calibration_incidents,
          IncidentExamples(locator, calibration_run, params, photos, incidents.draws_per_place,
                           incidents.seed, show_progress));
      GEOLOC_ASSIGN_OR_RETURN(
          *entry.add_incidents(),
          calibration::FitIncidentCalibration(
              settings, photos, incidents.draws_per_place, {fit_name, fit_incidents},
              {calibration_name, calibration_incidents}, fit_options));
      const calibration::proto::IncidentCalibration& part =
          entry.incidents(entry.incidents_size() - 1);
      files::CalibratedIncidents* s = summary->add_incidents();
      s->set_photos(photos);
      s->set_fit_incidents(part.entry().fit_split().photos());
      s->set_calibration_incidents(part.entry().calibration_split().photos());
      for (const auto& group : part.entry().score_groups()) {
        s->add_score_group_sizes(group.scores_size());
      }
      s->set_broad_bandwidth_km(part.entry().mixture().broad_bandwidth_km());
    }
    GEOLOC_RETURN_IF_ERROR(calibration::ValidateEntry(entry));
    *entries->Add() = std::move(entry);
  }

  // Written beside the bundle under the extra's file name, then copied in with its checksum.
  std::error_code ec;
  const fs::path staging =
      fs::path(bundle_dir).lexically_normal().parent_path() /
      absl::StrCat(".", fs::path(bundle_dir).lexically_normal().filename().string(),
                   ".calibration-staging");
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", staging.string(), ": ",
                                                  ec.message()));
  const std::string path = (staging / calibration::kCalibrationFileName).string();
  absl::Status written = calibration::WriteCalibrationFile(path, file);
  absl::StatusOr<index::BundleManifest> manifest =
      written.ok() ? index::AddBundleExtra(bundle_dir, {engine::kCalibrationExtraName, path})
                   : absl::StatusOr<index::BundleManifest>(written);
  fs::remove_all(staging, ec);
  if (!manifest.ok()) return manifest.status();
  report.set_version(manifest->version());
  report.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return report;
}

absl::StatusOr<files::CoverageReport> ReportCoverage(const engine::Locator& locator,
                                                     const RetrievalRun& run,
                                                     const engine::LocateParams& params,
                                                     double abstain_below, bool show_progress,
                                                     bool per_photo) {
  GEOLOC_RETURN_IF_ERROR(CheckModel(locator, run));
  const calibration::EstimatorSettings settings = locator.AnswerSettingsFor(params);
  const calibration::Calibrator* calibrator = locator.calibration().Find(settings);
  if (calibrator == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the bundle ", locator.bundle_version(), " is not calibrated for ",
        calibration::DescribeSettings(settings), ": ",
        locator.calibration().CheckServes(settings).message(), " (run geoloc-eval calibrate)"));
  }
  const double localizable_km = calibrator->entry().localizability().within_km();
  const size_t levels = params.region_levels.size();
  const int groups = calibrator->num_score_groups();

  files::CoverageReport report;
  report.set_split(SplitName(run));
  report.set_settings(calibration::DescribeSettings(settings));
  report.set_bundle(locator.bundle_version());
  report.set_localizable_within_km(localizable_km);
  report.set_abstain_below(abstain_below);

  std::vector<int64_t> inside(levels, 0), exact(levels, 0), whole(levels, 0), empty(levels, 0);
  int64_t capped = 0;
  std::vector<double> guaranteed(levels, 0);
  std::vector<std::vector<double>> areas(levels);
  std::vector<std::vector<int64_t>> group_inside(levels, std::vector<int64_t>(groups, 0));
  std::vector<int64_t> group_size(groups, 0);
  std::vector<double> disc_areas;
  int64_t disc_inside = 0;
  const size_t thresholds = calibrator->entry().within_size();
  std::vector<std::vector<double>> within_p(thresholds), within_raw(thresholds),
      within_hit(thresholds);
  std::vector<double> p_localizable, localized;
  int64_t distractors = 0, distractors_abstained = 0, localized_count = 0, localized_lost = 0;
  double calibrate_ms = 0;

  std::optional<ProgressReporter> progress;
  if (show_progress) {
    progress.emplace(absl::StrCat("coverage ", SplitName(run)), run.queries.size(), "photos");
  }
  for (const RetrievedQuery& q : run.queries) {
    GEOLOC_ASSIGN_OR_RETURN(engine::LocateResult r, Answer(locator, q, params));
    if (!r.calibration.has_value()) {
      return absl::InternalError("an answer of a calibrated configuration is not calibrated");
    }
    const calibration::CalibratedAnswer& c = *r.calibration;
    calibrate_ms += r.calibrate_ms;
    const bool has_place = q.localizable;
    const double error_km = has_place ? geo::HaversineKm(r.best.pos, q.truth) : INFINITY;
    const bool is_localized = has_place && error_km <= localizable_km;
    p_localizable.push_back(c.p_localizable);
    localized.push_back(is_localized ? 1 : 0);
    const bool abstained = c.p_localizable < abstain_below;
    files::PhotoOutcome* outcome = per_photo ? report.add_per_photo() : nullptr;
    if (outcome != nullptr) {
      outcome->set_source(q.source);
      outcome->set_place(q.place);
      outcome->set_has_place(has_place);
      outcome->set_score_group(c.score_group);
      outcome->set_raw_localizability(c.raw_localizability);
      outcome->set_p_localizable(c.p_localizable);
      for (const calibration::WithinProbability& w : c.within) {
        outcome->add_within_probability(w.probability);
        outcome->add_within_raw_mass(w.raw_mass);
      }
    }
    if (!has_place) {
      ++distractors;
      distractors_abstained += abstained;
    } else {
      localized_count += is_localized;
      localized_lost += is_localized && abstained;
    }
    if (has_place) {
      ++group_size[c.score_group];
      capped += c.regions_capped;
      const calibration::CalibrationExample example = engine::CalibrationExampleOf(r, q.truth);
      GEOLOC_ASSIGN_OR_RETURN(calibration::PredictiveDensity density,
                              calibrator->Density(example.Evidence()));
      const double score = -density.LogDensity(geo::ToUnitVector(q.truth));
      if (outcome != nullptr) {
        outcome->set_score(score);
        outcome->set_error_km(error_km);
      }
      for (size_t l = 0; l < levels; ++l) {
        const calibration::ConfidenceRegion& region = c.regions[l];
        const bool in = region.whole_sphere || cells::CellUnionContains(region.cells, q.truth);
        inside[l] += in;
        exact[l] += region.whole_sphere || score <= region.score_quantile;
        group_inside[l][c.score_group] += in;
        whole[l] += region.whole_sphere;
        empty[l] += !region.whole_sphere && region.cells.empty();
        guaranteed[l] += region.guaranteed_coverage;
        areas[l].push_back(region.whole_sphere ? kEarthAreaKm2 : region.area_km2);
      }
      disc_inside += error_km <= r.best.uncertainty_km;
      disc_areas.push_back(CapAreaKm2(r.best.uncertainty_km));
      for (size_t t = 0; t < thresholds && t < c.within.size(); ++t) {
        within_p[t].push_back(c.within[t].probability);
        within_raw[t].push_back(c.within[t].raw_mass);
        within_hit[t].push_back(error_km <= c.within[t].threshold_km ? 1 : 0);
      }
    }
    if (progress) progress->Add(1);
  }
  if (progress) progress->Finish();

  const int64_t with_place = static_cast<int64_t>(run.queries.size()) - distractors;
  report.set_photos(static_cast<int64_t>(run.queries.size()));
  report.set_with_place(with_place);
  report.set_distractors(distractors);
  for (int64_t n : group_size) report.add_group_sizes(n);
  if (with_place == 0) {
    return absl::FailedPreconditionError(absl::StrCat(run.source, " has no photo with a place"));
  }
  for (size_t l = 0; l < levels; ++l) {
    files::LevelCoverage* lc = report.add_levels();
    lc->set_level(params.region_levels[l]);
    lc->set_coverage(static_cast<double>(inside[l]) / with_place);
    for (int g = 0; g < groups; ++g) {
      lc->add_coverage_by_group(group_size[g] > 0
                                    ? static_cast<double>(group_inside[l][g]) / group_size[g]
                                    : 0);
    }
    lc->set_median_area_km2(Median(areas[l]));
    lc->set_whole_sphere_share(static_cast<double>(whole[l]) / with_place);
    lc->set_empty_share(static_cast<double>(empty[l]) / with_place);
    lc->set_mean_guaranteed_coverage(guaranteed[l] / with_place);
    lc->set_exact_coverage(static_cast<double>(exact[l]) / with_place);
    lc->set_capped_share(static_cast<double>(capped) / with_place);
  }
  report.set_disc_coverage(static_cast<double>(disc_inside) / with_place);
  report.set_disc_median_area_km2(Median(disc_areas));

  for (size_t t = 0; t < thresholds; ++t) {
    files::WithinCalibration* w = report.add_within();
    w->set_threshold_km(calibrator->entry().within(static_cast<int>(t)).threshold_km());
    double ece = 0;
    GEOLOC_RETURN_IF_ERROR(AddReliability(within_p[t], within_hit[t], w->mutable_reliability(),
                                          &ece, w->mutable_ece_noise()));
    w->set_ece(ece);
    GEOLOC_ASSIGN_OR_RETURN(std::vector<calibration::ReliabilityBin> raw_bins,
                            calibration::ReliabilityBins(within_raw[t], within_hit[t]));
    w->set_raw_mass_ece(calibration::ExpectedCalibrationError(raw_bins));
    double p = 0, hit = 0;
    for (size_t i = 0; i < within_p[t].size(); ++i) {
      p += within_p[t][i];
      hit += within_hit[t][i];
    }
    w->set_mean_probability(p / std::max<size_t>(1, within_p[t].size()));
    w->set_frequency(hit / std::max<size_t>(1, within_hit[t].size()));
  }

  double localizable_ece = 0;
  GEOLOC_RETURN_IF_ERROR(AddReliability(p_localizable, localized,
                                        report.mutable_localizable_reliability(),
                                        &localizable_ece, report.mutable_localizable_ece_noise()));
  report.set_localizable_ece(localizable_ece);
  GEOLOC_ASSIGN_OR_RETURN(std::vector<calibration::RiskCoveragePoint> curve,
                          calibration::RiskCoverageCurve(p_localizable, localized));
  const size_t step = std::max<size_t>(1, (curve.size() + kMaxCurvePoints - 1) / kMaxCurvePoints);
  for (size_t i = 0; i < curve.size(); ++i) {
    if (i % step != 0 && i + 1 != curve.size()) continue;
    files::RiskCoveragePoint* p = report.add_risk_coverage();
    p->set_threshold(curve[i].threshold);
    p->set_coverage(curve[i].coverage);
    p->set_risk(curve[i].risk);
  }
  report.set_distractors_abstained(distractors > 0 ? static_cast<double>(distractors_abstained) /
                                                         distractors
                                                   : 0);
  report.set_localized_lost(localized_count > 0
                                ? static_cast<double>(localized_lost) / localized_count
                                : 0);
  int64_t answered = 0, answered_wrong = 0;
  for (size_t i = 0; i < p_localizable.size(); ++i) {
    if (p_localizable[i] < abstain_below) continue;
    ++answered;
    answered_wrong += localized[i] == 0;
  }
  report.set_answered(static_cast<double>(answered) / std::max<size_t>(1, p_localizable.size()));
  report.set_answered_risk(answered > 0 ? static_cast<double>(answered_wrong) / answered : 0);
  report.set_calibrate_ms_per_answer(calibrate_ms / std::max<size_t>(1, run.queries.size()));
  return report;
}

}  // namespace geoloc::eval
