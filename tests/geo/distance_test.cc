#include "core/geo/distance.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

// City coordinates (city centres, decimal degrees).
constexpr LatLon kLondon{51.5074, -0.1278};
constexpr LatLon kParis{48.8566, 2.3522};
constexpr LatLon kNewYork{40.7128, -74.0060};
constexpr LatLon kLosAngeles{34.0522, -118.2437};
constexpr LatLon kSydney{-33.8688, 151.2093};
constexpr LatLon kTokyo{35.6762, 139.6503};

void ExpectWithinRelative(double actual, double expected, double rel) {
  EXPECT_NEAR(actual, expected, rel * expected) << "expected about " << expected;
}

TEST(HaversineTest, CityPairsMatchPublishedFiguresWithinHalfAPercent) {
  // Published great-circle figures: London-Paris 343.5 km, New York-Los Angeles 3936 km,
  // Sydney-Tokyo 7792 km (the last is the WGS84 ellipsoidal distance; a sphere gives 7826 km,
  // 0.43% more: "great-circle distance formulas ... are accurate to within about 0.5%",
  // Wikipedia, Great-circle distance). Second source for the haversine itself: the checks below.
  ExpectWithinRelative(HaversineKm(kLondon, kParis), 343.5, 0.005);
  ExpectWithinRelative(HaversineKm(kNewYork, kLosAngeles), 3936.0, 0.005);
  ExpectWithinRelative(HaversineKm(kSydney, kTokyo), 7792.0, 0.005);
}

TEST(HaversineTest, MatchesPublishedSphereProblemsExactly) {
  // Baekjoon 4167 "Waterloo to Cairo": sphere of radius 6371009 m (1 m above ours), great circle
  // 9293521 m from (43.466667, -80.516667) to (30.058056, 31.228889).
  const double waterloo_cairo =
      HaversineKm({43.466667, -80.516667}, {30.058056, 31.228889}) * 6371.009 / kEarthRadiusKm;
  EXPECT_NEAR(waterloo_cairo, 9293.521, 0.001);
  // Aizu Online Judge 0177 "Distance Between Two Cities": sphere of radius 6378.1 km, answers
  // rounded to whole km: Tokyo-London 9609, Singapore-Chicago 15092, London-Buenos Aires 11112.
  const double scale = 6378.1 / kEarthRadiusKm;
  EXPECT_NEAR(HaversineKm({35.68, 139.77}, {51.15, 359.82}) * scale, 9609, 0.5);
  EXPECT_NEAR(HaversineKm({1.37, 103.92}, {41.78, 272.25}) * scale, 15092, 0.5);
  EXPECT_NEAR(HaversineKm({51.15, 359.82}, {-34.58, 301.52}) * scale, 11112, 0.5);
  // Project Lovelace "Flight paths": radius 6372.1 km, 17760.054 km.
  EXPECT_NEAR(HaversineKm({46.283, 86.667}, {-48.877, -123.393}) * 6372.1 / kEarthRadiusKm,
              17760.054, 0.001);
}

TEST(HaversineTest, ElementaryCases) {
  EXPECT_EQ(HaversineKm(kParis, kParis), 0);
  EXPECT_DOUBLE_EQ(HaversineKm(kParis, kTokyo), HaversineKm(kTokyo, kParis));
  EXPECT_NEAR(HaversineKm({0, 0}, {0, 180}), kHalfCircumferenceKm, 1e-9);
  EXPECT_NEAR(HaversineKm({90, 0}, {-90, 0}), kHalfCircumferenceKm, 1e-9);
  // A degree of latitude is pi R / 180 = 111.195 km; a degree of longitude at 60 N is half that
  // along the parallel but the great circle is slightly shorter.
  EXPECT_NEAR(HaversineKm({10, 20}, {11, 20}), kPi * kEarthRadiusKm / 180, 1e-9);
  EXPECT_LT(HaversineKm({60, 0}, {60, 1}), kPi * kEarthRadiusKm / 360);
  // Across the antimeridian: 0.002 degrees of longitude on the equator, not 359.998.
  EXPECT_NEAR(HaversineKm({0, 179.999}, {0, -179.999}), 0.002 * kDegToRad * kEarthRadiusKm, 1e-9);
  // Longitudes need not be normalised.
  EXPECT_NEAR(HaversineKm({5, 190}, {5, -170}), 0, 1e-9);
  // Centimetres stay resolvable.
  EXPECT_NEAR(HaversineKm({0, 0}, {1e-7, 0}), 1e-7 * kDegToRad * kEarthRadiusKm, 1e-12);
}

