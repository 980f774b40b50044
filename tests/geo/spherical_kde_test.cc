#include "core/geo/spherical_kde.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/estimator.h"
#include "core/geo/tangent_plane.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

using ::testing::ElementsAre;

EstimatorOptions KdeOptions(double bandwidth_km) {
  EstimatorOptions o;
  o.kind = EstimatorKind::kSphericalKde;
  o.bandwidth_km = bandwidth_km;
  return o;
}

std::vector<double> Equal(size_t n) { return std::vector<double>(n, 1.0 / n); }

// `n` points on a circle of `radius_km` around `centre`.
std::vector<LatLon> Ring(LatLon centre, double radius_km, int n) {
  std::vector<LatLon> out;
  for (int i = 0; i < n; ++i) out.push_back(DestinationPoint(centre, 360.0 * i / n, radius_km));
  return out;
}

TEST(SphericalKdeTest, ConcentrationAndDensityNormaliser) {
  EXPECT_NEAR(VmfConcentration(0.5), std::pow(kEarthRadiusKm / 0.5, 2), 1e-3);
  // One point: the density at the point is the vMF normaliser, 1 / (2 pi h^2) for h << R.
  const std::vector<LatLon> one = {{12, 34}};
  EXPECT_NEAR(SphericalKdeDensity(one, {1.0}, 0.5, {12, 34}), 1 / (2 * kPi * 0.25), 1e-9);
  // At distance h the Gaussian has fallen to exp(-1/2).
  const LatLon at_h = DestinationPoint({12, 34}, 33, 0.5);
  EXPECT_NEAR(SphericalKdeDensity(one, {1.0}, 0.5, at_h), std::exp(-0.5) / (2 * kPi * 0.25), 1e-9);
}

TEST(SphericalKdeTest, DensityIntegratesToOneOverTheSphere) {
  // With a global bandwidth the normaliser must make the density integrate to 1: numerical
  // integration on a lat/lon grid (area element R^2 cos(lat) dlat dlon).
  const std::vector<LatLon> pts = {{10, 20}, {-40, 100}};
  const std::vector<double> w = {0.3, 0.7};
  const double h = 3000;
  double integral = 0;
  const int nlat = 360, nlon = 720;
  const double dlat = 180.0 / nlat, dlon = 360.0 / nlon;
  for (int i = 0; i < nlat; ++i) {
    const double lat = -90 + (i + 0.5) * dlat;
    const double area = kEarthRadiusKm * kEarthRadiusKm * std::cos(lat * kDegToRad) *
                        (dlat * kDegToRad) * (dlon * kDegToRad);
    for (int j = 0; j < nlon; ++j) {
      integral += SphericalKdeDensity(pts, w, h, {lat, -180 + (j + 0.5) * dlon}) * area;
    }
  }
  EXPECT_NEAR(integral, 1.0, 1e-4);
}

TEST(SphericalKdeTest, SymmetricSetPeaksAtItsCentre) {
  const LatLon centre{50.0875, 14.4214};
  std::vector<LatLon> pts = Ring(centre, 0.3, 4);  // N, E, S, W at 300 m
  auto peaks = FindSphericalKdePeaks(pts, Equal(4), KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok()) << peaks.status();
  ASSERT_EQ(peaks->size(), 1u);
  const Peak& p = (*peaks)[0];
  EXPECT_LT(HaversineKm(p.pos, centre), 0.001);
  EXPECT_NEAR(p.mass, 1, 1e-12);
  EXPECT_EQ(p.support, 4);
  EXPECT_THAT(p.neighbor_indices, ElementsAre(0, 1, 2, 3));
  // Radius: every neighbour is 0.3 km away, combined with the kernel's 0.68 radius (0.7548 km).
  EXPECT_NEAR(p.radius_km, std::hypot(0.3, 0.7547961), 1e-4);
  // Density at the centre: four kernels at distance 0.3 = 0.6 h.
  EXPECT_NEAR(p.density, std::exp(-0.5 * 0.36) / (2 * kPi * 0.25), 1e-6);
}

