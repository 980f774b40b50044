// OuterPolygon: the polygon a location object carries must contain the region it stands for
// (so the region's confidence stays a lower bound), within RFC 5491's 15 vertices, convex and
// counter-clockwise, everywhere on the globe. Containment and convexity are checked on the sphere
// with sphere_checks.h, independently of the code's own projection.
#include "proto/outer_polygon.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/tangent_plane.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/sphere_checks.h"

namespace geoloc::pidf {
namespace {

using client::sphere_checks::LongestEdgeKm;
using client::sphere_checks::MinDistanceInsideM;
using client::sphere_checks::MinLeftTurnM;

constexpr double kPi = 3.14159265358979323846;

// A star-shaped counter-clockwise ring around `center`: vertices at decreasing bearings (bearings
// turn clockwise), consecutive bearings less than 180 degrees apart, distances in
// [min_share, 1] x radius_km.
std::vector<geo::LatLon> StarRing(std::mt19937& rng, geo::LatLon center, double radius_km, int n,
                                  double min_share = 0.2) {
  std::uniform_real_distribution<double> jitter(0.0, 0.9);
  std::uniform_real_distribution<double> share(min_share, 1.0);
  const double step = 360.0 / n;
  std::vector<geo::LatLon> ring;
  for (int i = 0; i < n; ++i) {
    const double bearing = 360.0 - (i + jitter(rng)) * step;
    ring.push_back(geo::DestinationPoint(center, bearing, radius_km * share(rng)));
  }
  return ring;
}

std::vector<geo::LatLon> Circle(geo::LatLon center, double radius_km, int n) {
  std::vector<geo::LatLon> ring;
  for (int i = 0; i < n; ++i) {
    ring.push_back(geo::DestinationPoint(center, 360.0 - i * 360.0 / n, radius_km));
  }
  return ring;
}

// Area in km^2 of a small ring, in the tangent plane at `origin`.
double AreaKm2(const std::vector<geo::LatLon>& ring, geo::LatLon origin) {
  const geo::TangentPlane plane(origin);
  double twice = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    const auto a = plane.ToLocal(ring[i]);
    const auto b = plane.ToLocal(ring[(i + 1) % ring.size()]);
    twice += a.east_km * b.north_km - b.east_km * a.north_km;
  }
  return twice / 2;
}

// The checks every result must pass: vertex count, convex and counter-clockwise, contains every
// vertex and every edge midpoint of `ring` at least `inside_m` inside, longitudes in range, short
// edges whenever a vertex was left to split them.
void ExpectOuterPolygon(const std::vector<geo::LatLon>& ring,
                        const std::vector<geo::LatLon>& polygon, double inside_m) {
  ASSERT_GE(polygon.size(), 3u);
  ASSERT_LE(polygon.size(), 15u);
  EXPECT_GE(MinLeftTurnM(polygon), -1e-6);
  for (const geo::LatLon& p : polygon) {
    EXPECT_GE(p.lon, -180.0);
    EXPECT_LT(p.lon, 180.0);
    EXPECT_LE(std::abs(p.lat), 90.0);
  }
  for (size_t i = 0; i < ring.size(); ++i) {
    ASSERT_GE(MinDistanceInsideM(polygon, ring[i]), inside_m) << "vertex " << i;
    const geo::Vec3 mid =
        geo::ToUnitVector(ring[i]) + geo::ToUnitVector(ring[(i + 1) % ring.size()]);
    ASSERT_GE(MinDistanceInsideM(polygon, geo::FromUnitVector(mid)), inside_m) << "edge " << i;
  }
  if (polygon.size() < 15) {
    EXPECT_LE(LongestEdgeKm(polygon), kRfc5491MaxEdgeKm * (1 + 1e-9));
  }
}

TEST(OuterPolygonTest, RandomRingsAreContainedWithinTheLimits) {
  std::mt19937 rng(20261207);
  std::uniform_real_distribution<double> lat(-89.9, 89.9);
  std::uniform_real_distribution<double> lon(-180.0, 180.0);
  std::uniform_real_distribution<double> log_radius(std::log(0.001), std::log(2500.0));
  std::uniform_int_distribution<int> vertices(3, 300);
  // Every fourth ring sits on the antimeridian or at a pole.
  const geo::LatLon special[] = {{0, 180}, {-35, -179.99}, {66, 179.9}, {89.9, 0}, {-90, 0}};
  OuterPolygonOptions options;
  options.margin_m = 0.02;
  for (int trial = 0; trial < 2000; ++trial) {
    const geo::LatLon center =
        trial % 4 == 0 ? special[(trial / 4) % 5] : geo::LatLon{lat(rng), lon(rng)};
    const double radius_km = std::exp(log_radius(rng));
    const std::vector<geo::LatLon> ring = StarRing(rng, center, radius_km, vertices(rng));
    absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(ring, options);
    ASSERT_TRUE(polygon.ok()) << "trial " << trial << ": " << polygon.status();
    SCOPED_TRACE(::testing::Message() << "trial " << trial << " centre " << center.lat << ","
                                      << center.lon << " radius " << radius_km << " km");
    ExpectOuterPolygon(ring, *polygon, 0.95 * options.margin_m);
  }
}

TEST(OuterPolygonTest, WithoutMarginTheOriginalMayTouchButNotCross) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const std::vector<geo::LatLon> ring =
        StarRing(rng, {48.85 + trial * 0.1, 2.35 + trial * 0.5}, 40.0, 50 + trial);
    absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(ring);
    ASSERT_TRUE(polygon.ok()) << polygon.status();
    ExpectOuterPolygon(ring, *polygon, -1e-6);
  }
}

