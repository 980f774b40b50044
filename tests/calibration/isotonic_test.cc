#include "core/calibration/isotonic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;

TEST(IsotonicTest, HandComputedPav) {
  const IsotonicFunction f = *IsotonicFunction::Fit({1, 2, 3, 4}, {1, 3, 2, 4});
  EXPECT_THAT(f.knot_x(), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(f.knot_y(), ElementsAre(1, 2.5, 2.5, 4));
  EXPECT_DOUBLE_EQ(f(1.5), 1.75);  // between blocks: linear
  EXPECT_DOUBLE_EQ(f(2.7), 2.5);   // inside a block: its mean
  EXPECT_DOUBLE_EQ(f(0), 1);       // constant beyond the ends
  EXPECT_DOUBLE_EQ(f(10), 4);
  // Unsorted input gives the same function.
  const IsotonicFunction g = *IsotonicFunction::Fit({4, 2, 1, 3}, {4, 3, 1, 2});
  EXPECT_EQ(g.knot_x(), f.knot_x());
  EXPECT_EQ(g.knot_y(), f.knot_y());
}

TEST(IsotonicTest, ProbabilityEndBlocksTakeTheirJeffreysMeans) {
  // Plain PAV on y 0 0 1 0 1 1: blocks {0, 0} -> 0, {1, 0} -> 0.5, {1, 1} -> 1.
  const std::vector<double> x = {1, 2, 3, 4, 5, 6}, y = {0, 0, 1, 0, 1, 1};
  EXPECT_THAT(IsotonicFunction::Fit(x, y)->knot_y(), ElementsAre(0, 0, 0.5, 0.5, 1, 1));
  // The end blocks (2 photos each) move to (0 + 1/2) / 3 and (2 + 1/2) / 3; the middle stays.
  const IsotonicFunction p = *IsotonicFunction::FitProbability(x, y);
  EXPECT_THAT(p.knot_x(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(p.knot_y(), ElementsAre(DoubleNear(1.0 / 6, 1e-15), DoubleNear(1.0 / 6, 1e-15), 0.5,
                                      0.5, DoubleNear(5.0 / 6, 1e-15), DoubleNear(5.0 / 6, 1e-15)));
  EXPECT_GT(p(-100), 0.0);  // never certain, beyond the ends either
  EXPECT_LT(p(100), 1.0);
  // One block (every outcome 1, 40 photos): 40.5 / 41.
  const std::vector<double> ones(40, 1.0);
  std::vector<double> xs(40);
  for (int i = 0; i < 40; ++i) xs[i] = i;
  EXPECT_DOUBLE_EQ(IsotonicFunction::FitProbability(xs, ones)->knot_y().back(), 40.5 / 41);
}

TEST(IsotonicTest, ProbabilityEndBlocksStayWithinTheirNeighbours) {
  // 9 misses then 1 hit then 1 miss at the top: PAV blocks {9 misses} -> 0, {hit, miss} -> 0.5.
  // Jeffreys would put the bottom at 0.05 and the top at 1.5 / 3 = 0.5: both stay monotone.
  std::vector<double> x, y;
  for (int i = 0; i < 9; ++i) {
    x.push_back(i);
    y.push_back(0);
  }
  x.insert(x.end(), {9, 10});
  y.insert(y.end(), {1, 0});
  const IsotonicFunction p = *IsotonicFunction::FitProbability(x, y);
  EXPECT_THAT(p.knot_y(), ElementsAre(0.05, 0.05, 0.5, 0.5));
  // A bottom block whose Jeffreys mean would pass the next block's mean is held at that mean:
  // one miss (Jeffreys 1/4) below a block of one hit and 49 misses (mean 1/50, the last block:
  // Jeffreys 1.5 / 51).
  std::vector<double> x2 = {0, 1}, y2 = {0, 1};
  for (int i = 2; i <= 50; ++i) {
    x2.push_back(i);
    y2.push_back(0);
  }
  const IsotonicFunction q = *IsotonicFunction::FitProbability(x2, y2);
  EXPECT_THAT(q.knot_x(), ElementsAre(0, 1, 50));
  EXPECT_THAT(q.knot_y(), ElementsAre(DoubleNear(0.02, 1e-15), DoubleNear(1.5 / 51, 1e-15),
                                      DoubleNear(1.5 / 51, 1e-15)));
}

TEST(IsotonicTest, ProbabilityNeedsZeroOrOneOutcomes) {
  EXPECT_EQ(IsotonicFunction::FitProbability({1, 2}, {0, 0.5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IsotonicFunction::FitProbability({}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IsotonicTest, WeightsAndLongViolations) {
  const IsotonicFunction w = *IsotonicFunction::Fit({1, 2}, {1, 0}, {3, 1});
  EXPECT_THAT(w.knot_x(), ElementsAre(1, 2));
  EXPECT_THAT(w.knot_y(), ElementsAre(0.75, 0.75));
  // A decreasing run pools into one block: mean of 5, 4, 3, 2, 1 = 3.
  const IsotonicFunction d = *IsotonicFunction::Fit({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1});
  EXPECT_THAT(d.knot_x(), ElementsAre(1, 5));
  EXPECT_THAT(d.knot_y(), ElementsAre(3, 3));
  // y 0 0 1 0 1 1: the violator pair (1, 0) pools to 0.5.
  const IsotonicFunction b = *IsotonicFunction::Fit({1, 2, 3, 4, 5, 6}, {0, 0, 1, 0, 1, 1});
  EXPECT_THAT(b.knot_x(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(b.knot_y(), ElementsAre(0, 0, 0.5, 0.5, 1, 1));
}

TEST(IsotonicTest, EqualXArePooledFirst) {
  const IsotonicFunction f = *IsotonicFunction::Fit({1, 1, 2}, {0, 1, 0});
  EXPECT_THAT(f.knot_x(), ElementsAre(1, 2));
  EXPECT_THAT(f.knot_y(), ElementsAre(DoubleNear(1.0 / 3, 1e-15), DoubleNear(1.0 / 3, 1e-15)));
  const IsotonicFunction g = *IsotonicFunction::Fit({1, 1, 2, 2}, {0, 1, 1, 1});
  EXPECT_THAT(g.knot_x(), ElementsAre(1, 2));
  EXPECT_THAT(g.knot_y(), ElementsAre(0.5, 1));
  const IsotonicFunction c = *IsotonicFunction::Fit({3, 3, 3}, {1, 0, 0});
  EXPECT_THAT(c.knot_x(), ElementsAre(3));
  EXPECT_NEAR(c(-5), 1.0 / 3, 1e-15);
  EXPECT_NEAR(c(7), 1.0 / 3, 1e-15);
  const IsotonicFunction one = *IsotonicFunction::Fit({2}, {0.7});
  EXPECT_EQ(one(100), 0.7);
}

// The textbook min-max formula: fit(i) = max over j <= i of min over k >= i of mean(y[j..k]).
std::vector<double> MinMaxIsotonic(const std::vector<double>& y, const std::vector<double>& w) {
  const size_t n = y.size();
  std::vector<double> fit(n);
  for (size_t i = 0; i < n; ++i) {
    double best = -1e300;
    for (size_t j = 0; j <= i; ++j) {
      double lowest = 1e300;
      for (size_t k = i; k < n; ++k) {
        double sw = 0, swy = 0;
        for (size_t m = j; m <= k; ++m) {
          sw += w[m];
          swy += w[m] * y[m];
        }
        lowest = std::min(lowest, swy / sw);
      }
      best = std::max(best, lowest);
    }
    fit[i] = best;
  }
  return fit;
}

TEST(IsotonicTest, AgreesWithTheMinMaxFormulaAndIsMonotone) {
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 3 + trial % 25;
    std::vector<double> x(n), y(n), w(n);
    for (int i = 0; i < n; ++i) {
      x[i] = i;  // distinct, sorted
      y[i] = u(rng) < 0.5 ? 0.0 : 1.0;
      if (trial % 3 == 0) y[i] = u(rng) + 0.02 * i;
      w[i] = 0.5 + u(rng);
    }
    const IsotonicFunction f = *IsotonicFunction::Fit(x, y, w);
    const std::vector<double> expected = MinMaxIsotonic(y, w);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(f(x[i]), expected[i], 1e-12) << trial << " " << i;
    double previous = -1e300;
    for (double q = -1; q < n + 1; q += 0.01) {
      EXPECT_GE(f(q), previous);
      previous = f(q);
    }
  }
}

TEST(IsotonicTest, KnotsRoundTripAndValidation) {
  const IsotonicFunction f = *IsotonicFunction::Fit({1, 2, 3, 4}, {1, 3, 2, 4});
  const IsotonicFunction g = *IsotonicFunction::FromKnots(f.knot_x(), f.knot_y());
  for (double q = 0; q < 5; q += 0.1) EXPECT_EQ(f(q), g(q));
  EXPECT_FALSE(IsotonicFunction::FromKnots({}, {}).ok());
  EXPECT_FALSE(IsotonicFunction::FromKnots({1, 2}, {1}).ok());
  EXPECT_FALSE(IsotonicFunction::FromKnots({2, 1}, {0, 1}).ok());
  EXPECT_FALSE(IsotonicFunction::FromKnots({1, 2}, {1, 0}).ok());
  EXPECT_FALSE(IsotonicFunction::FromKnots({1, 1, 1}, {0, 0, 0}).ok());
  EXPECT_FALSE(IsotonicFunction::FromKnots({1, NAN}, {0, 0}).ok());
  EXPECT_TRUE(IsotonicFunction::FromKnots({1, 1}, {0, 1}).ok());  // a step
  EXPECT_FALSE(IsotonicFunction::Fit({}, {}).ok());
  EXPECT_FALSE(IsotonicFunction::Fit({1, 2}, {1}).ok());
  EXPECT_FALSE(IsotonicFunction::Fit({1}, {NAN}).ok());
  EXPECT_FALSE(IsotonicFunction::Fit({1}, {1}, {0}).ok());
  EXPECT_FALSE(IsotonicFunction::Fit({1}, {1}, {1, 2}).ok());
}

}  // namespace
}  // namespace geoloc::calibration
