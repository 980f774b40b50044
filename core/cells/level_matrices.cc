#include "core/cells/level_matrices.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace geoloc::cells {
namespace {

int RelativeLevel(const CellHierarchy& h, const CellNode& node) {
  return node.level - h.options().lvl_start;
}

// Row of every node within its level (nodes are sorted by level, then id, so a running counter
// per level gives the position in LevelCells).
std::vector<int> RowOfNode(const CellHierarchy& h) {
  std::vector<int> row(h.nodes().size());
  std::vector<int> next(h.depth(), 0);
  for (size_t n = 0; n < h.nodes().size(); ++n) {
    row[n] = next[RelativeLevel(h, h.nodes()[n])]++;
  }
  return row;
}

}  // namespace

std::vector<std::vector<CellId>> LevelCells(const CellHierarchy& hierarchy) {
  std::vector<std::vector<CellId>> cells(hierarchy.depth());
  for (const CellNode& node : hierarchy.nodes()) {
    cells[RelativeLevel(hierarchy, node)].push_back(node.id);
  }
  return cells;
}

std::vector<std::vector<int>> LevelAncestorRows(const CellHierarchy& hierarchy) {
  const std::vector<int> row = RowOfNode(hierarchy);
  std::vector<std::vector<int>> rows(hierarchy.depth(),
                                     std::vector<int>(hierarchy.num_classes(), -1));
  for (int k = 0; k < hierarchy.num_classes(); ++k) {
    // Walk from the leaf up its branch; each step is one level shallower.
    for (int n = hierarchy.leaf_node_index(k); n >= 0; n = hierarchy.nodes()[n].parent) {
      rows[RelativeLevel(hierarchy, hierarchy.nodes()[n])][k] = row[n];
    }
  }
  return rows;
}

absl::StatusOr<std::vector<LevelMatrix>> LevelMatrices(const CellHierarchy& hierarchy,
                                                       const LevelMatrixOptions& options) {
  if (!(options.epsilon >= 0.0f && options.epsilon <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("level matrices: epsilon must be in [0, 1], got ", options.epsilon));
  }
  float shallow = 1.0f;
  switch (options.shallow_leaf_fill) {
    case ShallowLeafFill::kOne:
      shallow = 1.0f;
      break;
    case ShallowLeafFill::kEpsilon:
      shallow = options.epsilon;
      break;
    case ShallowLeafFill::kZero:
      shallow = 0.0f;
      break;
  }
  const std::vector<std::vector<CellId>> cells = LevelCells(hierarchy);
  const std::vector<std::vector<int>> ancestor_rows = LevelAncestorRows(hierarchy);
  const int64_t cols = hierarchy.num_classes();
  std::vector<LevelMatrix> matrices(hierarchy.depth());
  for (int i = 0; i < hierarchy.depth(); ++i) {
    LevelMatrix& m = matrices[i];
    m.rows = static_cast<int64_t>(cells[i].size());
    m.cols = cols;
    m.values.assign(m.rows * cols, options.epsilon);
    for (int64_t k = 0; k < cols; ++k) {
      const int r = ancestor_rows[i][k];
      if (r >= 0) {
        m.values[r * cols + k] = 1.0f;
      } else {
        for (int64_t row = 0; row < m.rows; ++row) m.values[row * cols + k] = shallow;
      }
    }
  }
  return matrices;
}

std::vector<float> SmoothNormalizers(const CellHierarchy& hierarchy, double alpha) {
  std::vector<float> normalizers(hierarchy.num_classes(), std::numeric_limits<float>::quiet_NaN());
  if (!(std::isfinite(alpha) && alpha > 0.0)) return normalizers;
  const int depth = hierarchy.depth();
  for (int k = 0; k < hierarchy.num_classes(); ++k) {
    const int leaf_level = RelativeLevel(hierarchy, hierarchy.leaf_node(k));
    double sum = 0.0;
    for (int i = 0; i <= leaf_level; ++i) sum += std::pow(alpha, depth - i - 1);
    normalizers[k] = static_cast<float>(1.0 / sum);
  }
  return normalizers;
}

}  // namespace geoloc::cells
