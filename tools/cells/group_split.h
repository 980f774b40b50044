// Training / validation split by group: all rows of one group (e.g. the views of one place, the
// photos of one author) land on the same side, so validation measures places the head has never
// seen instead of near-duplicates of training photos.
//
//   std::vector<std::string> groups = ...;  // per row; "" = the row is its own group
//   GEOLOC_ASSIGN_OR_RETURN(GroupSplit split, SplitRowsByGroup(groups, 0.2, /*seed=*/0));
//
// How: every group gets a pseudo-random key from (seed, its name) (rows without a group: from
// (seed, their row index)); groups are taken in key order into the validation side until it holds
// at least val_fraction of the rows; the rest is training. The result depends only on the groups,
// the fraction and the seed (not on row order beyond the ungrouped rows' indices, not on the
// platform).
//   | input                                   | result                                        |
//   | val_fraction outside (0, 1)             | INVALID_ARGUMENT                              |
//   | fewer than 2 groups                     | INVALID_ARGUMENT (nothing to validate on)     |
//   | the fraction would take every group     | the last group stays in training, so both     |
//   |                                         | sides are non-empty                           |
// Pure function: thread-safe.
#ifndef GEOLOC_TOOLS_CELLS_GROUP_SPLIT_H_
#define GEOLOC_TOOLS_CELLS_GROUP_SPLIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::cells_cli {

struct GroupSplit {
  std::vector<int64_t> train_rows;  // increasing indices into the input
  std::vector<int64_t> val_rows;    // increasing
  int64_t train_groups = 0;
  int64_t val_groups = 0;
};

absl::StatusOr<GroupSplit> SplitRowsByGroup(absl::Span<const std::string> groups,
                                            double val_fraction, uint64_t seed);

}  // namespace geoloc::cells_cli

#endif  // GEOLOC_TOOLS_CELLS_GROUP_SPLIT_H_
