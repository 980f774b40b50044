#include "core/engine/cell_confidence.h"

#include "core/cells/s2_cells.h"
#include "gtest/gtest.h"

namespace geoloc::engine {
namespace {

TEST(CellConfidenceTest, WeightsAggregatePerCellAndLevel) {
  // Three neighbours in one level-10 cell near Paris, one in London.
  const geo::LatLon paris{48.8584, 2.2945};
  const geo::LatLon paris2{48.8586, 2.2950};
  const geo::LatLon paris3{48.8580, 2.2940};
  const geo::LatLon london{51.5007, -0.1246};
  ASSERT_EQ(cells::CellIdAt(paris, 10), cells::CellIdAt(paris2, 10));
  ASSERT_EQ(cells::CellIdAt(paris, 10), cells::CellIdAt(paris3, 10));
  const std::vector<geo::LatLon> positions = {paris, london, paris2, paris3};
  const std::vector<double> weights = {0.4, 0.3, 0.2, 0.1};
  auto cells = RetrievalCellConfidences(positions, weights, std::vector<int>{10, 2}, 5, true, 4);
  ASSERT_TRUE(cells.ok()) << cells.status();
  // Level 10 first (request order): Paris 0.7, London 0.3.
  ASSERT_GE(cells->size(), 3u);
  EXPECT_EQ((*cells)[0].level, 10);
  EXPECT_EQ((*cells)[0].id, cells::CellIdAt(paris, 10));
  EXPECT_NEAR((*cells)[0].weight_share, 0.7, 1e-12);
  EXPECT_EQ((*cells)[0].token, cells::CellToken(cells::CellIdAt(paris, 10)));
  EXPECT_EQ((*cells)[0].polygon.size(), 16u);  // 4 edges x 4 points
  EXPECT_EQ((*cells)[1].id, cells::CellIdAt(london, 10));
  EXPECT_NEAR((*cells)[1].weight_share, 0.3, 1e-12);
  // Level 2: both cities may share a cell; probabilities at a level always sum to 1.
  double level2 = 0;
  for (const auto& c : *cells) {
    if (c.level == 2) level2 += c.weight_share;
  }
  EXPECT_NEAR(level2, 1.0, 1e-12);
}

TEST(CellConfidenceTest, KeepsTheMostProbableCellsAndRejectsBadInput) {
  std::vector<geo::LatLon> positions;
  std::vector<double> weights;
  for (int i = 0; i < 10; ++i) {
    positions.push_back(geo::LatLon{10.0 * i - 45, 20.0 * i - 90});
    weights.push_back((i + 1) / 55.0);
  }
  auto cells = RetrievalCellConfidences(positions, weights, std::vector<int>{8}, 3, false, 1);
  ASSERT_TRUE(cells.ok());
  ASSERT_EQ(cells->size(), 3u);
  EXPECT_NEAR((*cells)[0].weight_share, 10 / 55.0, 1e-12);
  EXPECT_NEAR((*cells)[2].weight_share, 8 / 55.0, 1e-12);
  EXPECT_TRUE((*cells)[0].polygon.empty());
  EXPECT_EQ(RetrievalCellConfidences(positions, weights, std::vector<int>{31}, 3, false, 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  weights.pop_back();
  EXPECT_EQ(RetrievalCellConfidences(positions, weights, std::vector<int>{8}, 3, false, 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::engine
