#include "core/engine/locate_params.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc::engine {

absl::Status CheckK(int64_t k, int max_k) {
  const IntRange range{"k", 1, max_k};
  if (k > max_k && max_k >= 1) {
    return absl::InvalidArgumentError(absl::StrCat("k = ", k, " exceeds the limit of ", max_k,
                                                   " (allowed: ", DescribeRange(range), ")"));
  }
  return CheckRange(range, k);
}

absl::Status ValidateLocateParams(const LocateParams& p, int max_k) {
  if (max_k < 1 || max_k > kMaxK) {
    return absl::InvalidArgumentError(
        absl::StrCat("the limit of k is ", max_k, " (allowed: 1 to ", kMaxK, ")"));
  }
  GEOLOC_RETURN_IF_ERROR(CheckK(p.k, max_k));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMaxPeaksRange, p.max_peaks));
  if (p.cell_levels.size() > static_cast<size_t>(kMaxCellLevels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cell_levels: ", p.cell_levels.size(), " levels requested (at most ", kMaxCellLevels, ")"));
  }
  for (size_t i = 0; i < p.cell_levels.size(); ++i) {
    if (InRange(kCellLevelRange, p.cell_levels[i])) continue;
    const std::string name = absl::StrCat(kCellLevelRange.name, "[", i, "]");
    return CheckRange(IntRange{name, kCellLevelRange.min, kCellLevelRange.max}, p.cell_levels[i]);
  }
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMaxCellsPerLevelRange, p.max_cells_per_level));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kPolygonPointsPerEdgeRange, p.polygon_points_per_edge));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kMaxClassifierCellsRange, p.max_classifier_cells));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kNprobeRange, p.nprobe));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kEfSearchRange, p.ef_search));
  if (p.region_levels.size() > static_cast<size_t>(kMaxRegionLevels)) {
    return absl::InvalidArgumentError(absl::StrCat("region_levels: ", p.region_levels.size(),
                                                   " levels requested (at most ",
                                                   kMaxRegionLevels, ")"));
  }
  for (size_t i = 0; i < p.region_levels.size(); ++i) {
    const std::string name = absl::StrCat(kRegionLevelRange.name, "[", i, "]");
    RealRange range = kRegionLevelRange;
    range.name = name;
    GEOLOC_RETURN_IF_ERROR(CheckRange(range, p.region_levels[i]));
    if (i > 0 && !(p.region_levels[i] > p.region_levels[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat("region_levels must increase: ", name, " = ",
                                                     p.region_levels[i], " follows ",
                                                     p.region_levels[i - 1]));
    }
  }
  GEOLOC_RETURN_IF_ERROR(CheckRange(kRegionCellsPerLevelRange, p.region_cells_per_level));
  GEOLOC_RETURN_IF_ERROR(CheckRange(kAbstainBelowRange, p.abstain_below));
  GEOLOC_RETURN_IF_ERROR(geo::ValidateSearchAreaValues(p.area));
  return geo::ValidateEstimatorOptions(p.estimator);
}

}  // namespace geoloc::engine
