#include "core/cells/adaptive_cell_options.h"

#include "absl/strings/str_cat.h"
#include "core/cells/s2_cells.h"

namespace geoloc::cells {

absl::Status ValidateAdaptiveCellOptions(const AdaptiveCellOptions& options) {
  if (options.lvl_start < 0 || options.lvl_start > kMaxCellLevel) {
    return absl::InvalidArgumentError(absl::StrCat("lvl_start must be an S2 level in [0, ",
                                                   kMaxCellLevel, "], got ", options.lvl_start));
  }
  if (options.lvl_end < options.lvl_start || options.lvl_end > kMaxCellLevel) {
    return absl::InvalidArgumentError(absl::StrCat("lvl_end must be in [lvl_start, ", kMaxCellLevel,
                                                   "] = [", options.lvl_start, ", ", kMaxCellLevel,
                                                   "], got ", options.lvl_end));
  }
  if (options.t_min < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("t_min must be >= 0 points, got ", options.t_min));
  }
  if (options.t_max < options.t_min) {
    return absl::InvalidArgumentError(
        absl::StrCat("t_max must be >= t_min (", options.t_min, " points), got ", options.t_max));
  }
  return absl::OkStatus();
}

std::string AdaptiveCellOptionsToString(const AdaptiveCellOptions& options) {
  return absl::StrCat("lvl_start=", options.lvl_start, " lvl_end=", options.lvl_end,
                      " t_min=", options.t_min, " t_max=", options.t_max);
}

}  // namespace geoloc::cells
