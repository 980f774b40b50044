#include "core/cells/level_matrices.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cells/crafted_world.h"

namespace geoloc::cells {
namespace {

using ::testing::ElementsAre;

constexpr float e = 0.01f;

// A small hierarchy built by hand (lvl_start 1, lvl_end 3, t_min 1, t_max 5):
//
//   R1 (level 1, 20 points)          R2 (level 1, 2 points): leaf, class 3
//   |-X (10)
//   | |-X0 (3): leaf, class 0
//   | `-X1 (6): leaf, class 1
//   `-Y (4): leaf, class 2
//
// Leaf classes follow cell ids: X0 < X1 < Y (all inside R1, X = child 0 before Y = child 1) < R2.
struct SmallHierarchy {
  CellId r1, r2, x, y, x0, x1;
  CellHierarchy h;
};

SmallHierarchy MakeSmallHierarchy() {
  SmallHierarchy s;
  s.r1 = CellChildren(FaceCell(0))[0];
  s.r2 = CellChildren(FaceCell(1))[0];
  s.x = CellChildren(s.r1)[0];
  s.y = CellChildren(s.r1)[1];
  s.x0 = CellChildren(s.x)[0];
  s.x1 = CellChildren(s.x)[1];
  AdaptiveCellOptions options;
  options.lvl_start = 1;
  options.lvl_end = 3;
  options.t_min = 1;
  options.t_max = 5;
  auto h = CellHierarchy::Create(
      options, 30, {{s.r1, 20}, {s.r2, 2}, {s.x, 10}, {s.y, 4}, {s.x0, 3}, {s.x1, 6}});
  EXPECT_TRUE(h.ok()) << h.status();
  s.h = *std::move(h);
  return s;
}

void ExpectMatrix(const LevelMatrix& m, const std::vector<std::vector<float>>& expected) {
  ASSERT_EQ(m.rows, static_cast<int64_t>(expected.size()));
  ASSERT_EQ(m.values.size(), static_cast<size_t>(m.rows * m.cols));
  for (size_t r = 0; r < expected.size(); ++r) {
    ASSERT_EQ(m.cols, static_cast<int64_t>(expected[r].size()));
    for (size_t c = 0; c < expected[r].size(); ++c) {
      EXPECT_EQ(m.at(r, c), expected[r][c]) << "(" << r << ", " << c << ")";
      EXPECT_EQ(m.values[r * m.cols + c], expected[r][c]);  // row-major
    }
  }
}

TEST(LevelMatricesTest, LevelCellsAndAncestorRows) {
  const SmallHierarchy s = MakeSmallHierarchy();
  ASSERT_EQ(s.h.depth(), 3);
  ASSERT_EQ(s.h.num_classes(), 4);
  EXPECT_EQ(s.h.leaf_node(0).id, s.x0);
  EXPECT_EQ(s.h.leaf_node(2).id, s.y);
  EXPECT_EQ(s.h.leaf_node(3).id, s.r2);
  EXPECT_THAT(LevelCells(s.h),
              ElementsAre(ElementsAre(s.r1, s.r2), ElementsAre(s.x, s.y), ElementsAre(s.x0, s.x1)));
  EXPECT_THAT(LevelAncestorRows(s.h), ElementsAre(ElementsAre(0, 0, 0, 1), ElementsAre(0, 0, 1, -1),
                                                  ElementsAre(0, 1, -1, -1)));
}

TEST(LevelMatricesTest, DefaultFillsShallowLeavesWithOne) {
  const SmallHierarchy s = MakeSmallHierarchy();
  auto m = LevelMatrices(s.h);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 3u);
  //                  X0 X1 Y  R2
  ExpectMatrix((*m)[0], {{1, 1, 1, e},    // R1
                         {e, e, e, 1}});  // R2
  ExpectMatrix((*m)[1], {{1, 1, e, 1},    // X
                         {e, e, 1, 1}});  // Y
  ExpectMatrix((*m)[2], {{1, e, 1, 1},    // X0
                         {e, 1, 1, 1}});  // X1
}

TEST(LevelMatricesTest, ThesisAndZeroFills) {
  const SmallHierarchy s = MakeSmallHierarchy();
  LevelMatrixOptions thesis;
  thesis.shallow_leaf_fill = ShallowLeafFill::kEpsilon;
  auto m = LevelMatrices(s.h, thesis);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectMatrix((*m)[0], {{1, 1, 1, e}, {e, e, e, 1}});
  ExpectMatrix((*m)[1], {{1, 1, e, e}, {e, e, 1, e}});
  ExpectMatrix((*m)[2], {{1, e, e, e}, {e, 1, e, e}});

  LevelMatrixOptions zero;
  zero.epsilon = 0.5f;
  zero.shallow_leaf_fill = ShallowLeafFill::kZero;
  m = LevelMatrices(s.h, zero);
  ASSERT_TRUE(m.ok()) << m.status();
  const float h = 0.5f;
  ExpectMatrix((*m)[0], {{1, 1, 1, h}, {h, h, h, 1}});
  ExpectMatrix((*m)[1], {{1, 1, h, 0}, {h, h, 1, 0}});
  ExpectMatrix((*m)[2], {{1, h, 0, 0}, {h, 1, 0, 0}});
}

// With the default fill, a shallow leaf's score under HMC (product over levels of
// softmax_i x matrix_i) equals its score at its own level: the deeper levels contribute exactly 1.
TEST(LevelMatricesTest, ProductOverLevelsReducesToTheLeafsBranch) {
  const SmallHierarchy s = MakeSmallHierarchy();
  auto m = LevelMatrices(s.h);
  ASSERT_TRUE(m.ok());
  const std::vector<std::vector<float>> softmax = {{0.3f, 0.7f}, {0.25f, 0.75f}, {0.6f, 0.4f}};
  std::vector<double> hmc(4, 1.0);
  std::vector<std::vector<double>> per_level(3, std::vector<double>(4, 0.0));
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 4; ++k) {
      for (int r = 0; r < 2; ++r) per_level[i][k] += softmax[i][r] * (*m)[i].at(r, k);
      hmc[k] *= per_level[i][k];
    }
  }
  EXPECT_NEAR(hmc[3], 0.7 + e * 0.3, 1e-6);                        // R2: level 0 only
  EXPECT_NEAR(hmc[2], (0.3 + e * 0.7) * (0.75 + e * 0.25), 1e-6);  // Y: levels 0 and 1
  EXPECT_NEAR(hmc[0], (0.3 + e * 0.7) * (0.25 + e * 0.75) * (0.6 + e * 0.4), 1e-6);
}

