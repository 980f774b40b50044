#include "core/calibration/fit.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/calibration/answer_features.h"
#include "core/calibration/calibrator.h"
#include "core/calibration/cell_mass_component.h"
#include "core/calibration/isotonic.h"
#include "core/calibration/logistic.h"
#include "core/calibration/mixture_fit.h"
#include "core/calibration/record.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"

namespace geoloc::calibration {
namespace {

absl::Status CheckSplitName(const NamedSplit& split, absl::string_view role) {
  if (split.name.empty() || split.name == kTestSplitName) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", role, " split must be named and must not be the test split (got '",
                     split.name, "')"));
  }
  for (size_t i = 0; i < split.examples.size(); ++i) {
    const CalibrationExample& e = split.examples[i];
    GEOLOC_RETURN_IF_ERROR(
        Annotate(ValidateAnswerEvidence(e.Evidence()), absl::StrCat(split.name, " photo ", i)));
    if (e.truth.has_value()) {
      GEOLOC_RETURN_IF_ERROR(Annotate(geo::ValidateLatLon(*e.truth),
                                      absl::StrCat(split.name, " photo ", i, " truth")));
    }
  }
  return absl::OkStatus();
}

proto::SplitInfo SplitInfoOf(const NamedSplit& split) {
  proto::SplitInfo info;
  info.set_name(split.name);
  info.set_photos(static_cast<int64_t>(split.examples.size()));
  int64_t with_truth = 0;
  for (const CalibrationExample& e : split.examples) with_truth += e.truth.has_value();
  info.set_with_truth(with_truth);
  return info;
}

double LocalizableLabel(const CalibrationExample& e, double within_km) {
  return e.truth.has_value() && geo::HaversineKm(e.best, *e.truth) <= within_km ? 1.0 : 0.0;
}

void SetKnots(const IsotonicFunction& f, proto::IsotonicKnots* knots) {
  knots->mutable_x()->Assign(f.knot_x().begin(), f.knot_x().end());
  knots->mutable_y()->Assign(f.knot_y().begin(), f.knot_y().end());
}

// Step 1: the mixture weights and broad (and regional) bandwidths of highest likelihood on the fit
// split.
absl::StatusOr<proto::MixtureWeights> FitMixture(const EstimatorSettings& settings,
                                                 const NamedSplit& fit, const FitOptions& options) {
  const double log_floor = std::log(UniformSphereDensity());
  // Columns that do not depend on the candidate bandwidths, and each candidate's column.
  std::vector<double> narrow, classifier;
  std::vector<const CalibrationExample*> with_truth;
  for (const CalibrationExample& e : fit.examples) {
    if (!e.truth.has_value()) continue;
    const geo::Vec3 x = geo::ToUnitVector(*e.truth);
    with_truth.push_back(&e);
    GEOLOC_ASSIGN_OR_RETURN(const VmfKdeComponent k,
                            VmfKdeComponent::Create(e.positions, e.weights, settings.bandwidth_km));
    narrow.push_back(k.LogDensity(x));
    if (settings.classifier) {
      if (e.classifier_cells.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("classifier settings, but a ", fit.name,
                                                       " photo has no classifier cells"));
      }
      GEOLOC_ASSIGN_OR_RETURN(
          const CellMassComponent c,
          CellMassComponent::Create(e.classifier_cells, e.classifier_probabilities));
      classifier.push_back(c.LogDensity(x));
    }
  }
  if (with_truth.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", fit.name, " split has no photo with a true place to fit the mixture on"));
  }
  const std::vector<double>& h = options.broad_bandwidths_km;
  std::vector<std::vector<double>> wide(h.size());
  for (size_t b = 0; b < h.size(); ++b) {
    for (const CalibrationExample* e : with_truth) {
      GEOLOC_ASSIGN_OR_RETURN(const VmfKdeComponent k,
                              VmfKdeComponent::Create(e->positions, e->weights, h[b]));
      wide[b].push_back(k.LogDensity(geo::ToUnitVector(*e->truth)));
    }
  }
  // Candidates: (broad, regional) index pairs; regional -1 for none.
  std::vector<std::pair<size_t, int>> candidates;
  for (size_t b = 0; b < h.size(); ++b) {
    candidates.push_back({b, -1});
    if (!options.regional) continue;
    for (size_t r = 0; r < h.size(); ++r) {
      if (h[r] > h[b]) candidates.push_back({b, static_cast<int>(r)});
    }
  }
  MixtureFitOptions mixture_options;
  mixture_options.prior_count = options.prior_count;
  proto::MixtureWeights best;
  bool have_best = false;
  for (const auto& [b, r] : candidates) {
    // Columns: narrow, broad, [regional], [classifier], floor.
    const int components = 3 + (r >= 0) + settings.classifier;
    std::vector<double> matrix(with_truth.size() * components);
    for (size_t i = 0; i < with_truth.size(); ++i) {
      double* row = &matrix[i * components];
      int c = 0;
      row[c++] = narrow[i];
      row[c++] = wide[b][i];
      if (r >= 0) row[c++] = wide[r][i];
      if (settings.classifier) row[c++] = classifier[i];
      row[c] = log_floor;
    }
    GEOLOC_ASSIGN_OR_RETURN(const MixtureFit m,
                            FitMixtureWeights(matrix, components, mixture_options));
    if (!have_best || m.mean_log_likelihood > best.mean_log_likelihood()) {
      have_best = true;
      int c = 0;
      best.set_narrow(m.weights[c++]);
      best.set_broad(m.weights[c++]);
      best.set_broad_bandwidth_km(h[b]);
      best.set_regional(r >= 0 ? m.weights[c++] : 0.0);
      best.set_regional_bandwidth_km(r >= 0 ? h[r] : 0.0);
      best.set_classifier(settings.classifier ? m.weights[c++] : 0.0);
      best.set_floor(m.weights[c]);
      best.set_mean_log_likelihood(m.mean_log_likelihood);
    }
  }
  best.set_prior_count(options.prior_count);
  return best;
}

}  // namespace

