#include "core/cells/cell_hierarchy_stats.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace geoloc::cells {
namespace {

// Median of a non-empty vector (sorted in place).
template <typename T>
double Median(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? static_cast<double>(values[n / 2])
                    : (static_cast<double>(values[n / 2 - 1]) + values[n / 2]) / 2.0;
}

}  // namespace

CellHierarchyStats ComputeCellHierarchyStats(const CellHierarchy& hierarchy) {
  CellHierarchyStats stats;
  stats.options = hierarchy.options();
  stats.num_nodes = hierarchy.num_nodes();
  stats.num_classes = hierarchy.num_classes();
  stats.depth = hierarchy.depth();
  stats.cells_per_level.assign(stats.depth, 0);
  stats.leaves_per_level.assign(stats.depth, 0);
  for (const CellNode& node : hierarchy.nodes()) {
    const int level = node.level - hierarchy.options().lvl_start;
    ++stats.cells_per_level[level];
    if (node.is_leaf()) ++stats.leaves_per_level[level];
  }
  stats.total_points = hierarchy.total_points();
  if (stats.num_classes > 0) {
    std::vector<int64_t> points;
    std::vector<double> areas;
    points.reserve(stats.num_classes);
    areas.reserve(stats.num_classes);
    for (int k = 0; k < stats.num_classes; ++k) {
      points.push_back(hierarchy.leaf_node(k).count);
      areas.push_back(CellAreaKm2(hierarchy.leaf_node(k).id));
      stats.covered_points += points.back();
    }
    stats.leaf_points_median = Median(points);
    stats.leaf_points_min = points.front();
    stats.leaf_points_max = points.back();
    stats.leaf_area_km2_median = Median(areas);
    stats.leaf_area_km2_min = areas.front();
    stats.leaf_area_km2_max = areas.back();
  }
  if (stats.total_points > 0) {
    stats.coverage = static_cast<double>(stats.covered_points) / stats.total_points;
  }
  return stats;
}

std::string FormatCellHierarchyStats(const CellHierarchyStats& stats) {
  const AdaptiveCellOptions& options = stats.options;
  std::vector<std::string> levels;
  for (int i = 0; i < stats.depth; ++i) {
    levels.push_back(absl::StrCat("L", options.lvl_start + i, ": ", stats.cells_per_level[i], " (",
                                  stats.leaves_per_level[i], " leaves)"));
  }
  return absl::StrFormat(
      "cell hierarchy (%s): %d classes, %d cells, depth %d\n"
      "  cells per S2 level: %s\n"
      "  points per class: min %d, median %.1f, max %d\n"
      "  area per class: min %.4g km2, median %.4g km2, max %.4g km2\n"
      "  coverage: %d of %d points in a class (%.2f%%)",
      AdaptiveCellOptionsToString(options), stats.num_classes, stats.num_nodes, stats.depth,
      levels.empty() ? std::string("none") : absl::StrJoin(levels, ", "), stats.leaf_points_min,
      stats.leaf_points_median, stats.leaf_points_max, stats.leaf_area_km2_min,
      stats.leaf_area_km2_median, stats.leaf_area_km2_max, stats.covered_points, stats.total_points,
      100.0 * stats.coverage);
}

}  // namespace geoloc::cells
