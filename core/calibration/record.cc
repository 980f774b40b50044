#include "core/calibration/record.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/calibration/answer_features.h"
#include "core/calibration/incident_calibration.h"
#include "core/calibration/isotonic.h"
#include "core/common/json_proto.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"

namespace geoloc::calibration {
namespace {

constexpr double kWeightSumTolerance = 1e-9;
constexpr double kSettingTolerance = 1e-9;

absl::string_view ScoreKindName(geo::ScoreKind kind) {
  return kind == geo::ScoreKind::kSimilarity ? "similarity" : "distance";
}

bool NearlyEqual(double a, double b) {
  return std::abs(a - b) <= kSettingTolerance * std::max(std::abs(a), std::abs(b));
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("calibration entry: ", what));
}

absl::Status CheckKnots(const proto::IsotonicKnots& knots, absl::string_view name) {
  absl::StatusOr<IsotonicFunction> f = IsotonicFunction::FromKnots(
      {knots.x().begin(), knots.x().end()}, {knots.y().begin(), knots.y().end()});
  if (!f.ok()) return Invalid(absl::StrCat(name, ": ", f.status().message()));
  if (f->knot_y().front() < 0 || f->knot_y().back() > 1) {
    return Invalid(absl::StrCat(name, ": probabilities outside [0, 1]"));
  }
  return absl::OkStatus();
}

absl::Status CheckSplit(const proto::SplitInfo& split, absl::string_view role) {
  if (split.name().empty()) return Invalid(absl::StrCat(role, " split has no name"));
  if (split.name() == kTestSplitName) {
    return Invalid(absl::StrCat(role,
                                " split is the test split: fit and calibrate on other "
                                "splits, and report on the test split"));
  }
  if (split.photos() < 0 || split.with_truth() < 0 || split.with_truth() > split.photos()) {
    return Invalid(absl::StrCat(role, " split counts ", split.photos(), " photos, ",
                                split.with_truth(), " with truth"));
  }
  return absl::OkStatus();
}

}  // namespace

proto::EstimatorSettings SettingsToProto(const EstimatorSettings& settings) {
  proto::EstimatorSettings p;
  p.set_estimator(settings.estimator);
  p.set_k(settings.k);
  p.set_weight_exponent_m(settings.weight_exponent_m);
  p.set_bandwidth_km(settings.bandwidth_km);
  p.set_score_kind(std::string(ScoreKindName(settings.score_kind)));
  p.set_classifier(settings.classifier);
  return p;
}

absl::StatusOr<EstimatorSettings> SettingsFromProto(const proto::EstimatorSettings& p) {
  EstimatorSettings s;
  s.estimator = p.estimator();
  s.k = p.k();
  s.weight_exponent_m = p.weight_exponent_m();
  s.bandwidth_km = p.bandwidth_km();
  if (p.score_kind() == "similarity") {
    s.score_kind = geo::ScoreKind::kSimilarity;
  } else if (p.score_kind() == "distance") {
    s.score_kind = geo::ScoreKind::kDistance;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "estimator settings: score_kind '", p.score_kind(), "' (\"similarity\" or \"distance\")"));
  }
  s.classifier = p.classifier();
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorSettings(s));
  return s;
}

std::string DescribeSettings(const EstimatorSettings& s) {
  return absl::StrCat(s.estimator, " k=", s.k, " m=", s.weight_exponent_m, " h=", s.bandwidth_km,
                      "km ", ScoreKindName(s.score_kind), s.classifier ? " +classifier" : "");
}