TEST(SphericalKdeTest, TwoClustersGiveTwoPeaksWithTheirWeightShares) {
  // Cluster A: 6 neighbours with similarity 0.9; cluster B, 50 km away: 4 with similarity 0.8.
  // With m = 5 the masses are 6 * 1.9^5 / (6 * 1.9^5 + 4 * 1.8^5) and the rest.
  const LatLon a{48.8566, 2.3522}, b = DestinationPoint(a, 60, 50);
  std::vector<Neighbor> n;
  for (const LatLon& p : Ring(a, 0.2, 6)) n.push_back({p, 0.9});
  for (const LatLon& p : Ring(b, 0.2, 4)) n.push_back({p, 0.8});
  auto est = EstimateLocation(n, ScoreKind::kSimilarity, KdeOptions(0.5));
  ASSERT_TRUE(est.ok()) << est.status();
  ASSERT_EQ(est->peaks.size(), 2u);
  const double wa = 6 * std::pow(1.9, 5), wb = 4 * std::pow(1.8, 5);
  EXPECT_NEAR(est->peaks[0].mass, wa / (wa + wb), 1e-12);
  EXPECT_NEAR(est->peaks[1].mass, wb / (wa + wb), 1e-12);
  EXPECT_LT(HaversineKm(est->peaks[0].pos, a), 0.001);
  EXPECT_LT(HaversineKm(est->peaks[1].pos, b), 0.001);
  EXPECT_THAT(est->peaks[0].neighbor_indices, ElementsAre(0, 1, 2, 3, 4, 5));
  EXPECT_THAT(est->peaks[1].neighbor_indices, ElementsAre(6, 7, 8, 9));
  EXPECT_EQ(est->peaks[1].support, 4);
}

TEST(SphericalKdeTest, ClusterAcrossTheAntimeridianIsOnePeakNear180) {
  const std::vector<LatLon> pts = {{-16.5, 179.998},
                                   {-16.5, 179.999},
                                   {-16.501, -179.999},
                                   {-16.499, -179.998},
                                   {-16.5, 179.9995}};
  auto peaks = FindSphericalKdePeaks(pts, Equal(pts.size()), KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok()) << peaks.status();
  ASSERT_EQ(peaks->size(), 1u);
  EXPECT_GT(std::abs((*peaks)[0].pos.lon), 179.99);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, {-16.5, 180}), 0.2);
}

TEST(SphericalKdeTest, RingAroundTheNorthPolePeaksAtThePole) {
  // Eight neighbours 222 m from the pole at longitudes 0, 45, ..., 315.
  std::vector<LatLon> pts;
  for (int i = 0; i < 8; ++i) pts.push_back({89.998, -180.0 + 45.0 * i});
  auto peaks = FindSphericalKdePeaks(pts, Equal(8), KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok()) << peaks.status();
  ASSERT_EQ(peaks->size(), 1u);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, {90, 0}), 0.001);
}

TEST(SphericalKdeTest, TwoPointsAreBimodalExactlyBeyondTwoBandwidths) {
  // Two equal Gaussians of standard deviation h have one mode when they are at most 2h apart and
  // two otherwise; for half-separation a, the modes sit at +-u with u = a tanh(a u / h^2).
  const double h = 1.0;
  const LatLon c{0, 0};
  for (double sep : {1.6, 2.6, 4.0}) {
    const double a = sep / 2;
    const std::vector<LatLon> pts = {DestinationPoint(c, 90, a), DestinationPoint(c, 270, a)};
    auto peaks = FindSphericalKdePeaks(pts, Equal(2), KdeOptions(h));
    ASSERT_TRUE(peaks.ok()) << peaks.status();
    if (sep <= 2 * h) {
      ASSERT_EQ(peaks->size(), 1u) << sep;
      EXPECT_LT(HaversineKm((*peaks)[0].pos, c), 0.001);
    } else {
      double u = a;
      for (int i = 0; i < 10000; ++i) u = a * std::tanh(a * u / (h * h));
      ASSERT_EQ(peaks->size(), 2u) << sep;
      for (const Peak& p : *peaks) {
        EXPECT_NEAR(HaversineKm(p.pos, c), u, 0.002) << sep;
        EXPECT_NEAR(p.mass, 0.5, 1e-12);
        EXPECT_EQ(p.support, 1);
      }
    }
  }
}

TEST(SphericalKdeTest, SingleNeighbourHasTheKernelRadius) {
  const std::vector<LatLon> one = {{-33.8688, 151.2093}};
  auto peaks = FindSphericalKdePeaks(one, {1.0}, KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok());
  ASSERT_EQ(peaks->size(), 1u);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, one[0]), 1e-9);
  EXPECT_NEAR((*peaks)[0].radius_km, 0.5 * std::sqrt(-2 * std::log(0.32)), 1e-9);
  EXPECT_NEAR((*peaks)[0].density, 1 / (2 * kPi * 0.25), 1e-9);
}

