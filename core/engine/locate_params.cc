#include "core/engine/locate_params.h"

#include "absl/strings/str_cat.h"

namespace geoloc::engine {
namespace {

absl::Status OutOfRange(absl::string_view field, double value, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, " = ", value, " is out of range (allowed: ", range, ")"));
}

}  // namespace

absl::Status ValidateLocateParams(const LocateParams& p, int max_k) {
  if (p.k < 1 || p.k > max_k) return OutOfRange("k", p.k, absl::StrCat("1 to ", max_k));
  if (p.max_peaks < 1 || p.max_peaks > 100) return OutOfRange("max_peaks", p.max_peaks, "1 to 100");
  if (p.cell_levels.size() > 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(p.cell_levels.size(), " cell levels requested (at most 8)"));
  }
  for (int level : p.cell_levels) {
    if (level < 0 || level > 30) return OutOfRange("cell level", level, "0 to 30");
  }
  if (p.max_cells_per_level < 1 || p.max_cells_per_level > 100) {
    return OutOfRange("max_cells_per_level", p.max_cells_per_level, "1 to 100");
  }
  if (p.polygon_points_per_edge < 1 || p.polygon_points_per_edge > 64) {
    return OutOfRange("polygon_points_per_edge", p.polygon_points_per_edge, "1 to 64");
  }
  if (p.max_classifier_cells < 0 || p.max_classifier_cells > 1000) {
    return OutOfRange("max_classifier_cells", p.max_classifier_cells, "0 to 1000");
  }
  if (p.nprobe < 0) return OutOfRange("nprobe", p.nprobe, ">= 0");
  if (p.ef_search < 0) return OutOfRange("ef_search", p.ef_search, ">= 0");
  return geo::ValidateEstimatorOptions(p.estimator);
}

}  // namespace geoloc::engine
