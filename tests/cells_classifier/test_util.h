// Helpers shared by the cell classifier tests: cells by token and hierarchies built by hand.
#ifndef GEOLOC_TESTS_CELLS_CLASSIFIER_TEST_UTIL_H_
#define GEOLOC_TESTS_CELLS_CLASSIFIER_TEST_UTIL_H_

#include <string>
#include <vector>

#include "core/cells/cell_hierarchy.h"
#include "core/cells/s2_cells.h"
#include "gtest/gtest.h"

namespace geoloc::cells_cli::testing {

inline cells::CellId Cell(const char* token) {
  absl::StatusOr<cells::CellId> id = cells::CellFromToken(token);
  EXPECT_TRUE(id.ok()) << token;
  return id.ok() ? *id : cells::kNoCell;
}

// The hierarchy of docs/CELLS.md's JSON example, derived by hand:
//
//   level 0:  "1" (30, split)                       "3" (5, leaf: class 2)
//   level 1:  "04" (20, split)   "1c" (6, leaf: class 1)
//   level 2:  "01" (12, leaf: class 0)
//
// Leaves by increasing id: "01" < "1c" < "3", so classes 0, 1, 2. depth 3; cells per level 2, 2, 1
// (rows in increasing id: level 0 ["1", "3"], level 1 ["04", "1c"], level 2 ["01"]).
inline cells::CellHierarchy TinyHierarchy() {
  cells::AdaptiveCellOptions options;
  options.lvl_start = 0;
  options.lvl_end = 2;
  options.t_min = 2;
  options.t_max = 10;
  absl::StatusOr<cells::CellHierarchy> h = cells::CellHierarchy::Create(
      options, 40,
      {{Cell("1"), 30}, {Cell("3"), 5}, {Cell("04"), 20}, {Cell("1c"), 6}, {Cell("01"), 12}});
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? *h : cells::CellHierarchy();
}

}  // namespace geoloc::cells_cli::testing

#endif  // GEOLOC_TESTS_CELLS_CLASSIFIER_TEST_UTIL_H_