TEST(InitialBearingTest, ClosedFormCases) {
  EXPECT_NEAR(InitialBearingDeg({0, 0}, {0, 90}), 90, 1e-9);
  EXPECT_NEAR(InitialBearingDeg({0, 0}, {0, -90}), 270, 1e-9);
  EXPECT_NEAR(InitialBearingDeg({0, 0}, {10, 0}), 0, 1e-9);
  EXPECT_NEAR(InitialBearingDeg({0, 0}, {-10, 0}), 180, 1e-9);
  // Along a parallel at latitude phi, 90 degrees of longitude apart: tan(bearing) = 1 / sin(phi),
  // i.e. 60.1624 degrees at 35 N (spherical trigonometry by hand).
  EXPECT_NEAR(InitialBearingDeg({35, 45}, {35, 135}),
              std::atan(1 / std::sin(35 * kDegToRad)) * kRadToDeg, 1e-9);
  // Wikipedia, Great-circle navigation, worked example: Valparaiso (-33, -71.6) to Shanghai
  // (31.4, 121.8): alpha1 = -94.41 degrees, sigma12 = 168.56 degrees.
  EXPECT_NEAR(InitialBearingDeg({-33, -71.6}, {31.4, 121.8}), 360 - 94.41, 0.005);
  EXPECT_NEAR(HaversineKm({-33, -71.6}, {31.4, 121.8}), 168.56 * kDegToRad * kEarthRadiusKm, 1.0);
  // From the North Pole along its own meridian convention: 180 - dlon.
  EXPECT_NEAR(InitialBearingDeg({90, 0}, {80, 30}), 150, 1e-9);
  EXPECT_NEAR(InitialBearingDeg({90, 0}, {80, 0}), 180, 1e-9);
  EXPECT_EQ(InitialBearingDeg({12, 34}, {12, 34}), 0);
}

TEST(DestinationPointTest, ClosedFormCases) {
  const double quarter = kHalfCircumferenceKm / 2;
  LatLon p = DestinationPoint({0, 0}, 90, quarter);
  EXPECT_NEAR(p.lat, 0, 1e-12);
  EXPECT_NEAR(p.lon, 90, 1e-12);
  p = DestinationPoint({0, 0}, 0, quarter);
  EXPECT_NEAR(p.lat, 90, 1e-12);
  // Due south from the North Pole, 1000 km.
  p = DestinationPoint({90, 0}, 180, 1000);
  EXPECT_NEAR(p.lat, 90 - 1000 / kEarthRadiusKm * kRadToDeg, 1e-12);
  EXPECT_NEAR(p.lon, 0, 1e-9);
  // East across the antimeridian.
  p = DestinationPoint({0, 179.99}, 90, 0.02 * kDegToRad * kEarthRadiusKm);
  EXPECT_NEAR(p.lat, 0, 1e-12);
  EXPECT_NEAR(p.lon, -179.99, 1e-9);
}

TEST(DestinationPointTest, RoundTripsWithDistanceAndBearing) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180), brg(0, 360);
  std::uniform_real_distribution<double> log_km(-3, 4);  // 1 m .. 10000 km
  for (int t = 0; t < 2000; ++t) {
    const LatLon from{lat(rng), lon(rng)};
    const double bearing = brg(rng);
    const double km = std::pow(10.0, log_km(rng));
    const LatLon to = DestinationPoint(from, bearing, km);
    EXPECT_NEAR(HaversineKm(from, to), km, 1e-9 + 1e-10 * km);
    double diff = std::abs(InitialBearingDeg(from, to) - bearing);
    diff = std::min(diff, 360 - diff);
    EXPECT_LT(diff, 1e-6) << "from " << FormatLatLon(from) << " bearing " << bearing;
  }
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