AnswerEvidence CalibrationExample::Evidence() const {
  AnswerEvidence e;
  e.positions = positions;
  e.weights = weights;
  e.scores = scores;
  e.best = best;
  e.peak_masses = peak_masses;
  e.classifier_cells = classifier_cells;
  e.classifier_probabilities = classifier_probabilities;
  return e;
}

absl::Status ValidateFitOptions(const FitOptions& o) {
  if (o.broad_bandwidths_km.empty()) {
    return absl::InvalidArgumentError("fit options: no broad bandwidth to choose from");
  }
  for (double h : o.broad_bandwidths_km) {
    if (!(h > 0 && h <= geo::kHalfCircumferenceKm)) {
      return absl::InvalidArgumentError(absl::StrCat("fit options: broad bandwidth ", h, " km"));
    }
  }
  double previous = 0;
  for (double t : o.thresholds_km) {
    if (!(t > previous) || !std::isfinite(t)) {
      return absl::InvalidArgumentError(
          "fit options: thresholds_km must be positive and increasing");
    }
    previous = t;
  }
  if (!(o.prior_count >= 0) || !(o.localizable_within_km > 0) || !(o.ridge >= 0) ||
      o.score_groups < 1) {
    return absl::InvalidArgumentError(
        "fit options: prior_count >= 0, localizable_within_km > 0, ridge >= 0, score_groups >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::CalibrationEntry> FitCalibrationEntry(const EstimatorSettings& settings,
                                                            const NamedSplit& fit,
                                                            const NamedSplit& calibration,
                                                            const FitOptions& options) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorSettings(settings));
  GEOLOC_RETURN_IF_ERROR(ValidateFitOptions(options));
  GEOLOC_RETURN_IF_ERROR(CheckSplitName(fit, "fit"));
  GEOLOC_RETURN_IF_ERROR(CheckSplitName(calibration, "calibration"));
  if (fit.name == calibration.name) {
    return absl::InvalidArgumentError(absl::StrCat("the fit and calibration splits are both '",
                                                   fit.name, "' (they must be different photos)"));
  }
  proto::CalibrationEntry entry;
  *entry.mutable_settings() = SettingsToProto(settings);
  *entry.mutable_fit_split() = SplitInfoOf(fit);
  *entry.mutable_calibration_split() = SplitInfoOf(calibration);
  GEOLOC_ASSIGN_OR_RETURN(*entry.mutable_mixture(), FitMixture(settings, fit, options));

  // Step 2: the localizability model on the fit split.
  std::vector<double> features, labels;
  for (const CalibrationExample& e : fit.examples) {
    GEOLOC_ASSIGN_OR_RETURN(const PredictiveDensity f,
                            BuildPredictiveDensity(settings, entry.mixture(), e.Evidence()));
    const FeatureVector x = AnswerFeatures(e.Evidence(), settings.score_kind, f);
    features.insert(features.end(), x.begin(), x.end());
    labels.push_back(LocalizableLabel(e, options.localizable_within_km));
  }
  LogisticOptions logistic_options;
  logistic_options.ridge = options.ridge;
  absl::StatusOr<LogisticModel> logistic =
      FitLogistic(features, kNumFeatures, labels, {}, logistic_options);
  if (!logistic.ok()) {
    return Annotate(logistic.status(), absl::StrCat("localizability model on the ", fit.name,
                                                    " split (localizable = best estimate within ",
                                                    options.localizable_within_km, " km)"));
  }

  // Score group limits: quantiles of the raw localizability on the fit split.
  std::vector<double> fit_raw;
  for (size_t i = 0; i < labels.size(); ++i) {
    fit_raw.push_back(
        logistic->Predict(absl::MakeConstSpan(&features[i * kNumFeatures], kNumFeatures)));
  }
  std::sort(fit_raw.begin(), fit_raw.end());
  std::vector<double> group_from = {0.0};
  for (int g = 1; g < options.score_groups; ++g) {
    const double limit = fit_raw[fit_raw.size() * g / options.score_groups];
    if (limit > group_from.back() && limit < 1) group_from.push_back(limit);
  }

  // Steps 3 and 4 on the calibration split.
  std::vector<std::vector<double>> group_scores(group_from.size());
  std::vector<double> logistic_out, localizable;
  std::vector<std::vector<double>> raw(options.thresholds_km.size());
  std::vector<std::vector<double>> within(options.thresholds_km.size());
  for (const CalibrationExample& e : calibration.examples) {
    GEOLOC_ASSIGN_OR_RETURN(const PredictiveDensity f,
                            BuildPredictiveDensity(settings, entry.mixture(), e.Evidence()));
    const double raw_localizability =
        logistic->Predict(AnswerFeatures(e.Evidence(), settings.score_kind, f));
    logistic_out.push_back(raw_localizability);
    localizable.push_back(LocalizableLabel(e, options.localizable_within_km));
    if (!e.truth.has_value()) continue;
    const size_t group = static_cast<size_t>(
        std::upper_bound(group_from.begin(), group_from.end(), raw_localizability) -
        group_from.begin() - 1);
    group_scores[group].push_back(-f.LogDensity(geo::ToUnitVector(*e.truth)));
    const double error_km = geo::HaversineKm(e.best, *e.truth);
    const geo::Vec3 best = geo::ToUnitVector(e.best);
    for (size_t t = 0; t < options.thresholds_km.size(); ++t) {
      raw[t].push_back(f.MassWithin(best, options.thresholds_km[t]));
      within[t].push_back(error_km <= options.thresholds_km[t] ? 1.0 : 0.0);
    }
  }
  size_t with_scores = 0;
  for (size_t g = 0; g < group_from.size(); ++g) {
    std::vector<double>& s = group_scores[g];
    std::sort(s.begin(), s.end());
    with_scores += s.size();
    proto::ScoreGroup* group = entry.add_score_groups();
    group->set_from_raw_localizability(group_from[g]);
    group->mutable_scores()->Assign(s.begin(), s.end());
  }
  if (with_scores == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", calibration.name, " split has no photo with a true place to calibrate on"));
  }
  for (size_t t = 0; t < options.thresholds_km.size(); ++t) {
    GEOLOC_ASSIGN_OR_RETURN(const IsotonicFunction iso,
                            IsotonicFunction::FitProbability(raw[t], within[t]));
    proto::WithinModel* w = entry.add_within();
    w->set_threshold_km(options.thresholds_km[t]);
    SetKnots(iso, w->mutable_isotonic());
  }
  proto::LocalizabilityModel* l = entry.mutable_localizability();
  l->set_within_km(options.localizable_within_km);
  for (absl::string_view name : FeatureNames()) l->add_features(std::string(name));
  l->mutable_feature_mean()->Assign(logistic->mean.begin(), logistic->mean.end());
  l->mutable_feature_scale()->Assign(logistic->scale.begin(), logistic->scale.end());
  l->mutable_coefficients()->Assign(logistic->coefficients.begin(), logistic->coefficients.end());
  l->set_intercept(logistic->intercept);
  l->set_ridge(options.ridge);
  GEOLOC_ASSIGN_OR_RETURN(const IsotonicFunction iso,
                          IsotonicFunction::FitProbability(logistic_out, localizable));
  SetKnots(iso, l->mutable_isotonic());
  GEOLOC_RETURN_IF_ERROR(ValidateEntry(entry));
  return entry;
}

}  // namespace geoloc::calibration