TEST(OuterPolygonTest, SmallConvexRingKeepsItsVertices) {
  const std::vector<geo::LatLon> octagon = Circle({48.8582, 2.2945}, 50.0, 8);
  absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(octagon);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  ASSERT_EQ(polygon->size(), 8u);  // edges of 38 km: nothing to split
  for (const geo::LatLon& v : octagon) {
    double nearest = 1e9;
    for (const geo::LatLon& p : *polygon) nearest = std::min(nearest, geo::HaversineKm(v, p));
    EXPECT_LT(nearest * 1000, 1e-3) << v.lat << "," << v.lon;
  }
}

TEST(OuterPolygonTest, ManyVerticesBecomeATightFifteenGon) {
  // The best 15-gon around a circle (regular, circumscribed) has (15 / pi) tan(pi / 15) = 1.0147
  // times its area; the greedy removal must come close.
  const geo::LatLon centre{-33.86, 151.21};
  const std::vector<geo::LatLon> circle = Circle(centre, 20.0, 360);
  absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(circle);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  EXPECT_EQ(polygon->size(), 15u);
  ExpectOuterPolygon(circle, *polygon, -1e-6);
  const double ratio = AreaKm2(*polygon, centre) / AreaKm2(circle, centre);
  EXPECT_GE(ratio, 1.0);
  EXPECT_LE(ratio, 1.03);

  // A long thin ring (80 km x 8 km ellipse): still a snug hull, not a bounding circle.
  std::vector<geo::LatLon> ellipse;
  const geo::TangentPlane plane(centre);
  for (int i = 0; i < 200; ++i) {
    const double t = 2 * kPi * i / 200;
    ellipse.push_back(plane.FromLocal({40.0 * std::cos(t), 4.0 * std::sin(t)}));
  }
  polygon = OuterPolygon(ellipse);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  ExpectOuterPolygon(ellipse, *polygon, -1e-6);
  EXPECT_LE(AreaKm2(*polygon, centre) / AreaKm2(ellipse, centre), 1.05);
}

