#include "core/geo/estimator_options.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc {
namespace geo {
namespace {

// The one table of estimator names (EstimatorKind order).
constexpr EstimatorNames kEstimators[] = {
    {EstimatorKind::kNearest, "nearest", "1nn"},
    {EstimatorKind::kMean, "mean", "mean"},
    {EstimatorKind::kWeightedMean, "weighted_mean", "weighted_mean"},
    {EstimatorKind::kGridKde, "grid_kde", "grid_kde"},
    {EstimatorKind::kSphericalKde, "spherical_kde", "kde"},
};

const EstimatorNames* Find(EstimatorKind kind) {
  for (const EstimatorNames& e : kEstimators) {
    if (e.kind == kind) return &e;
  }
  return nullptr;
}

}  // namespace

absl::Span<const EstimatorNames> AllEstimators() { return kEstimators; }

absl::string_view EstimatorName(EstimatorKind kind) {
  const EstimatorNames* e = Find(kind);
  return e != nullptr ? e->name : "unknown";
}

absl::string_view EstimatorShortName(EstimatorKind kind) {
  const EstimatorNames* e = Find(kind);
  return e != nullptr ? e->short_name : "unknown";
}

absl::StatusOr<EstimatorKind> ParseEstimatorKind(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const EstimatorNames& e : kEstimators) {
    if (lower == e.name || lower == e.short_name) return e.kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown estimator '", name, "'; expected one of: ", EstimatorNameList()));
}

std::string EstimatorNameList() {
  std::string out;
  for (const EstimatorNames& e : kEstimators) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", e.name);
    if (e.short_name != e.name) absl::StrAppend(&out, " (", e.short_name, ")");
  }
  return out;
}

absl::Status ValidateEstimatorOptions(const EstimatorOptions& o) {
  if (Find(o.kind) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("estimator kind ", static_cast<int>(o.kind), " does not exist"));
  }
  GEOLOC_RETURN_IF_ERROR(CheckRange(kWeightExponentRange, o.weight_exponent_m));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kSigmaDegRange, o.sigma_deg));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kGridBRange, o.grid_b));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kGridNRange, o.grid_n));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kBandwidthKmRange, o.bandwidth_km));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMergeRadiusKmRange, o.merge_radius_km));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMassShareRange, o.mass_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMaxIterationsRange, o.max_iterations));
  return CheckRange(kEstimatorMaxPeaksRange, o.max_peaks);
}

double EffectiveMergeRadiusKm(const EstimatorOptions& options) {
  return options.merge_radius_km > 0 ? options.merge_radius_km : options.bandwidth_km;
}

}  // namespace geo
}  // namespace geoloc
