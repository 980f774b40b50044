#include "core/geo/peak_summary.h"

#include <cmath>
#include <vector>

#include "core/geo/distance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

TEST(WeightedQuantileTest, EqualWeights) {
  const std::vector<double> v = {4, 1, 3, 2};
  const std::vector<double> w = {1, 1, 1, 1};
  EXPECT_EQ(WeightedQuantile(v, w, 0.25), 1);
  EXPECT_EQ(WeightedQuantile(v, w, 0.5), 2);
  EXPECT_EQ(WeightedQuantile(v, w, 0.51), 3);
  EXPECT_EQ(WeightedQuantile(v, w, 1.0), 4);
}

TEST(WeightedQuantileTest, WeightsMoveTheQuantile) {
  const std::vector<double> v = {10, 20, 30};
  // 70% of the weight sits on 30: the median is 30.
  EXPECT_EQ(WeightedQuantile(v, std::vector<double>{0.2, 0.1, 0.7}, 0.5), 30);
  EXPECT_EQ(WeightedQuantile(v, std::vector<double>{0.2, 0.1, 0.7}, 0.3), 20);
  // Zero-weight values never become the quantile while weight exists.
  EXPECT_EQ(WeightedQuantile(v, std::vector<double>{0, 1, 0}, 0.01), 20);
  // All weights zero: unweighted.
  EXPECT_EQ(WeightedQuantile(v, std::vector<double>{0, 0, 0}, 0.5), 20);
  EXPECT_EQ(WeightedQuantile({}, {}, 0.5), 0);
}

TEST(GaussianContainmentRadiusTest, KnownValues) {
  // P(r <= rho) = 1 - exp(-rho^2 / (2 s^2)) for a 2-D isotropic Gaussian.
  EXPECT_NEAR(GaussianContainmentRadiusKm(1.0, 1 - std::exp(-0.5)), 1.0, 1e-12);
  EXPECT_NEAR(GaussianContainmentRadiusKm(2.0, 0.5), 2 * std::sqrt(2 * std::log(2.0)), 1e-12);
  EXPECT_NEAR(GaussianContainmentRadiusKm(0.5, 0.68), 0.7547961, 1e-7);
  EXPECT_EQ(CombineRadii(3, 4), 5);
}

TEST(PeakOverAllNeighborsTest, MassSupportAndRadius) {
  // Neighbours 0, 1, 2, 3 hundredths of a degree east of (0, 0) on the equator.
  const std::vector<LatLon> pos = {{0, 0}, {0, 0.01}, {0, 0.02}, {0, 0.03}};
  const std::vector<double> w = {0.25, 0.25, 0.25, 0.25};
  const Peak p = PeakOverAllNeighbors({0, 0}, pos, w, 0.5);
  EXPECT_EQ(p.mass, 1);
  EXPECT_EQ(p.support, 4);
  EXPECT_THAT(p.neighbor_indices, ::testing::ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(p.density, 0);
  EXPECT_NEAR(p.radius_km, 0.01 * kDegToRad * kEarthRadiusKm, 1e-9);  // the second distance
}

TEST(ValidateEstimatorWeightsTest, Cases) {
  const std::vector<LatLon> pos = {{0, 0}, {1, 1}};
  EXPECT_TRUE(ValidateEstimatorWeights(pos, std::vector<double>{0, 1}).ok());
  EXPECT_FALSE(ValidateEstimatorWeights(pos, std::vector<double>{1}).ok());
  EXPECT_FALSE(ValidateEstimatorWeights(pos, std::vector<double>{-1, 2}).ok());
  EXPECT_FALSE(ValidateEstimatorWeights(pos, std::vector<double>{0, 0}).ok());
  EXPECT_FALSE(ValidateEstimatorWeights(pos, std::vector<double>{NAN, 1}).ok());
  EXPECT_FALSE(ValidateEstimatorWeights({}, {}).ok());
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