absl::Status CheckSettings(const proto::EstimatorSettings& fitted,
                           const EstimatorSettings& answer) {
  GEOLOC_ASSIGN_OR_RETURN(const EstimatorSettings f, SettingsFromProto(fitted));
  std::string differs;
  if (f.estimator != answer.estimator) {
    differs = absl::StrCat("estimator ", answer.estimator, " (calibrated: ", f.estimator, ")");
  } else if (f.k != answer.k) {
    differs = absl::StrCat("k = ", answer.k, " (calibrated: ", f.k, ")");
  } else if (!NearlyEqual(f.weight_exponent_m, answer.weight_exponent_m)) {
    differs =
        absl::StrCat("m = ", answer.weight_exponent_m, " (calibrated: ", f.weight_exponent_m, ")");
  } else if (!NearlyEqual(f.bandwidth_km, answer.bandwidth_km)) {
    differs = absl::StrCat("bandwidth ", answer.bandwidth_km, " km (calibrated: ", f.bandwidth_km,
                           " km)");
  } else if (f.score_kind != answer.score_kind) {
    differs = absl::StrCat("score kind ", ScoreKindName(answer.score_kind),
                           " (calibrated: ", ScoreKindName(f.score_kind), ")");
  } else if (f.classifier != answer.classifier) {
    differs = answer.classifier ? "a classifier-fused answer (calibrated without the classifier)"
                                : "an answer without the classifier (calibrated with it)";
  }
  if (!differs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the calibration does not apply to this answer: ", differs));
  }
  return absl::OkStatus();
}

absl::Status ValidateEntry(const proto::CalibrationEntry& entry) {
  absl::StatusOr<EstimatorSettings> settings = SettingsFromProto(entry.settings());
  if (!settings.ok()) return Invalid(settings.status().message());
  GEOLOC_RETURN_IF_ERROR(CheckSplit(entry.fit_split(), "fit"));
  GEOLOC_RETURN_IF_ERROR(CheckSplit(entry.calibration_split(), "calibration"));
  if (entry.fit_split().name() == entry.calibration_split().name()) {
    return Invalid(absl::StrCat("fit and calibration splits are both '", entry.fit_split().name(),
                                "': the score function must be fitted on other photos than the "
                                "scores that calibrate it"));
  }
  const proto::MixtureWeights& m = entry.mixture();
  const double weights[] = {m.narrow(), m.broad(), m.regional(), m.classifier(), m.floor()};
  double sum = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) return Invalid(absl::StrCat("mixture weight ", w));
    sum += w;
  }
  if (std::abs(sum - 1) > kWeightSumTolerance) {
    return Invalid(absl::StrCat("mixture weights sum to ", sum, ", not 1"));
  }
  if (m.classifier() > 0 && !settings->classifier) {
    return Invalid("a classifier weight for settings without the classifier");
  }
  if (m.broad() > 0 &&
      !(m.broad_bandwidth_km() > 0 && m.broad_bandwidth_km() <= geo::kHalfCircumferenceKm)) {
    return Invalid(absl::StrCat("broad bandwidth ", m.broad_bandwidth_km(), " km"));
  }
  if (m.regional() > 0 &&
      !(m.regional_bandwidth_km() > 0 && m.regional_bandwidth_km() <= geo::kHalfCircumferenceKm)) {
    return Invalid(absl::StrCat("regional bandwidth ", m.regional_bandwidth_km(), " km"));
  }
  if (entry.score_groups_size() < 1 || entry.score_groups(0).from_raw_localizability() != 0) {
    return Invalid("needs at least one score group, the first starting at 0");
  }
  int64_t total_scores = 0;
  for (int g = 0; g < entry.score_groups_size(); ++g) {
    const proto::ScoreGroup& group = entry.score_groups(g);
    if (g > 0 &&
        !(group.from_raw_localizability() > entry.score_groups(g - 1).from_raw_localizability())) {
      return Invalid(absl::StrCat("score group ", g, " does not start above group ", g - 1));
    }
    if (!(group.from_raw_localizability() >= 0 && group.from_raw_localizability() < 1)) {
      return Invalid(
          absl::StrCat("score group ", g, " starts at ", group.from_raw_localizability()));
    }
    for (int i = 0; i < group.scores_size(); ++i) {
      const double s = group.scores(i);
      if (std::isnan(s) || s == -std::numeric_limits<double>::infinity()) {
        return Invalid(absl::StrCat("score ", i, " of group ", g, " is ", s));
      }
      if (i > 0 && s < group.scores(i - 1)) {
        return Invalid(absl::StrCat("scores of group ", g, " are not sorted at ", i));
      }
    }
    total_scores += group.scores_size();
  }
  if (total_scores > entry.calibration_split().with_truth()) {
    return Invalid(absl::StrCat(total_scores, " scores from ",
                                entry.calibration_split().with_truth(), " photos with truth"));
  }
  double previous = 0;
  for (const proto::WithinModel& w : entry.within()) {
    if (!(w.threshold_km() > previous) || !std::isfinite(w.threshold_km())) {
      return Invalid(absl::StrCat("within thresholds must be positive and increasing (",
                                  w.threshold_km(), " km)"));
    }
    previous = w.threshold_km();
    GEOLOC_RETURN_IF_ERROR(
        CheckKnots(w.isotonic(), absl::StrCat("within ", w.threshold_km(), " km")));
  }
  const proto::LocalizabilityModel& l = entry.localizability();
  const auto& names = FeatureNames();
  if (l.features_size() != kNumFeatures ||
      !std::equal(names.begin(), names.end(), l.features().begin())) {
    return Invalid(absl::StrCat("localizability features [", absl::StrJoin(l.features(), ", "),
                                "] are not [", absl::StrJoin(names, ", "), "]"));
  }
  if (l.feature_mean_size() != kNumFeatures || l.feature_scale_size() != kNumFeatures ||
      l.coefficients_size() != kNumFeatures) {
    return Invalid("localizability model needs one mean, scale and coefficient per feature");
  }
  for (int j = 0; j < kNumFeatures; ++j) {
    if (!std::isfinite(l.feature_mean(j)) || !(l.feature_scale(j) > 0) ||
        !std::isfinite(l.feature_scale(j)) || !std::isfinite(l.coefficients(j))) {
      return Invalid(absl::StrCat("localizability feature ", names[j],
                                  " has a bad mean, scale "
                                  "or coefficient"));
    }
  }
  if (!std::isfinite(l.intercept()) || !(l.within_km() > 0)) {
    return Invalid("localizability intercept or within_km");
  }
  GEOLOC_RETURN_IF_ERROR(CheckKnots(l.isotonic(), "localizability"));
  return ValidateIncidentCalibrations(entry);
}

