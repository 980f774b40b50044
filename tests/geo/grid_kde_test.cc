#include "core/geo/grid_kde.h"

#include <cmath>
#include <random>
#include <vector>

#include "core/geo/distance.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

EstimatorOptions GridOptions(double sigma_deg, int b, int n) {
  EstimatorOptions o;
  o.kind = EstimatorKind::kGridKde;
  o.sigma_deg = sigma_deg;
  o.grid_b = b;
  o.grid_n = n;
  return o;
}

double Normaliser(double sigma) { return 1 / (2 * kPi * sigma * sigma); }

TEST(GridKdeTest, TwoEqualPointsPeakAtTheirMidpoint) {
  // sigma = 0.001, points 0.001 apart: one mode at the midpoint, which lies on the grid when the
  // spacing sigma / n is 0.0005 (n = 2). Each point is sigma / 2 away: f = N * exp(-1/8).
  const std::vector<LatLon> pts = {{0, 0}, {0, 0.001}};
  auto peak = FindGridKdePeak(pts, {0.5, 0.5}, GridOptions(0.001, 3, 2));
  ASSERT_TRUE(peak.ok()) << peak.status();
  EXPECT_NEAR(peak->pos.lat, 0, 1e-12);
  EXPECT_NEAR(peak->pos.lon, 0.0005, 1e-12);
  EXPECT_NEAR(peak->density, Normaliser(0.001) * std::exp(-0.125), 1e-9 * Normaliser(0.001));
  EXPECT_EQ(peak->mass, 1);
  EXPECT_EQ(peak->support, 2);
}

TEST(GridKdeTest, SinglePointAndHeavyPointWinAtTheirOwnPosition) {
  const std::vector<LatLon> one = {{49.2, 16.6}};
  auto peak = FindGridKdePeak(one, {1.0}, GridOptions(0.0025, 3, 3));
  ASSERT_TRUE(peak.ok());
  EXPECT_EQ(peak->pos.lat, 49.2);
  EXPECT_EQ(peak->pos.lon, 16.6);
  EXPECT_NEAR(peak->density, Normaliser(0.0025), 1e-9 * Normaliser(0.0025));
  // Radius of a single point: the kernel's own 0.68 radius, sigma converted at 111.195 km/degree.
  EXPECT_NEAR(peak->radius_km, 0.0025 * kDegToRad * kEarthRadiusKm * std::sqrt(-2 * std::log(0.32)),
              1e-9);
  // Weight 3:1 and 10 sigma apart: the argmax is the heavy point, density 3/4 of the normaliser.
  const std::vector<LatLon> two = {{0, 0}, {0, 0.01}};
  peak = FindGridKdePeak(two, {3, 1}, GridOptions(0.001, 3, 3));
  ASSERT_TRUE(peak.ok());
  EXPECT_EQ(peak->pos.lon, 0);
  EXPECT_NEAR(peak->density, 0.75 * Normaliser(0.001), 1e-9 * Normaliser(0.001));
}

TEST(GridKdeTest, MatchesABruteForceEvaluationOfTheSeedFormula) {
  // The separable implementation must pick the same grid point as evaluating eq. 4.7 of the seed
  // directly at every one of the k (2bn + 1)^2 points.
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> d(-0.004, 0.004), s(0.2, 1.0);
  const double sigma = 0.0025;
  const int b = 3, n = 3;
  std::vector<LatLon> pts;
  std::vector<double> w;
  for (int i = 0; i < 25; ++i) {
    pts.push_back({50.08 + d(rng), 14.42 + d(rng) * (i % 2 ? 1 : 3)});
    w.push_back(std::pow(s(rng) + 1, 5));
  }
  double best = -1;
  LatLon best_pos;
  for (const LatLon& c : pts) {
    for (int a = -b * n; a <= b * n; ++a) {
      for (int e = -b * n; e <= b * n; ++e) {
        const LatLon x{c.lat + a * sigma / n, c.lon + e * sigma / n};
        double f = 0, total = 0;
        for (size_t i = 0; i < pts.size(); ++i) {
          const double dl = x.lat - pts[i].lat, dn = x.lon - pts[i].lon;
          f += w[i] * std::exp(-(dl * dl + dn * dn) / (2 * sigma * sigma)) /
               (2 * kPi * sigma * sigma);
          total += w[i];
        }
        f /= total * sigma * sigma;  // the seed's extra 1 / |Sigma|^(1/2)
        if (f > best) {
          best = f;
          best_pos = x;
        }
      }
    }
  }
  auto peak = FindGridKdePeak(pts, w, GridOptions(sigma, b, n));
  ASSERT_TRUE(peak.ok());
  EXPECT_LT(HaversineKm(peak->pos, best_pos), 1e-9);
  EXPECT_NEAR(peak->density, best * sigma * sigma, 1e-9 * peak->density);
  EXPECT_NEAR(peak->density, GridKdeDensity(pts, w, sigma, peak->pos), 1e-9 * peak->density);
}

TEST(GridKdeTest, LongitudeDifferencesWrapAtTheAntimeridian) {
  // Mirror image of the midpoint case across 180: the argmax is at 180 (= -180), not at 0.
  const std::vector<LatLon> pts = {{0, 179.9995}, {0, -179.9995}};
  auto peak = FindGridKdePeak(pts, {0.5, 0.5}, GridOptions(0.001, 3, 2));
  ASSERT_TRUE(peak.ok());
  EXPECT_NEAR(std::abs(peak->pos.lon), 180, 1e-9);
  EXPECT_NEAR(peak->density, Normaliser(0.001) * std::exp(-0.125), 1e-6 * Normaliser(0.001));
}

TEST(GridKdeTest, GridPointsBeyondThePoleAreSkipped) {
  const std::vector<LatLon> pts = {{89.9995, 0}, {89.9995, 0.0005}};
  auto peak = FindGridKdePeak(pts, {0.5, 0.5}, GridOptions(0.001, 3, 3));
  ASSERT_TRUE(peak.ok());
  EXPECT_TRUE(ValidateLatLon(peak->pos).ok()) << FormatLatLon(peak->pos);
}

TEST(GridKdeTest, RejectsBadOptions) {
  const std::vector<LatLon> pts = {{0, 0}};
  EXPECT_EQ(FindGridKdePeak(pts, {1.0}, GridOptions(-1, 3, 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindGridKdePeak(pts, {1.0}, GridOptions(0.001, 0, 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
