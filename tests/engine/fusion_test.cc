#include "core/engine/fusion.h"

#include <vector>

#include "gtest/gtest.h"

namespace geoloc::engine {
namespace {

std::vector<geo::Peak> PeaksWithMasses(const std::vector<double>& masses) {
  std::vector<geo::Peak> peaks(masses.size());
  for (size_t i = 0; i < masses.size(); ++i) peaks[i].mass = masses[i];
  return peaks;
}

TEST(FusionTest, ClassifierProbabilityReranksPeaks) {
  // L = 10: scores 0.6 * (0.1 + 0.1) = 0.12 and 0.4 * (0.8 + 0.1) = 0.36.
  const auto peaks = PeaksWithMasses({0.6, 0.4});
  const FusedChoice c = FusePeaks(peaks, std::vector<double>{0.1, 0.8}, 10);
  EXPECT_EQ(c.peak, 1);
  EXPECT_NEAR(c.weight_share, 0.36 / 0.48, 1e-12);
}

TEST(FusionTest, UniformClassifierKeepsRetrievalOrder) {
  const auto peaks = PeaksWithMasses({0.5, 0.3, 0.2});
  const FusedChoice c = FusePeaks(peaks, std::vector<double>{0.25, 0.25, 0.25}, 4);
  EXPECT_EQ(c.peak, 0);
  EXPECT_NEAR(c.weight_share, 0.5, 1e-12);
}

TEST(FusionTest, PeaksOutsideEveryCellFallBackToRetrieval) {
  // No peak lies in a kept leaf: every q is 0, the floor keeps the retrieval ranking.
  const auto peaks = PeaksWithMasses({0.2, 0.7, 0.1});
  const FusedChoice c = FusePeaks(peaks, std::vector<double>{0, 0, 0}, 50);
  EXPECT_EQ(c.peak, 1);
  EXPECT_NEAR(c.weight_share, 0.7, 1e-12);
}

TEST(FusionTest, FloorDecidesBetweenMassAndProbability) {
  // Peak 1 has a third of peak 0's mass: it wins only when (q1 + 1/L) > 3 (q0 + 1/L).
  const auto peaks = PeaksWithMasses({0.75, 0.25});
  EXPECT_EQ(FusePeaks(peaks, std::vector<double>{0.0, 0.5}, 2).peak, 0);   // 0.375 vs 0.25
  EXPECT_EQ(FusePeaks(peaks, std::vector<double>{0.0, 0.5}, 10).peak, 1);  // 0.075 vs 0.15
}

TEST(FusionTest, TiesKeepRetrievalOrderAndNoPeaksGiveNone) {
  const auto peaks = PeaksWithMasses({0.5, 0.5});
  EXPECT_EQ(FusePeaks(peaks, std::vector<double>{0.3, 0.3}, 5).peak, 0);
  const FusedChoice none = FusePeaks({}, {}, 5);
  EXPECT_EQ(none.peak, -1);
  EXPECT_EQ(none.weight_share, 0);
}

}  // namespace
}  // namespace geoloc::engine