TEST(LevelMatricesTest, SmoothNormalizersFollowEquation47) {
  const SmallHierarchy s = MakeSmallHierarchy();
  // depth 3: level weights alpha^2, alpha^1, alpha^0 from the roots down; a leaf sums its branch.
  const double a = 0.9;
  EXPECT_THAT(SmoothNormalizers(s.h, a), ElementsAre(testing::FloatNear(1 / (a * a + a + 1), 1e-6),
                                                     testing::FloatNear(1 / (a * a + a + 1), 1e-6),
                                                     testing::FloatNear(1 / (a * a + a), 1e-6),
                                                     testing::FloatNear(1 / (a * a), 1e-6)));
  // alpha = 1: the plain mean over the branch.
  EXPECT_THAT(SmoothNormalizers(s.h, 1.0),
              ElementsAre(testing::FloatEq(1.0f / 3), testing::FloatEq(1.0f / 3),
                          testing::FloatEq(0.5f), testing::FloatEq(1.0f)));
  for (double bad : {0.0, -0.5, std::nan("")}) {
    for (float v : SmoothNormalizers(s.h, bad)) EXPECT_TRUE(std::isnan(v)) << bad;
  }
}

TEST(LevelMatricesTest, RejectsBadEpsilonAndHandlesEmpty) {
  const SmallHierarchy s = MakeSmallHierarchy();
  for (float bad : {-0.1f, 1.5f, std::nanf("")}) {
    LevelMatrixOptions options;
    options.epsilon = bad;
    EXPECT_EQ(LevelMatrices(s.h, options).status().code(), absl::StatusCode::kInvalidArgument);
  }
  const CellHierarchy empty;
  EXPECT_TRUE(LevelCells(empty).empty());
  EXPECT_TRUE(LevelMatrices(empty)->empty());
  EXPECT_TRUE(SmoothNormalizers(empty, 0.9).empty());
}

}  // namespace
}  // namespace geoloc::cells