TEST(SphericalKdeTest, DuplicatesFormOnePeak) {
  const std::vector<LatLon> pts(7, LatLon{35.6762, 139.6503});
  auto peaks = FindSphericalKdePeaks(pts, Equal(7), KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok());
  ASSERT_EQ(peaks->size(), 1u);
  EXPECT_EQ((*peaks)[0].support, 7);
  EXPECT_NEAR((*peaks)[0].mass, 1, 1e-12);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, pts[0]), 1e-9);
}

TEST(SphericalKdeTest, MergeRadiusJoinsNearbyModes) {
  // Two tight clusters 3 km apart (h = 0.5): two modes; a 5 km merge radius makes them one peak at
  // the heavier cluster's mode, holding all the mass.
  const LatLon a{40.0, -3.7}, b = DestinationPoint(a, 0, 3);
  std::vector<LatLon> pts = Ring(a, 0.1, 3);
  for (const LatLon& p : Ring(b, 0.1, 2)) pts.push_back(p);
  EstimatorOptions o = KdeOptions(0.5);
  auto peaks = FindSphericalKdePeaks(pts, Equal(5), o);
  ASSERT_TRUE(peaks.ok());
  EXPECT_EQ(peaks->size(), 2u);
  o.merge_radius_km = 5;
  peaks = FindSphericalKdePeaks(pts, Equal(5), o);
  ASSERT_TRUE(peaks.ok());
  ASSERT_EQ(peaks->size(), 1u);
  EXPECT_NEAR((*peaks)[0].mass, 1, 1e-12);
  EXPECT_EQ((*peaks)[0].support, 5);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, a), 0.01);
}

TEST(SphericalKdeTest, MaxPeaksKeepsTheHeaviest) {
  std::vector<LatLon> pts;
  std::vector<double> w;
  const LatLon centres[] = {{10, 10}, {20, 20}, {30, 30}};
  const double shares[] = {0.2, 0.5, 0.3};
  for (int c = 0; c < 3; ++c) {
    for (const LatLon& p : Ring(centres[c], 0.1, 2)) {
      pts.push_back(p);
      w.push_back(shares[c] / 2);
    }
  }
  EstimatorOptions o = KdeOptions(0.5);
  o.max_peaks = 2;
  auto peaks = FindSphericalKdePeaks(pts, w, o);
  ASSERT_TRUE(peaks.ok());
  ASSERT_EQ(peaks->size(), 2u);
  EXPECT_NEAR((*peaks)[0].mass, 0.5, 1e-12);
  EXPECT_NEAR((*peaks)[1].mass, 0.3, 1e-12);
  EXPECT_LT(HaversineKm((*peaks)[0].pos, centres[1]), 0.01);
}

TEST(SphericalKdeTest, ResultDoesNotDependOnInputOrder) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> jitter(0, 0.4);
  std::uniform_real_distribution<double> bearing(0, 360);
  std::vector<LatLon> pts;
  std::vector<double> w;
  for (int i = 0; i < 60; ++i) {
    const LatLon c = i % 3 == 0 ? LatLon{51.5, -0.12} : LatLon{51.52, -0.10};
    pts.push_back(DestinationPoint(c, bearing(rng), std::abs(jitter(rng))));
    w.push_back(1.0 + (i % 7));
  }
  auto first = FindSphericalKdePeaks(pts, w, KdeOptions(0.5));
  ASSERT_TRUE(first.ok());
  std::vector<int> perm(pts.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(perm.size() - 1 - i);
  std::vector<LatLon> pts2;
  std::vector<double> w2;
  for (int i : perm) {
    pts2.push_back(pts[i]);
    w2.push_back(w[i]);
  }
  auto second = FindSphericalKdePeaks(pts2, w2, KdeOptions(0.5));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(first->size(), second->size());
  for (size_t p = 0; p < first->size(); ++p) {
    EXPECT_LT(HaversineKm((*first)[p].pos, (*second)[p].pos), 0.005);
    EXPECT_NEAR((*first)[p].mass, (*second)[p].mass, 1e-9);
  }
}

TEST(SphericalKdeTest, PeaksAreLocalMaximaOfTheDensity) {
  // Whatever the data, each peak must be a local maximum: the density 20 m away in any direction
  // is not higher.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-0.02, 0.02);
  std::vector<LatLon> pts;
  for (int i = 0; i < 40; ++i) pts.push_back({45 + u(rng), 7 + u(rng)});
  const std::vector<double> w = Equal(pts.size());
  auto peaks = FindSphericalKdePeaks(pts, w, KdeOptions(0.3));
  ASSERT_TRUE(peaks.ok());
  for (const Peak& p : *peaks) {
    const double f = SphericalKdeDensity(pts, w, 0.3, p.pos);
    EXPECT_NEAR(p.density, f, 1e-9 * f);
    for (int b = 0; b < 360; b += 45) {
      EXPECT_LE(SphericalKdeDensity(pts, w, 0.3, DestinationPoint(p.pos, b, 0.02)), f * (1 + 1e-9));
    }
  }
}

