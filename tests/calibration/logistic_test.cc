#include "core/calibration/logistic.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

TEST(LogisticTest, SaturatedBinaryFeatureRecoversTheRates) {
  // x = 0: 3 of 10 positive; x = 1: 8 of 10. Maximum likelihood predicts exactly those rates.
  std::vector<double> x, y;
  for (int i = 0; i < 10; ++i) {
    x.push_back(0);
    y.push_back(i < 3);
    x.push_back(1);
    y.push_back(i < 8);
  }
  LogisticOptions options;
  options.ridge = 0;
  const LogisticModel m = *FitLogistic(x, 1, y, {}, options);
  EXPECT_NEAR(m.Predict({0.0}), 0.3, 1e-9);
  EXPECT_NEAR(m.Predict({1.0}), 0.8, 1e-9);
  EXPECT_NEAR(m.mean[0], 0.5, 1e-15);
  EXPECT_NEAR(m.scale[0], 0.5, 1e-15);
  // Weights count as repeated rows: the same data as 2 weighted rows per x value.
  const LogisticModel w = *FitLogistic({0, 0, 1, 1}, 1, {1, 0, 1, 0}, {3, 7, 8, 2}, options);
  EXPECT_NEAR(w.Predict({0.0}), 0.3, 1e-9);
  EXPECT_NEAR(w.Predict({1.0}), 0.8, 1e-9);
}

TEST(LogisticTest, SeparableDataWithRidgeMatchesTheOneDimensionalOptimum) {
  // x = -1 (label 0) and x = +1 (label 1), n / 2 each: standardised x = x, intercept 0 by symmetry,
  // and the penalised optimum solves ridge * b = n (1 - sigmoid(b)). Solve that by bisection.
  const int n = 40;
  std::vector<double> x, y;
  for (int i = 0; i < n; ++i) {
    x.push_back(i % 2 ? 1.0 : -1.0);
    y.push_back(i % 2);
  }
  for (double ridge : {0.1, 1.0, 10.0}) {
    double lo = 0, hi = 100;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (ridge * mid < n * (1 - Sigmoid(mid)) ? lo : hi) = mid;
    }
    LogisticOptions options;
    options.ridge = ridge;
    const LogisticModel m = *FitLogistic(x, 1, y, {}, options);
    EXPECT_NEAR(m.coefficients[0], 0.5 * (lo + hi), 1e-7) << ridge;
    EXPECT_NEAR(m.intercept, 0, 1e-9) << ridge;
    EXPECT_GT(m.Predict({1.0}), 0.5);
    EXPECT_LT(m.Predict({-1.0}), 0.5);
  }
  // Without a ridge the optimum is at infinity: the fit says so instead of returning nonsense.
  LogisticOptions none;
  none.ridge = 0;
  EXPECT_EQ(FitLogistic(x, 1, y, {}, none).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LogisticTest, GradientVanishesAtTheFitOnNoisyData) {
  // Non-separable data from a known model: the fit is a stationary point of the penalised
  // likelihood (checked independently of the solver) and close to the generating coefficients.
  std::mt19937_64 rng(12);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = 4000, d = 3;
  std::vector<double> x(n * d), y(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x[i * d + j] = g(rng) * (j + 1) + j;
    const double z = 0.5 + 1.0 * (x[i * d] - 0) - 0.5 * (x[i * d + 1] - 1) / 2;  // third: no effect
    y[i] = u(rng) < Sigmoid(z);
  }
  LogisticOptions options;
  options.ridge = 1.0;
  const LogisticModel m = *FitLogistic(x, d, y, {}, options);
  // Gradient of the penalised objective in standardised coordinates.
  std::vector<double> grad(d + 1, 0.0);
  for (int i = 0; i < n; ++i) {
    const double r = m.Predict(absl::MakeConstSpan(&x[i * d], d)) - y[i];
    grad[0] += r;
    for (int j = 0; j < d; ++j) grad[j + 1] += r * (x[i * d + j] - m.mean[j]) / m.scale[j];
  }
  for (int j = 0; j < d; ++j) grad[j + 1] += options.ridge * m.coefficients[j];
  // A sum over n rows: a converged fit leaves O(n * tolerance); a wrong one O(n * 0.01).
  for (double gk : grad) EXPECT_NEAR(gk, 0, 1e-8 * n);
  // Back in raw units: about 1.0, -0.25, 0.
  EXPECT_NEAR(m.coefficients[0] / m.scale[0], 1.0, 0.15);
  EXPECT_NEAR(m.coefficients[1] / m.scale[1], -0.25, 0.1);
  EXPECT_NEAR(m.coefficients[2] / m.scale[2], 0.0, 0.1);
}

TEST(LogisticTest, ConstantFeatureGetsNoWeightAndBadInputIsRefused) {
  const LogisticModel m = *FitLogistic({5, 0, 5, 1, 5, 0, 5, 1}, 2, {0, 1, 1, 0});
  EXPECT_EQ(m.coefficients[0], 0);
  EXPECT_EQ(m.scale[0], 1);
  EXPECT_FALSE(FitLogistic({}, 1, {}).ok());
  EXPECT_FALSE(FitLogistic({1, 2}, 1, {1}).ok());
  EXPECT_FALSE(FitLogistic({1, 2}, 1, {1, 2}).ok());
  EXPECT_FALSE(FitLogistic({1, NAN}, 1, {1, 0}).ok());
  EXPECT_FALSE(FitLogistic({1, 2}, 0, {1, 0}).ok());
  EXPECT_FALSE(FitLogistic({1, 2}, 1, {1, 0}, {1, -1}).ok());
  EXPECT_EQ(FitLogistic({1, 2}, 1, {1, 1}).status().code(),
            absl::StatusCode::kFailedPrecondition);  // one class
}

}  // namespace
}  // namespace geoloc::calibration