TEST(OuterPolygonTest, LongEdgesAreSplitWhileVerticesAreLeft) {
  // A square of 200 km sides: every side split once, into 100 km arcs on the same great circles.
  const geo::TangentPlane plane({45.0, 10.0});
  const std::vector<geo::LatLon> square = {
      plane.FromLocal({-100, -100}), plane.FromLocal({100, -100}), plane.FromLocal({100, 100}),
      plane.FromLocal({-100, 100})};
  absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(square);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  EXPECT_EQ(polygon->size(), 8u);
  EXPECT_LE(LongestEdgeKm(*polygon), 101.0);
  ExpectOuterPolygon(square, *polygon, -1e-6);

  // 1000 km sides cannot be cut under 130 km with 15 vertices: all 15 are used, the rest stays.
  const std::vector<geo::LatLon> large = {plane.FromLocal({-500, -500}),
                                          plane.FromLocal({500, -500}), plane.FromLocal({500, 500}),
                                          plane.FromLocal({-500, 500})};
  polygon = OuterPolygon(large);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  EXPECT_EQ(polygon->size(), 15u);
  EXPECT_GT(LongestEdgeKm(*polygon), kRfc5491MaxEdgeKm);
  ExpectOuterPolygon(large, *polygon, -1e-6);
}

TEST(OuterPolygonTest, AntimeridianAndPoles) {
  std::mt19937 rng(3);
  // Over Fiji, across +-180: vertices on both sides, the polygon still holds them.
  const std::vector<geo::LatLon> fiji = StarRing(rng, {-17.7, 180.0}, 150.0, 120);
  absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(fiji);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  ExpectOuterPolygon(fiji, *polygon, -1e-6);
  EXPECT_TRUE(std::any_of(polygon->begin(), polygon->end(),
                          [](const geo::LatLon& p) { return p.lon > 179; }));
  EXPECT_TRUE(std::any_of(polygon->begin(), polygon->end(),
                          [](const geo::LatLon& p) { return p.lon < -179; }));

  // Around the North Pole: the pole itself is inside.
  const std::vector<geo::LatLon> cap = Circle({89.5, 30.0}, 200.0, 90);
  polygon = OuterPolygon(cap);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  ExpectOuterPolygon(cap, *polygon, -1e-6);
  EXPECT_GT(MinDistanceInsideM(*polygon, {90.0, 0.0}), 100e3);
}

TEST(OuterPolygonTest, TinyAndDegenerateRingsGetTheMargin) {
  const geo::LatLon point{51.5007, -0.1246};
  const std::vector<geo::LatLon> same_point = {point, point, point};
  OuterPolygonOptions options;
  options.margin_m = 0.02;
  absl::StatusOr<std::vector<geo::LatLon>> polygon = OuterPolygon(same_point, options);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  EXPECT_EQ(polygon->size(), 4u);
  EXPECT_GE(MinDistanceInsideM(*polygon, point), 0.019);
  for (const geo::LatLon& p : *polygon) EXPECT_LT(geo::HaversineKm(p, point) * 1000, 0.05);

  // Three points on one line, 30 cm long.
  const geo::TangentPlane plane(point);
  const std::vector<geo::LatLon> line = {plane.FromLocal({0, 0}), plane.FromLocal({0.0003, 0}),
                                         plane.FromLocal({0.00015, 0})};
  polygon = OuterPolygon(line, options);
  ASSERT_TRUE(polygon.ok()) << polygon.status();
  for (const geo::LatLon& p : line) EXPECT_GE(MinDistanceInsideM(*polygon, p), 0.019);

  // Without a margin a point has no polygon.
  EXPECT_EQ(OuterPolygon(same_point).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OuterPolygonTest, RefusesWhatNoConvexPolygonCanHold) {
  EXPECT_EQ(OuterPolygon(std::vector<geo::LatLon>{{0, 0}, {1, 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OuterPolygon(std::vector<geo::LatLon>{{0, 0}, {91, 1}, {0, 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<geo::LatLon> clockwise = Circle({10, 10}, 100, 12);
  std::reverse(clockwise.begin(), clockwise.end());
  EXPECT_EQ(OuterPolygon(clockwise).status().code(), absl::StatusCode::kInvalidArgument);
  // 9,000 km from its centre: more than a hemisphere's convex polygons can hold.
  EXPECT_EQ(OuterPolygon(Circle({0, 0}, 9000, 24)).status().code(), absl::StatusCode::kOutOfRange);
  OuterPolygonOptions triangle;
  triangle.max_vertices = 3;
  EXPECT_EQ(OuterPolygon(Circle({0, 0}, 10, 24), triangle).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::pidf
