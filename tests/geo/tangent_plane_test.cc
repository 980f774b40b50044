#include "core/geo/tangent_plane.h"

#include <cmath>
#include <random>

#include "core/geo/distance.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

constexpr double kKmPerDegree = kPi * kEarthRadiusKm / 180;  // 111.195 km

TEST(TangentPlaneTest, AxesPointEastAndNorth) {
  const TangentPlane plane({48.8566, 2.3522});
  const TangentPlane::Point origin = plane.ToLocal({48.8566, 2.3522});
  EXPECT_EQ(origin.east_km, 0);
  EXPECT_EQ(origin.north_km, 0);
  const TangentPlane::Point n = plane.ToLocal(DestinationPoint(plane.origin(), 0, 1.0));
  EXPECT_NEAR(n.east_km, 0, 1e-9);
  EXPECT_NEAR(n.north_km, 1, 1e-9);
  const TangentPlane::Point e = plane.ToLocal(DestinationPoint(plane.origin(), 90, 2.5));
  EXPECT_NEAR(e.east_km, 2.5, 1e-9);
  EXPECT_NEAR(e.north_km, 0, 1e-9);
}

TEST(TangentPlaneTest, DistancesAndBearingsFromTheOriginAreExact) {
  // The defining property of the azimuthal equidistant projection, checked far out too.
  const TangentPlane plane({-33.8688, 151.2093});
  for (LatLon p : {LatLon{35.6762, 139.6503}, LatLon{-34, 151.3}, LatLon{51.5, -0.13}}) {
    const TangentPlane::Point q = plane.ToLocal(p);
    EXPECT_NEAR(std::hypot(q.east_km, q.north_km), HaversineKm(plane.origin(), p), 1e-8);
    double bearing = std::atan2(q.east_km, q.north_km) * kRadToDeg;
    if (bearing < 0) bearing += 360;
    EXPECT_NEAR(bearing, InitialBearingDeg(plane.origin(), p), 1e-8);
  }
}

TEST(TangentPlaneTest, RoundTripsEverywhereIncludingPolesAndAntimeridian) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> brg(0, 360), log_km(-3, 3.5);
  for (LatLon origin :
       {LatLon{50.0875, 14.4214}, LatLon{90, 0}, LatLon{-90, 37}, LatLon{89.9999, 120},
        LatLon{10, 180}, LatLon{-10, -180}, LatLon{0, 179.9999}}) {
    const TangentPlane plane(origin);
    for (int t = 0; t < 300; ++t) {
      const LatLon p = DestinationPoint(origin, brg(rng), std::pow(10.0, log_km(rng)));
      const TangentPlane::Point q = plane.ToLocal(p);
      EXPECT_LT(HaversineKm(plane.FromLocal(q), p), 1e-9) << FormatLatLon(origin);
      const TangentPlane::Point q2 = plane.ToLocal(plane.FromLocal(q));
      EXPECT_NEAR(q2.east_km, q.east_km, 1e-8);
      EXPECT_NEAR(q2.north_km, q.north_km, 1e-8);
    }
  }
}

TEST(TangentPlaneTest, NoSeamAtLongitude180) {
  // 0.001 degrees east of the antimeridian is 111 m east, not 40000 km west.
  const TangentPlane plane({0, 180});
  const TangentPlane::Point q = plane.ToLocal({0, -179.999});
  EXPECT_NEAR(q.east_km, 0.001 * kKmPerDegree, 1e-9);
  EXPECT_NEAR(q.north_km, 0, 1e-9);
  const TangentPlane::Point w = plane.ToLocal({0, 179.999});
  EXPECT_NEAR(w.east_km, -0.001 * kKmPerDegree, 1e-9);
}

TEST(TangentPlaneTest, WorksAtThePole) {
  const TangentPlane plane({90, 0});
  // Every point 0.01 degrees from the pole is 1.112 km away, whatever its longitude.
  for (double lon : {-180.0, -90.0, 0.0, 45.0, 179.0}) {
    const TangentPlane::Point q = plane.ToLocal({89.99, lon});
    EXPECT_NEAR(std::hypot(q.east_km, q.north_km), 0.01 * kKmPerDegree, 1e-9) << lon;
  }
  // Points on opposite meridians are on opposite sides of the origin.
  const TangentPlane::Point a = plane.ToLocal({89.99, 30});
  const TangentPlane::Point b = plane.ToLocal({89.99, -150});
  EXPECT_NEAR(a.east_km, -b.east_km, 1e-9);
  EXPECT_NEAR(a.north_km, -b.north_km, 1e-9);
}

TEST(TangentPlaneTest, AntipodeAndOrigin) {
  const TangentPlane plane({20, 30});
  const TangentPlane::Point q = plane.ToLocal({-20, -150});
  EXPECT_NEAR(std::hypot(q.east_km, q.north_km), kHalfCircumferenceKm, 1e-6);
  EXPECT_LT(HaversineKm(plane.FromLocal(q), {-20, -150}), 1e-6);
  const LatLon o = plane.FromLocal({0, 0});
  EXPECT_EQ(o.lat, 20);
  EXPECT_EQ(o.lon, 30);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
