#include "server/request_options.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace geoloc::server {
namespace {

using geoloc::v1::Estimator;

// proto3 enums are open: a caller may send any int32 in the estimator field.
absl::StatusOr<geo::EstimatorKind> FromProtoEstimator(Estimator e, geo::EstimatorKind fallback) {
  switch (e) {
    case geoloc::v1::ESTIMATOR_UNSPECIFIED:
      return fallback;
    case geoloc::v1::ESTIMATOR_NEAREST:
      return geo::EstimatorKind::kNearest;
    case geoloc::v1::ESTIMATOR_MEAN:
      return geo::EstimatorKind::kMean;
    case geoloc::v1::ESTIMATOR_WEIGHTED_MEAN:
      return geo::EstimatorKind::kWeightedMean;
    case geoloc::v1::ESTIMATOR_GRID_KDE:
      return geo::EstimatorKind::kGridKde;
    case geoloc::v1::ESTIMATOR_SPHERICAL_KDE:
      return geo::EstimatorKind::kSphericalKde;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "estimator = ", static_cast<int>(e),
          " is not a known Estimator (expected 1 to 5, or 0 for the server's default)"));
  }
}

// `value` is formatted by the caller: integers must print in full, not as "2.14748e+09".
absl::Status OutOfRange(absl::string_view option, absl::string_view value,
                        absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat(option, " = ", value, " is out of range (allowed: ", range, ")"));
}

// A double option the caller set: finite and within [lo, hi] (or (lo, hi] when lo_open).
absl::Status CheckDouble(absl::string_view option, double value, double lo, double hi, bool lo_open,
                         absl::string_view range) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " = ", value, " must be a finite number (allowed: ", range, ")"));
  }
  const bool above_lo = lo_open ? value > lo : value >= lo;
  if (!above_lo || value > hi) return OutOfRange(option, absl::StrCat(value), range);
  return absl::OkStatus();
}

// A count option the caller set (non-zero): at most `hi`. Checked on the uint32 itself, before any
// conversion to int, so values above INT_MAX cannot wrap into range.
absl::Status CheckCount(absl::string_view option, uint32_t value, uint32_t hi) {
  if (value > hi) return OutOfRange(option, absl::StrCat(value), absl::StrCat("1 to ", hi));
  return absl::OkStatus();
}

}  // namespace

geoloc::v1::Estimator ToProtoEstimator(geo::EstimatorKind kind) {
  switch (kind) {
    case geo::EstimatorKind::kNearest:
      return geoloc::v1::ESTIMATOR_NEAREST;
    case geo::EstimatorKind::kMean:
      return geoloc::v1::ESTIMATOR_MEAN;
    case geo::EstimatorKind::kWeightedMean:
      return geoloc::v1::ESTIMATOR_WEIGHTED_MEAN;
    case geo::EstimatorKind::kGridKde:
      return geoloc::v1::ESTIMATOR_GRID_KDE;
    case geo::EstimatorKind::kSphericalKde:
      return geoloc::v1::ESTIMATOR_SPHERICAL_KDE;
  }
  return geoloc::v1::ESTIMATOR_UNSPECIFIED;
}

absl::StatusOr<engine::LocateParams> ToLocateParams(const geoloc::v1::LocateOptions& o,
                                                    const engine::LocateParams& defaults,
                                                    int max_k) {
  engine::LocateParams p = defaults;
  if (o.k() != 0) {
    if (max_k < 1 || o.k() > static_cast<uint32_t>(max_k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("k = ", o.k(), " exceeds this server's limit of ", max_k));
    }
    p.k = static_cast<int>(o.k());
  }

  absl::StatusOr<geo::EstimatorKind> kind = FromProtoEstimator(o.estimator(), p.estimator.kind);
  if (!kind.ok()) return kind.status();
  p.estimator.kind = *kind;

  // The ranges of geo::ValidateEstimatorOptions, checked here to name the API's options.
  if (o.has_weight_exponent()) {
    absl::Status st = CheckDouble("weight_exponent", o.weight_exponent(), 0, 50, false, "0 to 50");
    if (!st.ok()) return st;
    p.estimator.weight_exponent_m = o.weight_exponent();
  }
  if (o.has_bandwidth_km()) {
    absl::Status st =
        CheckDouble("bandwidth_km", o.bandwidth_km(), 0.001, 20000, false, "0.001 to 20000 km");
    if (!st.ok()) return st;
    p.estimator.bandwidth_km = o.bandwidth_km();
  }
  if (o.has_sigma_deg()) {
    absl::Status st =
        CheckDouble("sigma_deg", o.sigma_deg(), 0, 45, true, "above 0, up to 45 degrees");
    if (!st.ok()) return st;
    p.estimator.sigma_deg = o.sigma_deg();
  }
  if (o.has_merge_radius_km()) {
    absl::Status st = CheckDouble("merge_radius_km", o.merge_radius_km(), 0, 20015, false,
                                  "0 to 20015 km; 0: the bandwidth");
    if (!st.ok()) return st;
    p.estimator.merge_radius_km = o.merge_radius_km();
  }

  // The ranges of engine::ValidateLocateParams.
  if (o.max_peaks() != 0) {
    if (absl::Status st = CheckCount("max_peaks", o.max_peaks(), 100); !st.ok()) return st;
    p.max_peaks = static_cast<int>(o.max_peaks());
  }
  if (o.cell_levels_size() > 0) {
    if (o.cell_levels_size() > 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell_levels: ", o.cell_levels_size(), " levels requested (at most 8)"));
    }
    for (int i = 0; i < o.cell_levels_size(); ++i) {
      const int level = o.cell_levels(i);
      if (level < 0 || level > 30) {
        return OutOfRange(absl::StrCat("cell_levels[", i, "]"), absl::StrCat(level), "0 to 30");
      }
    }
    p.cell_levels.assign(o.cell_levels().begin(), o.cell_levels().end());
  }
  if (o.max_cells_per_level() != 0) {
    absl::Status st = CheckCount("max_cells_per_level", o.max_cells_per_level(), 100);
    if (!st.ok()) return st;
    p.max_cells_per_level = static_cast<int>(o.max_cells_per_level());
  }
  if (o.max_classifier_cells() != 0) {
    absl::Status st = CheckCount("max_classifier_cells", o.max_classifier_cells(), 1000);
    if (!st.ok()) return st;
    p.max_classifier_cells = static_cast<int>(o.max_classifier_cells());
  }
  p.cell_polygons = o.return_cell_polygons();

  // The combination (and the server's defaults) must satisfy the engine's own rules as well.
  absl::Status st = engine::ValidateLocateParams(p, max_k);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("options: ", st.message()));
  return p;
}

geoloc::v1::LocateOptions ToLocateOptions(const engine::LocateParams& p) {
  geoloc::v1::LocateOptions o;
  o.set_k(static_cast<uint32_t>(p.k));
  o.set_estimator(ToProtoEstimator(p.estimator.kind));
  o.set_weight_exponent(p.estimator.weight_exponent_m);
  o.set_bandwidth_km(p.estimator.bandwidth_km);
  o.set_sigma_deg(p.estimator.sigma_deg);
  o.set_merge_radius_km(geo::EffectiveMergeRadiusKm(p.estimator));
  o.set_max_peaks(static_cast<uint32_t>(p.max_peaks));
  for (int level : p.cell_levels) o.add_cell_levels(level);
  o.set_max_cells_per_level(static_cast<uint32_t>(p.max_cells_per_level));
  o.set_max_classifier_cells(static_cast<uint32_t>(p.max_classifier_cells));
  return o;
}

}  // namespace geoloc::server
