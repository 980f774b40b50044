#include "core/geo/estimator_options.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/geo/neighbor_weights.h"

namespace geoloc {
namespace geo {
namespace {

// Written so that NaN fails every check (comparisons with NaN are false).
bool InClosed(double x, double lo, double hi) { return x >= lo && x <= hi; }

absl::Status RangeError(absl::string_view field, double value, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("estimator option ", field, " = ", value, " is not in ", range));
}

}  // namespace

absl::string_view EstimatorName(EstimatorKind kind) {
  switch (kind) {
    case EstimatorKind::kNearest:
      return "nearest";
    case EstimatorKind::kMean:
      return "mean";
    case EstimatorKind::kWeightedMean:
      return "weighted_mean";
    case EstimatorKind::kGridKde:
      return "grid_kde";
    case EstimatorKind::kSphericalKde:
      return "spherical_kde";
  }
  return "unknown";
}

absl::StatusOr<EstimatorKind> ParseEstimatorKind(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "nearest" || lower == "1nn") return EstimatorKind::kNearest;
  if (lower == "mean") return EstimatorKind::kMean;
  if (lower == "weighted_mean") return EstimatorKind::kWeightedMean;
  if (lower == "grid_kde") return EstimatorKind::kGridKde;
  if (lower == "spherical_kde" || lower == "kde") return EstimatorKind::kSphericalKde;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown estimator '", name,
      "'; expected one of: nearest (1nn), mean, weighted_mean, grid_kde, spherical_kde (kde)"));
}

absl::Status ValidateEstimatorOptions(const EstimatorOptions& o) {
  switch (o.kind) {
    case EstimatorKind::kNearest:
    case EstimatorKind::kMean:
    case EstimatorKind::kWeightedMean:
    case EstimatorKind::kGridKde:
    case EstimatorKind::kSphericalKde:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("estimator kind ", static_cast<int>(o.kind), " does not exist"));
  }
  if (!InClosed(o.weight_exponent_m, 0, kMaxWeightExponent)) {
    return RangeError("weight_exponent_m", o.weight_exponent_m, "[0, 50]");
  }
  if (!(o.sigma_deg > 0) || !(o.sigma_deg <= 45)) {
    return RangeError("sigma_deg", o.sigma_deg, "(0, 45] degrees");
  }
  if (o.grid_b < 1 || o.grid_b > 10) return RangeError("grid_b", o.grid_b, "[1, 10]");
  if (o.grid_n < 1 || o.grid_n > 10) return RangeError("grid_n", o.grid_n, "[1, 10]");
  if (!InClosed(o.bandwidth_km, 0.001, 20000)) {
    return RangeError("bandwidth_km", o.bandwidth_km, "[0.001, 20000] km");
  }
  if (!InClosed(o.merge_radius_km, 0, 20015)) {
    return RangeError("merge_radius_km", o.merge_radius_km, "[0, 20015] km (0: = bandwidth_km)");
  }
  if (!(o.mass_share > 0) || !(o.mass_share < 1)) {
    return RangeError("mass_share", o.mass_share, "(0, 1)");
  }
  if (o.max_iterations < 1 || o.max_iterations > 100000) {
    return RangeError("max_iterations", o.max_iterations, "[1, 100000]");
  }
  if (o.max_peaks < 0) return RangeError("max_peaks", o.max_peaks, "[0, inf) (0: all)");
  return absl::OkStatus();
}

double EffectiveMergeRadiusKm(const EstimatorOptions& options) {
  return options.merge_radius_km > 0 ? options.merge_radius_km : options.bandwidth_km;
}

}  // namespace geo
}  // namespace geoloc
