// Settings of the adaptive cell generation (seed 001, Algorithm 1), shared by the generator and the
// hierarchy that records them.
//
//   AdaptiveCellOptions options;  // defaults: lvl_start 2, lvl_end 15, t_min 50, t_max 1000
//   options.t_min = 5000, options.t_max = 40000;  // the seed's 50-class setting on ~970k images
//
// A plain value type. Everything that takes options validates them (ValidateAdaptiveCellOptions).
#ifndef GEOLOC_CORE_CELLS_ADAPTIVE_CELL_OPTIONS_H_
#define GEOLOC_CORE_CELLS_ADAPTIVE_CELL_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace geoloc::cells {

struct AdaptiveCellOptions {
  // S2 level of the roots: every non-empty cell at this level starts the forest.
  int lvl_start = 2;
  // Deepest S2 level a split may create.
  int lvl_end = 15;
  // A cell with fewer points is dropped at the end (with everything below it).
  int64_t t_min = 50;
  // A cell with more points is split into its children (while its level < lvl_end).
  int64_t t_max = 1000;

  friend bool operator==(const AdaptiveCellOptions& a, const AdaptiveCellOptions& b) {
    return a.lvl_start == b.lvl_start && a.lvl_end == b.lvl_end && a.t_min == b.t_min &&
           a.t_max == b.t_max;
  }
  friend bool operator!=(const AdaptiveCellOptions& a, const AdaptiveCellOptions& b) {
    return !(a == b);
  }
};

// OK when 0 <= lvl_start <= lvl_end <= 30 and 0 <= t_min <= t_max; otherwise INVALID_ARGUMENT
// naming the offending field and value.
absl::Status ValidateAdaptiveCellOptions(const AdaptiveCellOptions& options);

// "lvl_start=2 lvl_end=15 t_min=50 t_max=1000", for logs and error messages.
std::string AdaptiveCellOptionsToString(const AdaptiveCellOptions& options);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_ADAPTIVE_CELL_OPTIONS_H_
