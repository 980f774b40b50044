// Per-level matrices that map a hierarchical classifier's per-level softmax outputs onto the leaf
// classes (seed 001, Algorithm 2), and the HMC-smooth normalisers (seed 001, eq. 4.7).
//
//   GEOLOC_ASSIGN_OR_RETURN(std::vector<LevelMatrix> m, LevelMatrices(cells));
//   // per level i: leaf_scores_i[1 x num_classes] = softmax_i[1 x m[i].rows] * m[i]
//
// Pure functions over an immutable CellHierarchy: thread-safe. Level i is the relative level
// (0 = the roots at lvl_start, up to depth() - 1); row r of level i is LevelCells(h)[i][r], i.e.
// the hierarchy's nodes at that level in node order (increasing cell id); column k is leaf class k.
//
// Entry (r, k) of level i:
// | leaf k versus the level-i cell r                   | entry                                 |
// | -------------------------------------------------- | ------------------------------------- |
// | r is leaf k itself or an ancestor of leaf k        | 1                                     |
// | otherwise, leaf k at level >= i                    | epsilon (default 0.01, as the thesis) |
// | leaf k shallower than level i (its branch has no   | shallow_leaf_fill for every row:      |
// | level-i cell)                                      | 1 (default), epsilon or 0             |
//
// Deviation from the thesis (which fills such a column with epsilon): with 1 in every row the
// level-i output for leaf k is the sum of the level's softmax, exactly 1, so the HMC product (and
// HMC-sol's sum of logs) over all levels reduces to leaf k's own branch. With epsilon a leaf would
// lose a factor of about epsilon per missing level, and shallow leaves (sparse regions) could
// almost never win against deep ones. For HMC-smooth use kZero instead: the filled levels then add
// nothing to the weighted sum, which SmoothNormalizers divides by the weights of the branch only.
//
// Size: a level's matrix has rows * num_classes floats (4 bytes each); a hierarchy with 10,000
// leaves and 10,000 cells on a level needs 400 MB for that level. LevelAncestorRows is the same
// information as indices, for a gather instead of a dense product.
#ifndef GEOLOC_CORE_CELLS_LEVEL_MATRICES_H_
#define GEOLOC_CORE_CELLS_LEVEL_MATRICES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cells/cell_hierarchy.h"
#include "core/cells/s2_cells.h"

namespace geoloc::cells {

// How the column of a leaf shallower than the matrix's level is filled (see the table above).
enum class ShallowLeafFill {
  kOne,      // default: products over levels reduce to the leaf's branch (HMC, HMC-sol)
  kEpsilon,  // the thesis' Algorithm 2, to reproduce its numbers
  kZero,     // sums over levels ignore the missing levels (HMC-smooth with SmoothNormalizers)
};

struct LevelMatrixOptions {
  // Weight of a cell that is not on the leaf's branch; in [0, 1].
  float epsilon = 0.01f;
  ShallowLeafFill shallow_leaf_fill = ShallowLeafFill::kOne;
};

// A dense row-major [rows x cols] matrix: rows = cells at the level, cols = leaf classes.
struct LevelMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;  // rows * cols, entry (r, c) at r * cols + c

  float at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

// The cell ids of every relative level, in node order: depth() lists.
std::vector<std::vector<CellId>> LevelCells(const CellHierarchy& hierarchy);

// [level][leaf class] = row (index into LevelCells(h)[level]) of the leaf's branch cell at that
// level, or -1 when the leaf is shallower than the level.
std::vector<std::vector<int>> LevelAncestorRows(const CellHierarchy& hierarchy);

// depth() matrices as in the table above. INVALID_ARGUMENT when epsilon is not in [0, 1].
absl::StatusOr<std::vector<LevelMatrix>> LevelMatrices(const CellHierarchy& hierarchy,
                                                       const LevelMatrixOptions& options = {});

// HMC-smooth (seed eq. 4.7): per leaf class k at relative level l_k,
// 1 / sum_{i=0..l_k} alpha^(depth - i - 1), the inverse of the weights of its own branch levels
// (the thesis uses alpha = 0.9). Requires a finite alpha > 0; any other alpha gives NaN for every
// class, so the misuse shows in the scores instead of passing for a plausible weighting.
std::vector<float> SmoothNormalizers(const CellHierarchy& hierarchy, double alpha);

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_LEVEL_MATRICES_H_