TEST(SphericalKdeTest, DensestPeakIsTheGlobalMaximumOnAFineGrid) {
  // A cloud twice as wide as the bandwidth (the regime where plain mean-shift crawls and the
  // Newton and over-relaxed steps do the work): the densest peak must match a brute-force search
  // of the density on a 10 m grid.
  std::mt19937_64 rng(17);
  std::normal_distribution<double> g(0, 1.0);
  std::uniform_real_distribution<double> bearing(0, 360);
  const LatLon centre{-23.55, -46.63};
  std::vector<LatLon> pts;
  for (int i = 0; i < 100; ++i) {
    const double x = g(rng), y = g(rng);
    pts.push_back(DestinationPoint(centre, bearing(rng), std::hypot(x, y)));
  }
  const std::vector<double> w = Equal(pts.size());
  auto peaks = FindSphericalKdePeaks(pts, w, KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok());
  double best_peak = 0;
  for (const Peak& p : *peaks) best_peak = std::max(best_peak, p.density);
  // 50 m cells over 8 x 8 km, then 5 m cells around the best coarse cell.
  const TangentPlane plane(centre);
  double best_grid = 0;
  TangentPlane::Point best_cell;
  for (double e = -4; e <= 4; e += 0.05) {
    for (double n = -4; n <= 4; n += 0.05) {
      const double f = SphericalKdeDensity(pts, w, 0.5, plane.FromLocal({e, n}));
      if (f > best_grid) {
        best_grid = f;
        best_cell = {e, n};
      }
    }
  }
  for (double e = -0.1; e <= 0.1; e += 0.005) {
    for (double n = -0.1; n <= 0.1; n += 0.005) {
      const LatLon at = plane.FromLocal({best_cell.east_km + e, best_cell.north_km + n});
      best_grid = std::max(best_grid, SphericalKdeDensity(pts, w, 0.5, at));
    }
  }
  // The grid can only miss the true maximum by a little (5 m cells); the peak must not be lower.
  EXPECT_GE(best_peak, best_grid * (1 - 1e-9));
  EXPECT_LE(best_peak, best_grid * (1 + 1e-3));
}

TEST(SphericalKdeTest, IterationCapStillGivesValidPeaks) {
  EstimatorOptions o = KdeOptions(0.5);
  o.max_iterations = 1;
  const std::vector<LatLon> pts = Ring({0, 0}, 0.4, 6);
  auto peaks = FindSphericalKdePeaks(pts, Equal(6), o);
  ASSERT_TRUE(peaks.ok());
  ASSERT_FALSE(peaks->empty());
  double mass = 0;
  int support = 0;
  for (const Peak& p : *peaks) {
    EXPECT_TRUE(ValidateLatLon(p.pos).ok());
    mass += p.mass;
    support += p.support;
  }
  EXPECT_NEAR(mass, 1, 1e-12);
  EXPECT_EQ(support, 6);
}

TEST(SphericalKdeTest, ZeroWeightLoneNeighbourIsAZeroMassPeakLast) {
  const std::vector<LatLon> pts = {{0, 0}, {0, 0.001}, {5, 5}};
  auto peaks = FindSphericalKdePeaks(pts, {0.5, 0.5, 0.0}, KdeOptions(0.5));
  ASSERT_TRUE(peaks.ok()) << peaks.status();
  ASSERT_EQ(peaks->size(), 2u);
  EXPECT_NEAR((*peaks)[0].mass, 1, 1e-12);
  EXPECT_EQ((*peaks)[1].mass, 0);
  EXPECT_EQ((*peaks)[1].density, 0);
  EXPECT_THAT((*peaks)[1].neighbor_indices, ElementsAre(2));
}

TEST(SphericalKdeTest, RejectsBadInputs) {
  const std::vector<LatLon> pts = {{0, 0}, {1, 1}};
  EXPECT_EQ(FindSphericalKdePeaks(pts, {1.0}, KdeOptions(0.5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindSphericalKdePeaks(pts, {1.0, -1.0}, KdeOptions(0.5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindSphericalKdePeaks({}, {}, KdeOptions(0.5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindSphericalKdePeaks(pts, {1.0, 1.0}, KdeOptions(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<LatLon> bad = {{0, 0}, {0, 200}};
  EXPECT_EQ(FindSphericalKdePeaks(bad, {1.0, 1.0}, KdeOptions(0.5)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
