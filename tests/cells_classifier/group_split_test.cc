// The split by group (tools/cells/group_split.h): no group on both sides, the fraction, rows
// without a group, determinism, errors.
#include "tools/cells/group_split.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace geoloc::cells_cli {
namespace {

// 300 places with 1 to 5 views each, and 40 rows without a group, in shuffled order.
std::vector<std::string> MixedGroups(uint32_t seed) {
  std::vector<std::string> groups;
  for (int place = 0; place < 300; ++place) {
    for (int v = 0; v <= place % 5; ++v) groups.push_back(absl::StrCat("place-", place));
  }
  for (int i = 0; i < 40; ++i) groups.push_back("");
  std::mt19937 rng(seed);
  std::shuffle(groups.begin(), groups.end(), rng);
  return groups;
}

TEST(GroupSplitTest, NoGroupOnBothSidesAndEveryRowOnce) {
  const std::vector<std::string> groups = MixedGroups(1);
  for (uint64_t seed : {0u, 1u, 2u, 17u}) {
    for (double fraction : {0.05, 0.2, 0.5, 0.9}) {
      absl::StatusOr<GroupSplit> split = SplitRowsByGroup(groups, fraction, seed);
      ASSERT_TRUE(split.ok()) << split.status();
      std::set<std::string> train_groups, val_groups;
      for (int64_t r : split->train_rows) {
        if (!groups[r].empty()) train_groups.insert(groups[r]);
      }
      for (int64_t r : split->val_rows) {
        if (!groups[r].empty()) val_groups.insert(groups[r]);
      }
      for (const std::string& g : val_groups) {
        EXPECT_EQ(train_groups.count(g), 0u) << g << " on both sides (seed " << seed << ")";
      }
      // Every row exactly once, both lists increasing.
      std::vector<int64_t> all = split->train_rows;
      all.insert(all.end(), split->val_rows.begin(), split->val_rows.end());
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), groups.size());
      for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int64_t>(i));
      EXPECT_TRUE(std::is_sorted(split->val_rows.begin(), split->val_rows.end()));
      // The validation side reaches the fraction and overshoots by less than one group (<= 5).
      const double target = fraction * groups.size();
      EXPECT_GE(static_cast<double>(split->val_rows.size()), target);
      EXPECT_LT(static_cast<double>(split->val_rows.size()), target + 5);
      // Group counts: named groups plus one per ungrouped row.
      int64_t ungrouped_val = 0;
      for (int64_t r : split->val_rows) ungrouped_val += groups[r].empty() ? 1 : 0;
      EXPECT_EQ(split->val_groups, static_cast<int64_t>(val_groups.size()) + ungrouped_val);
      EXPECT_EQ(split->train_groups + split->val_groups, 300 + 40);
    }
  }
}

TEST(GroupSplitTest, DependsOnGroupsAndSeedNotOnTheOrderOfNamedRows) {
  std::vector<std::string> a;
  for (int place = 0; place < 100; ++place) {
    for (int v = 0; v < 3; ++v) a.push_back(absl::StrCat("p", place));
  }
  std::vector<std::string> b = a;
  std::reverse(b.begin(), b.end());
  auto val_groups = [](const std::vector<std::string>& g, uint64_t seed) {
    GroupSplit s = *SplitRowsByGroup(g, 0.3, seed);
    std::set<std::string> out;
    for (int64_t r : s.val_rows) out.insert(g[r]);
    return out;
  };
  EXPECT_EQ(val_groups(a, 5), val_groups(b, 5));
  EXPECT_EQ(val_groups(a, 5), val_groups(a, 5));
  EXPECT_NE(val_groups(a, 5), val_groups(a, 6));
}

TEST(GroupSplitTest, RowsWithoutAGroupAreTheirOwnGroups) {
  const std::vector<std::string> groups(10, "");
  absl::StatusOr<GroupSplit> split = SplitRowsByGroup(groups, 0.3, 0);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->val_rows.size(), 3u);
  EXPECT_EQ(split->train_rows.size(), 7u);
  EXPECT_EQ(split->val_groups, 3);
  EXPECT_EQ(split->train_groups, 7);
}

TEST(GroupSplitTest, KeepsBothSidesAndRejectsWhatCannotBeSplit) {
  // Two groups and a fraction that would take both: one stays for training.
  const std::vector<std::string> two = {"a", "a", "b", "b"};
  absl::StatusOr<GroupSplit> split = SplitRowsByGroup(two, 0.99, 3);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->val_rows.size(), 2u);
  EXPECT_EQ(split->train_rows.size(), 2u);
  EXPECT_EQ(SplitRowsByGroup({"a", "a", "a"}, 0.2, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitRowsByGroup({}, 0.2, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitRowsByGroup(two, 0.0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitRowsByGroup(two, 1.0, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::cells_cli
