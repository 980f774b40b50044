#include "server/request_options.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "proto/estimator_mapping.h"

namespace geoloc::server {
namespace {

constexpr uint32_t kIntMax = static_cast<uint32_t>(std::numeric_limits<int>::max());

// A uint32 count into an int field. Every limit is far below INT_MAX, so a value an int cannot
// hold is out of range: it gets the engine's message for its field, with the value as sent.
absl::Status SetCount(uint32_t value, const IntRange& range, int* field) {
  if (value > kIntMax) return CheckRange(range, value);
  *field = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status Copy(const geoloc::v1::LocateOptions& o, int max_k, engine::LocateParams* p) {
  if (o.k() != 0) {
    if (o.k() > kIntMax) return engine::CheckK(o.k(), max_k);
    p->k = static_cast<int>(o.k());
  }
  if (o.has_weight_exponent()) p->estimator.weight_exponent_m = o.weight_exponent();
  if (o.has_bandwidth_km()) p->estimator.bandwidth_km = o.bandwidth_km();
  if (o.has_sigma_deg()) p->estimator.sigma_deg = o.sigma_deg();
  if (o.has_merge_radius_km()) p->estimator.merge_radius_km = o.merge_radius_km();
  if (o.max_peaks() != 0) {
    GEOLOC_RETURN_IF_ERROR(SetCount(o.max_peaks(), engine::kMaxPeaksRange, &p->max_peaks));
  }
  if (o.cell_levels_size() > 0)
    p->cell_levels.assign(o.cell_levels().begin(), o.cell_levels().end());
  if (o.max_cells_per_level() != 0) {
    GEOLOC_RETURN_IF_ERROR(
        SetCount(o.max_cells_per_level(), engine::kMaxCellsPerLevelRange, &p->max_cells_per_level));
  }
  if (o.max_classifier_cells() != 0) {
    GEOLOC_RETURN_IF_ERROR(SetCount(o.max_classifier_cells(), engine::kMaxClassifierCellsRange,
                                    &p->max_classifier_cells));
  }
  p->cell_polygons = o.return_cell_polygons();
  if (o.region_levels_size() > 0) {
    p->region_levels.assign(o.region_levels().begin(), o.region_levels().end());
  }
  p->region_cells = o.return_region_cells();
  // Thumbnails travel with the neighbours only.
  p->neighbor_thumbnails = o.include_thumbnails() && o.return_neighbors();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<engine::LocateParams> ToLocateParams(const geoloc::v1::LocateOptions& o,
                                                    const engine::LocateParams& defaults,
                                                    int max_k) {
  engine::LocateParams p = defaults;
  if (o.estimator() != geoloc::v1::ESTIMATOR_UNSPECIFIED) {
    std::optional<geo::EstimatorKind> kind = api::EstimatorFromProto(o.estimator());
    if (!kind.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "estimator = ", static_cast<int>(o.estimator()), " is not a known Estimator (expected ",
          api::KnownProtoEstimators(), ", or 0 for the server's default)"));
    }
    p.estimator.kind = *kind;
  }
  // The one check of the request: the copied options and the server's defaults together.
  absl::Status st = Copy(o, max_k, &p);
  if (st.ok()) st = engine::ValidateLocateParams(p, max_k);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("options: ", st.message()));
  return p;
}

geoloc::v1::LocateOptions ToLocateOptions(const engine::LocateParams& p) {
  geoloc::v1::LocateOptions o;
  o.set_k(static_cast<uint32_t>(p.k));
  o.set_estimator(api::EstimatorToProto(p.estimator.kind));
  o.set_weight_exponent(p.estimator.weight_exponent_m);
  o.set_bandwidth_km(p.estimator.bandwidth_km);
  o.set_sigma_deg(p.estimator.sigma_deg);
  o.set_merge_radius_km(geo::EffectiveMergeRadiusKm(p.estimator));
  o.set_max_peaks(static_cast<uint32_t>(p.max_peaks));
  for (int level : p.cell_levels) o.add_cell_levels(level);
  o.set_max_cells_per_level(static_cast<uint32_t>(p.max_cells_per_level));
  o.set_max_classifier_cells(static_cast<uint32_t>(p.max_classifier_cells));
  for (double level : p.region_levels) o.add_region_levels(level);
  return o;
}

}  // namespace geoloc::server