absl::Status ValidateCalibrationFile(const proto::CalibrationFile& file) {
  if (file.format_version() != kCalibrationFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("calibration format_version ",
                                                   file.format_version(), " (this build reads ",
                                                   kCalibrationFormatVersion, ")"));
  }
  if (file.model_fingerprint().empty()) {
    return absl::InvalidArgumentError("calibration has no model fingerprint");
  }
  for (int i = 0; i < file.entries_size(); ++i) {
    GEOLOC_RETURN_IF_ERROR(Annotate(ValidateEntry(file.entries(i)), absl::StrCat("entry ", i)));
    const EstimatorSettings a = *SettingsFromProto(file.entries(i).settings());
    for (int j = 0; j < i; ++j) {
      if (CheckSettings(file.entries(j).settings(), a).ok()) {
        return absl::InvalidArgumentError(absl::StrCat("calibration entries ", j, " and ", i,
                                                       " have the same settings (",
                                                       DescribeSettings(a), ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::CalibrationFile> ReadCalibrationFile(const std::string& path) {
  proto::CalibrationFile file;
  GEOLOC_RETURN_IF_ERROR(ReadJsonProtoFile(path, &file));
  GEOLOC_RETURN_IF_ERROR(Annotate(ValidateCalibrationFile(file), path));
  return file;
}

absl::Status WriteCalibrationFile(const std::string& path, const proto::CalibrationFile& file) {
  GEOLOC_RETURN_IF_ERROR(ValidateCalibrationFile(file));
  return WriteJsonProtoAtomically(path, file);
}

absl::StatusOr<const proto::CalibrationEntry*> FindEntry(const proto::CalibrationFile& file,
                                                         absl::string_view model_fingerprint,
                                                         const EstimatorSettings& settings) {
  if (file.model_fingerprint() != model_fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat("the calibration was fitted for model ",
                                                      file.model_fingerprint(), ", not ",
                                                      model_fingerprint));
  }
  std::vector<std::string> available;
  for (const proto::CalibrationEntry& entry : file.entries()) {
    if (CheckSettings(entry.settings(), settings).ok()) return &entry;
    absl::StatusOr<EstimatorSettings> s = SettingsFromProto(entry.settings());
    available.push_back(s.ok() ? DescribeSettings(*s) : "(unreadable settings)");
  }
  return absl::NotFoundError(absl::StrCat("no calibration for ", DescribeSettings(settings),
                                          "; calibrated: [", absl::StrJoin(available, "; "), "]"));
}

}  // namespace geoloc::calibration
