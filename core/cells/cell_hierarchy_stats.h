// Summary figures of a cell hierarchy, for logs, reports and choosing t_min / t_max.
//
//   CellHierarchyStats stats = ComputeCellHierarchyStats(cells);
//   GEOLOC_LOG(INFO) << FormatCellHierarchyStats(stats);  // multi-line summary
//
// Pure functions; the stats are a plain value.
#ifndef GEOLOC_CORE_CELLS_CELL_HIERARCHY_STATS_H_
#define GEOLOC_CORE_CELLS_CELL_HIERARCHY_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/cells/adaptive_cell_options.h"
#include "core/cells/cell_hierarchy.h"

namespace geoloc::cells {

struct CellHierarchyStats {
  AdaptiveCellOptions options;
  int num_nodes = 0;
  int num_classes = 0;
  int depth = 0;
  // Indexed by relative level (0 = lvl_start): all cells, and the leaves among them.
  std::vector<int> cells_per_level;
  std::vector<int> leaves_per_level;
  // Points per leaf (class balance). All zero when there are no leaves; the median of an even
  // number of leaves is the mean of the two middle ones.
  int64_t leaf_points_min = 0;
  double leaf_points_median = 0.0;
  int64_t leaf_points_max = 0;
  // Leaf areas on the Earth (km^2), same conventions.
  double leaf_area_km2_min = 0.0;
  double leaf_area_km2_median = 0.0;
  double leaf_area_km2_max = 0.0;
  // Points given to the generator, the points inside kept leaves, and their ratio (0 when no
  // points): the share of the data a classifier over these classes can be trained on.
  int64_t total_points = 0;
  int64_t covered_points = 0;
  double coverage = 0.0;
};

CellHierarchyStats ComputeCellHierarchyStats(const CellHierarchy& hierarchy);

// A few lines: classes and depth, cells and leaves per level (with S2 levels), points and areas
// per leaf, coverage.
std::string FormatCellHierarchyStats(const CellHierarchyStats& stats);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_CELL_HIERARCHY_STATS_H_
