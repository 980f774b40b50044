#include "core/places/nearest_point_index.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"
#include "gtest/gtest.h"

namespace geoloc::places {
namespace {

// Uniform on the sphere: a normalised Gaussian vector.
geo::LatLon RandomPoint(std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  geo::Vec3 v{normal(rng), normal(rng), normal(rng)};
  return geo::FromUnitVector(v);
}

double BruteForceNearestKm(const std::vector<geo::LatLon>& points, geo::LatLon q) {
  double best = std::numeric_limits<double>::infinity();
  for (const geo::LatLon& p : points) best = std::min(best, geo::HaversineKm(p, q));
  return best;
}

// The index's answer is as near as the brute-force minimum (ties may pick another point).
void ExpectNearest(const NearestPointIndex& index, const std::vector<geo::LatLon>& points,
                   geo::LatLon q) {
  const std::optional<size_t> i = index.Nearest(q);
  ASSERT_TRUE(i.has_value());
  ASSERT_LT(*i, points.size());
  EXPECT_NEAR(geo::HaversineKm(points[*i], q), BruteForceNearestKm(points, q), 1e-6)
      << "query " << q.lat << "," << q.lon;
}

TEST(NearestPointIndexTest, MatchesBruteForceForUniformPoints) {
  std::mt19937_64 rng(7);
  std::vector<geo::LatLon> points;
  for (int i = 0; i < 3000; ++i) points.push_back(RandomPoint(rng));
  const NearestPointIndex index(points);
  EXPECT_EQ(index.size(), points.size());
  for (int i = 0; i < 2000; ++i) ExpectNearest(index, points, RandomPoint(rng));
  // Every point is its own nearest.
  for (size_t i = 0; i < points.size(); i += 37) {
    EXPECT_NEAR(geo::HaversineKm(points[*index.Nearest(points[i])], points[i]), 0.0, 1e-6);
  }
}

TEST(NearestPointIndexTest, MatchesBruteForceForClusteredPointsAndDuplicates) {
  // Dense clusters (towns a few km apart) and exact duplicates, as in a gazetteer.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> bearing(0, 360), km(0, 30);
  std::vector<geo::LatLon> points;
  for (int c = 0; c < 40; ++c) {
    const geo::LatLon centre = RandomPoint(rng);
    for (int i = 0; i < 60; ++i) points.push_back(geo::DestinationPoint(centre, bearing(rng), km(rng)));
    for (int i = 0; i < 5; ++i) points.push_back(centre);
  }
  const NearestPointIndex index(points);
  for (int i = 0; i < 1500; ++i) {
    const geo::LatLon near = points[rng() % points.size()];
    ExpectNearest(index, points, geo::DestinationPoint(near, bearing(rng), km(rng) / 3));
    ExpectNearest(index, points, RandomPoint(rng));
  }
}

TEST(NearestPointIndexTest, NoSeamAtTheAntimeridianOrThePoles) {
  const std::vector<geo::LatLon> points{
      {10.0, 179.9}, {10.0, -179.8}, {10.0, 170.0}, {89.9, 0.0}, {89.9, 180.0}, {-89.5, 45.0}};
  const NearestPointIndex index(points);
  // Just west of the antimeridian, 0.1 degree from the point on the far side of it.
  EXPECT_EQ(index.Nearest({10.0, 179.95}), 0u);
  EXPECT_EQ(index.Nearest({10.0, -179.85}), 1u);
  // Longitudes wrap.
  EXPECT_EQ(index.Nearest({10.0, 179.95 - 360.0}), 0u);
  EXPECT_EQ(index.Nearest({10.0, 540.2}), 1u);
  // At the pole every longitude meets: the nearer of the two polar points by latitude wins.
  EXPECT_EQ(index.Nearest({89.95, 170.0}), 4u);
  EXPECT_EQ(index.Nearest({90.0, 0.0}).has_value(), true);
  EXPECT_EQ(index.Nearest({-90.0, -120.0}), 5u);
  // Latitudes beyond the poles are clamped.
  EXPECT_EQ(index.Nearest({-95.0, 0.0}), 5u);
}

TEST(NearestPointIndexTest, EmptySetsAndNonFiniteQueriesHaveNoAnswer) {
  const NearestPointIndex empty(std::vector<geo::LatLon>{});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_FALSE(empty.Nearest({0, 0}).has_value());
  const NearestPointIndex one(std::vector<geo::LatLon>{{1, 2}});
  EXPECT_EQ(one.Nearest({-80, 100}), 0u);
  EXPECT_FALSE(one.Nearest({std::nan(""), 0}).has_value());
  EXPECT_FALSE(one.Nearest({0, std::numeric_limits<double>::infinity()}).has_value());
}

}  // namespace
}  // namespace geoloc::places
