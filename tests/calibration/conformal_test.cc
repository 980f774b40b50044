#include "core/calibration/conformal.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ConformalTest, RankIsCeilOfNPlusOneTimesLevel) {
  EXPECT_EQ(ConformalRank(9, 0.9), 9);    // 10 * 0.9 = 9
  EXPECT_EQ(ConformalRank(10, 0.9), 10);  // ceil(9.9)
  EXPECT_EQ(ConformalRank(4, 0.9), 5);    // ceil(4.5): more than n
  EXPECT_EQ(ConformalRank(19, 0.5), 10);
  EXPECT_EQ(ConformalRank(0, 0.5), 1);
  EXPECT_EQ(ConformalRank(999, 0.95), 950);
  EXPECT_EQ(ConformalRank(1000, 0.95), 951);  // ceil(950.95)
  // Decimal levels whose product rounds just above an integer in floating point.
  EXPECT_EQ(ConformalRank(99, 0.07), 7);
  EXPECT_EQ(ConformalRank(99, 0.57), 57);
  EXPECT_EQ(ConformalRank(99, 0.29), 29);
  EXPECT_EQ(ConformalRank(5, 1e-12), 1);  // at least 1
}

TEST(ConformalTest, QuantilesByHand) {
  // Scores 1..10 shuffled.
  const std::vector<double> ten = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4};
  EXPECT_EQ(*ConformalQuantile(ten, 0.9), 10);     // k = ceil(11 * 0.9) = ceil(9.9) = 10
  EXPECT_EQ(*ConformalQuantile(ten, 0.5), 6);      // k = ceil(5.5) = 6
  EXPECT_EQ(*ConformalQuantile(ten, 0.68), 8);     // k = ceil(7.48) = 8
  EXPECT_EQ(*ConformalQuantile(ten, 0.95), kInf);  // k = ceil(10.45) = 11 > 10
  EXPECT_EQ(*ConformalQuantile(ten, 0.05), 1);     // k = ceil(0.55) = 1
  // The naive empirical quantile would take the 9th (ceil(10 * 0.9)): the "+1" matters.
  EXPECT_NE(*ConformalQuantile(ten, 0.9), 9);
  // Nine scores: k = ceil(10 * 0.9) = 9, the largest.
  EXPECT_EQ(*ConformalQuantile({0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6}, 0.9), 0.9);
}

TEST(ConformalTest, TinyCalibrationSetsGiveTheWholeSphere) {
  EXPECT_EQ(*ConformalQuantile({}, 0.5), kInf);
  EXPECT_EQ(*ConformalQuantile({3.0}, 0.5), 3.0);       // k = ceil(1) = 1
  EXPECT_EQ(*ConformalQuantile({3.0}, 0.51), kInf);     // k = ceil(1.02) = 2 > 1
  EXPECT_EQ(*ConformalQuantile({1, 2, 3, 4}, 0.8), 4);  // k = ceil(4) = 4
  EXPECT_EQ(*ConformalQuantile({1, 2, 3, 4}, 0.81), kInf);
  // A 95% region needs at least 19 scores.
  std::vector<double> s(18, 1.0);
  EXPECT_EQ(*ConformalQuantile(s, 0.95), kInf);
  s.push_back(2.0);
  EXPECT_EQ(*ConformalQuantile(s, 0.95), 2.0);
}

TEST(ConformalTest, TiesAndInfiniteScores) {
  EXPECT_EQ(*ConformalQuantile({1, 2, 2, 2, 3}, 0.5), 2);        // k = 3
  EXPECT_EQ(*ConformalQuantile({2, 2, 2, 2, 2}, 0.8), 2);        // k = 5
  EXPECT_EQ(*ConformalQuantile({1, kInf, 2, kInf}, 0.6), kInf);  // k = 3: an infinite score
  EXPECT_EQ(*ConformalQuantile({1, kInf, 2, kInf}, 0.4), 2);     // k = 2
}

TEST(ConformalTest, RejectsBadInput) {
  EXPECT_EQ(ConformalQuantile({1, 2}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConformalQuantile({1, 2}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConformalQuantile({1, 2}, NAN).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConformalQuantile({1, NAN}, 0.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConformalQuantile({1, -kInf}, 0.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateLevel(0.5).ok());
  EXPECT_FALSE(ValidateLevel(1.5).ok());
}

TEST(ConformalTest, SortedVariantAgrees) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g;
  for (int n : {0, 1, 5, 19, 100, 1001}) {
    std::vector<double> s(n);
    for (double& x : s) x = g(rng);
    std::vector<double> sorted = s;
    std::sort(sorted.begin(), sorted.end());
    for (double level : {0.05, 0.5, 0.68, 0.9, 0.95, 0.99}) {
      EXPECT_EQ(ConformalQuantileOfSorted(sorted, level), *ConformalQuantile(s, level))
          << n << " " << level;
    }
  }
}

TEST(ConformalTest, CoverageIsKOverNPlusOne) {
  EXPECT_DOUBLE_EQ(ConformalCoverage(10, 0.9), 10.0 / 11);
  EXPECT_DOUBLE_EQ(ConformalCoverage(9, 0.9), 0.9);
  EXPECT_EQ(ConformalCoverage(4, 0.9), 1.0);  // whole sphere
  for (int n : {19, 100, 999}) {
    for (double a : {0.5, 0.68, 0.9, 0.95}) {
      EXPECT_GE(ConformalCoverage(n, a), a);
      EXPECT_LT(ConformalCoverage(n, a), a + 1.0 / (n + 1));
    }
  }
}

// The guarantee itself, by simulation: with exchangeable (i.i.d.) scores the new score falls at or
// below the quantile of n calibration scores with probability k / (n + 1). At n = 10, level 0.9
// that is 10/11 = 0.909; the naive rank ceil(n a) = 9 would give 9/11 = 0.818, below the level.
TEST(ConformalTest, SimulatedCoverageMatchesTheGuarantee) {
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> score(1.0);
  for (const auto& [n, level] :
       std::vector<std::pair<int, double>>{{10, 0.9}, {19, 0.95}, {50, 0.68}, {7, 0.5}}) {
    const int trials = 40000;
    int covered = 0;
    std::vector<double> cal(n);
    for (int t = 0; t < trials; ++t) {
      for (double& x : cal) x = score(rng);
      covered += score(rng) <= *ConformalQuantile(cal, level);
    }
    const double rate = static_cast<double>(covered) / trials;
    const double expected = ConformalCoverage(n, level);
    // 5 binomial standard deviations (about 0.007): a wrong rank moves the rate by 1/(n+1) >= 0.02.
    const double tolerance = 5 * std::sqrt(expected * (1 - expected) / trials);
    EXPECT_NEAR(rate, expected, tolerance) << "n " << n << " level " << level;
    EXPECT_GE(rate, level - tolerance);
  }
}

}  // namespace
}  // namespace geoloc::calibration
