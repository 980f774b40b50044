#include "core/cells/adaptive_cells.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/cells/s2_cells.h"
#include "core/common/status_macros.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {
namespace {

// A created cell and the slice [begin, end) of the sorted leaf ids that lie inside it.
struct Slice {
  CellId id;
  size_t begin;
  size_t end;
  int64_t count() const { return static_cast<int64_t>(end - begin); }
};

}  // namespace

absl::StatusOr<CellHierarchy> GenerateAdaptiveCells(absl::Span<const geo::LatLon> points,
                                                    const AdaptiveCellOptions& options) {
  GEOLOC_RETURN_IF_ERROR(ValidateAdaptiveCellOptions(options));
  if (points.empty()) {
    return absl::InvalidArgumentError("adaptive cells need at least one point, got none");
  }

  // Each point's leaf cell, computed once: a cell's points are then the contiguous run of sorted
  // ids within [CellRangeMin, CellRangeMax], found by binary search at every level.
  std::vector<CellId> leaves(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    leaves[i] = CellIdAt(points[i], kMaxCellLevel);
    if (leaves[i] == kNoCell) {
      const absl::Status invalid = geo::ValidateLatLon(points[i]);
      return Annotate(
          invalid.ok() ? absl::InvalidArgumentError("no S2 cell") : invalid,
          absl::StrCat("adaptive cells: points[", i, "] = ", geo::FormatLatLon(points[i])));
    }
  }
  std::sort(leaves.begin(), leaves.end());
  const auto first = leaves.begin();

  // Roots: the lvl_start cells that hold points, in increasing id.
  std::vector<Slice> level_cells;
  for (size_t pos = 0; pos < leaves.size();) {
    const CellId root = CellParent(leaves[pos], options.lvl_start);
    const size_t end = std::upper_bound(first + pos, leaves.end(), CellRangeMax(root)) - first;
    level_cells.push_back({root, pos, end});
    pos = end;
  }

  std::vector<CellCount> kept;
  for (int level = options.lvl_start;; ++level) {
    std::vector<Slice> next_level;
    for (const Slice& cell : level_cells) {
      if (cell.count() >= options.t_min) kept.push_back({cell.id, cell.count()});
      if (level == options.lvl_end || cell.count() <= options.t_max) continue;
      // The four children partition the parent's id range in order, so each child's run starts
      // where the previous one ended.
      size_t pos = cell.begin;
      for (CellId child : CellChildren(cell.id)) {
        const size_t end =
            std::upper_bound(first + pos, first + cell.end, CellRangeMax(child)) - first;
        if (end > pos) next_level.push_back({child, pos, end});
        pos = end;
      }
    }
    if (next_level.empty()) break;
    level_cells = std::move(next_level);
  }

  if (kept.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("adaptive cells: every cell holds fewer than t_min = ", options.t_min,
                     " of the ", points.size(), " points, so no class is left; lower t_min (",
                     AdaptiveCellOptionsToString(options), ")"));
  }
  // Counts shrink from parent to child, so a dropped cell's descendants were dropped as well and
  // `kept` is closed under parents, as Create requires.
  return CellHierarchy::Create(options, static_cast<int64_t>(points.size()), std::move(kept));
}

}  // namespace geoloc::cells
