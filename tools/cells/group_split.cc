#include "tools/cells/group_split.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace geoloc::cells_cli {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over the bytes, then mixed with the seed: the same on every platform.
uint64_t NameKey(const std::string& name, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return SplitMix64(h ^ SplitMix64(seed));
}

uint64_t RowKey(int64_t row, uint64_t seed) {
  return SplitMix64(static_cast<uint64_t>(row) ^ SplitMix64(seed ^ 0x5a5a5a5a5a5a5a5aULL));
}

struct Group {
  uint64_t key = 0;
  int64_t first_row = 0;  // tie-break: keeps the order total and deterministic
  std::vector<int64_t> rows;
};

}  // namespace

absl::StatusOr<GroupSplit> SplitRowsByGroup(absl::Span<const std::string> groups,
                                            double val_fraction, uint64_t seed) {
  if (!(val_fraction > 0.0 && val_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation fraction ", val_fraction, " must be in (0, 1)"));
  }
  std::vector<Group> table;
  absl::flat_hash_map<std::string, size_t> by_name;
  for (int64_t row = 0; row < static_cast<int64_t>(groups.size()); ++row) {
    const std::string& name = groups[row];
    if (name.empty()) {
      table.push_back({RowKey(row, seed), row, {row}});
      continue;
    }
    auto [it, inserted] = by_name.try_emplace(name, table.size());
    if (inserted) table.push_back({NameKey(name, seed), row, {}});
    table[it->second].rows.push_back(row);
  }
  if (table.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(groups.size(), " rows in ", table.size(),
                     " group(s): a split by group needs at least 2 groups"));
  }
  std::sort(table.begin(), table.end(), [](const Group& a, const Group& b) {
    return std::tie(a.key, a.first_row) < std::tie(b.key, b.first_row);
  });
  const double target = val_fraction * static_cast<double>(groups.size());
  GroupSplit split;
  size_t taken = 0;
  int64_t val_count = 0;
  // Leave at least one group for training.
  while (taken + 1 < table.size() && static_cast<double>(val_count) < target) {
    val_count += static_cast<int64_t>(table[taken].rows.size());
    ++taken;
  }
  for (size_t g = 0; g < table.size(); ++g) {
    std::vector<int64_t>& side = g < taken ? split.val_rows : split.train_rows;
    side.insert(side.end(), table[g].rows.begin(), table[g].rows.end());
  }
  std::sort(split.val_rows.begin(), split.val_rows.end());
  std::sort(split.train_rows.begin(), split.train_rows.end());
  split.val_groups = static_cast<int64_t>(taken);
  split.train_groups = static_cast<int64_t>(table.size() - taken);
  return split;
}

}  // namespace geoloc::cells_cli
