#include "core/geo/lat_lon.h"

#include <cmath>
#include <limits>

#include "core/geo/unit_vector.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ValidateLatLonTest, AcceptsTheClosedRanges) {
  EXPECT_TRUE(ValidateLatLon({0, 0}).ok());
  EXPECT_TRUE(ValidateLatLon({90, 180}).ok());
  EXPECT_TRUE(ValidateLatLon({-90, -180}).ok());
  EXPECT_TRUE(ValidateLatLon({50.0875, 14.4214}).ok());
}

TEST(ValidateLatLonTest, RejectsOutOfRangeAndNonFinite) {
  for (LatLon p : {LatLon{90.0001, 0}, LatLon{-91, 0}, LatLon{0, 180.5}, LatLon{0, -181},
                   LatLon{kNaN, 0}, LatLon{0, kNaN}, LatLon{kInf, 0}, LatLon{0, -kInf}}) {
    const absl::Status s = ValidateLatLon(p);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << FormatLatLon(p);
  }
  EXPECT_NE(ValidateLatLon({95, 0}).message().find("latitude"), absl::string_view::npos);
  EXPECT_NE(ValidateLatLon({0, 200}).message().find("longitude"), absl::string_view::npos);
}

TEST(NormalizeLongitudeTest, MapsIntoHalfOpenRange) {
  EXPECT_DOUBLE_EQ(NormalizeLongitude(0), 0);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(179.5), 179.5);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(180), -180);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(-180), -180);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(181), -179);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(-181), 179);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(540), -180);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(725), 5);
  EXPECT_DOUBLE_EQ(NormalizeLongitude(-725), -5);
  EXPECT_TRUE(std::isnan(NormalizeLongitude(kNaN)));
  EXPECT_TRUE(std::isnan(NormalizeLongitude(kInf)));
  // A value that rounds to exactly 180 after shifting must still land in [-180, 180).
  const double r = NormalizeLongitude(-180.0 - 1e-14);
  EXPECT_GE(r, -180.0);
  EXPECT_LT(r, 180.0);
}

TEST(UnitVectorTest, KnownAxes) {
  const Vec3 a = ToUnitVector({0, 0});
  EXPECT_NEAR(a.x, 1, 1e-15);
  EXPECT_NEAR(a.y, 0, 1e-15);
  const Vec3 b = ToUnitVector({0, 90});
  EXPECT_NEAR(b.y, 1, 1e-15);
  const Vec3 n = ToUnitVector({90, 123});
  EXPECT_NEAR(n.z, 1, 1e-15);
  EXPECT_NEAR(Norm(ToUnitVector({-33.87, 151.21})), 1, 1e-15);
}

TEST(UnitVectorTest, RoundTripsAndNormalisesLongitude) {
  for (LatLon p : {LatLon{48.8566, 2.3522}, LatLon{-33.8688, 151.2093}, LatLon{89.9999999, 45},
                   LatLon{-12.5, -179.9999999}, LatLon{0, -180}}) {
    const LatLon q = FromUnitVector(ToUnitVector(p));
    EXPECT_NEAR(q.lat, p.lat, 1e-12);
    EXPECT_NEAR(q.lon, NormalizeLongitude(p.lon), 1e-9);
  }
  // Longitude 180 comes back as -180 (the half-open range).
  EXPECT_NEAR(FromUnitVector(ToUnitVector({10, 180})).lon, -180, 1e-9);
  // Length does not matter; a pole has longitude 0.
  const LatLon pole = FromUnitVector({0, 0, 7});
  EXPECT_DOUBLE_EQ(pole.lat, 90);
  EXPECT_DOUBLE_EQ(pole.lon, 0);
}

TEST(UnitVectorTest, AngleBetweenIsAccurateForTinyAndOppositeAngles) {
  // 1e-9 rad (6 mm on the Earth): acos(dot) would return 0 here.
  const Vec3 a = ToUnitVector({0, 0});
  const Vec3 b = ToUnitVector({0, 1e-9 * kRadToDeg});
  EXPECT_NEAR(AngleBetweenRad(a, b), 1e-9, 1e-18);
  EXPECT_NEAR(AngleBetweenRad(a, ToUnitVector({0, 180})), kPi, 1e-15);
}

TEST(UnitVectorTest, EastNorthUpIsOrthonormalEverywhere) {
  for (LatLon p : {LatLon{0, 0}, LatLon{45, 90}, LatLon{90, 0}, LatLon{-90, 30}, LatLon{12, 180}}) {
    const EastNorthUp f = EastNorthUpAt(p);
    EXPECT_NEAR(Norm(f.east), 1, 1e-15);
    EXPECT_NEAR(Norm(f.north), 1, 1e-15);
    EXPECT_NEAR(Dot(f.east, f.north), 0, 1e-15);
    EXPECT_NEAR(Dot(f.east, f.up), 0, 1e-15);
    EXPECT_NEAR(Dot(f.north, f.up), 0, 1e-15);
    // Right-handed: east x north = up.
    const Vec3 c = Cross(f.east, f.north);
    EXPECT_NEAR(Dot(c, f.up), 1, 1e-15);
  }
  // At (0, 0) north is +z and east is +y.
  const EastNorthUp f = EastNorthUpAt({0, 0});
  EXPECT_NEAR(f.north.z, 1, 1e-15);
  EXPECT_NEAR(f.east.y, 1, 1e-15);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
