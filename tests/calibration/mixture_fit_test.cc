#include "core/calibration/mixture_fit.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

TEST(MixtureFitTest, DisjointSupportsGiveTheShares) {
  // Component A explains photos 1-3 only, B photo 4 only: ML weights (3/4, 1/4); with one
  // pseudo-photo each, (3 + 1) / (4 + 2) and (1 + 1) / (4 + 2).
  const std::vector<double> ld = {0, kMinusInf, 0, kMinusInf, 0, kMinusInf, kMinusInf, 0};
  MixtureFitOptions ml;
  ml.prior_count = 0;
  const MixtureFit a = *FitMixtureWeights(ld, 2, ml);
  EXPECT_NEAR(a.weights[0], 0.75, 1e-9);
  EXPECT_NEAR(a.weights[1], 0.25, 1e-9);
  EXPECT_NEAR(a.mean_log_likelihood, (3 * std::log(0.75) + std::log(0.25)) / 4, 1e-9);
  const MixtureFit b = *FitMixtureWeights(ld, 2);
  EXPECT_NEAR(b.weights[0], 4.0 / 6, 1e-9);
  EXPECT_NEAR(b.weights[1], 2.0 / 6, 1e-9);
}

TEST(MixtureFitTest, MatchesABruteForceSearchOnTwoComponents) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g(0, 2);
  const int n = 200;
  std::vector<double> ld(2 * n);
  for (int i = 0; i < n; ++i) {
    ld[2 * i] = g(rng);
    ld[2 * i + 1] = g(rng) - 1;
  }
  MixtureFitOptions ml;
  ml.prior_count = 0;
  const MixtureFit fit = *FitMixtureWeights(ld, 2, ml);
  double best_a = 0, best = -1e300;
  for (int k = 1; k < 100000; ++k) {
    const double a = k / 100000.0;
    const double v = MeanLogLikelihood(ld, {a, 1 - a});
    if (v > best) {
      best = v;
      best_a = a;
    }
  }
  EXPECT_NEAR(fit.weights[0], best_a, 2e-5);
  EXPECT_NEAR(fit.mean_log_likelihood, best, 1e-9);
  EXPECT_NEAR(fit.weights[0] + fit.weights[1], 1.0, 1e-12);
}

TEST(MixtureFitTest, IdenticalComponentsStayAtTheStart) {
  const std::vector<double> ld = {-1, -1, -1, -2, -2, -2};
  const MixtureFit fit = *FitMixtureWeights(ld, 3);
  for (double w : fit.weights) EXPECT_NEAR(w, 1.0 / 3, 1e-12);
}

TEST(MixtureFitTest, RefusesBadInput) {
  EXPECT_FALSE(FitMixtureWeights({}, 2).ok());
  EXPECT_FALSE(FitMixtureWeights({1, 2, 3}, 2).ok());
  EXPECT_FALSE(FitMixtureWeights({1, 2}, 0).ok());
  EXPECT_FALSE(FitMixtureWeights({1, NAN}, 2).ok());
  EXPECT_FALSE(FitMixtureWeights({1, INFINITY}, 2).ok());
  EXPECT_FALSE(FitMixtureWeights({kMinusInf, kMinusInf}, 2).ok());
  MixtureFitOptions bad;
  bad.prior_count = -1;
  EXPECT_FALSE(FitMixtureWeights({1, 2}, 2, bad).ok());
}

}  // namespace
}  // namespace geoloc::calibration
