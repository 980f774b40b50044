#include "core/engine/cell_confidence.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace geoloc::engine {

CellConfidence DescribeCell(cells::CellId id, double weight_share, bool with_polygon,
                            int points_per_edge) {
  CellConfidence c;
  c.id = id;
  c.token = cells::CellToken(id);
  c.level = cells::CellLevel(id);
  c.weight_share = weight_share;
  c.center = cells::CellCenter(id);
  if (with_polygon) c.polygon = cells::CellVertices(id, points_per_edge);
  return c;
}

absl::StatusOr<std::vector<CellConfidence>> RetrievalCellConfidences(
    absl::Span<const geo::LatLon> positions, absl::Span<const double> weights,
    absl::Span<const int> levels, int max_per_level, bool with_polygons, int points_per_edge) {
  if (positions.size() != weights.size()) {
    return absl::InvalidArgumentError(absl::StrCat(positions.size(), " positions but ",
                                                   weights.size(), " weights"));
  }
  std::vector<CellConfidence> out;
  // Leaf (level-30) cells are computed once; every level's cell is an ancestor of them.
  std::vector<cells::CellId> leaves(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) {
    leaves[i] = cells::CellIdAt(positions[i], cells::kMaxCellLevel);
  }
  for (int level : levels) {
    if (level < 0 || level > cells::kMaxCellLevel) {
      return absl::InvalidArgumentError(absl::StrCat("cell level ", level, " is outside [0, 30]"));
    }
    absl::flat_hash_map<cells::CellId, double> mass;
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (leaves[i] == cells::kNoCell) continue;
      mass[cells::CellParent(leaves[i], level)] += weights[i];
    }
    std::vector<std::pair<cells::CellId, double>> ranked(mass.begin(), mass.end());
    const size_t keep = std::min<size_t>(ranked.size(), static_cast<size_t>(max_per_level));
    std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                      [](const auto& a, const auto& b) {
                        return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    for (size_t i = 0; i < keep; ++i) {
      out.push_back(DescribeCell(ranked[i].first, ranked[i].second, with_polygons,
                                 points_per_edge));
    }
  }
  return out;
}

}  // namespace geoloc::engine
