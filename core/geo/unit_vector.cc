#include "core/geo/unit_vector.h"

#include <cmath>

namespace geoloc {
namespace geo {

Vec3 ToUnitVector(LatLon p) {
  const double lat = p.lat * kDegToRad;
  const double lon = p.lon * kDegToRad;
  const double c = std::cos(lat);
  return {c * std::cos(lon), c * std::sin(lon), std::sin(lat)};
}

LatLon FromUnitVector(Vec3 v) {
  // atan2 on the equatorial radius keeps latitude accurate near the poles (asin(z) does not).
  const double lat = std::atan2(v.z, std::hypot(v.x, v.y)) * kRadToDeg;
  const double lon = std::atan2(v.y, v.x) * kRadToDeg;
  return {lat, NormalizeLongitude(lon)};
}

double AngleBetweenRad(Vec3 a, Vec3 b) { return std::atan2(Norm(Cross(a, b)), Dot(a, b)); }

EastNorthUp EastNorthUpAt(LatLon p) {
  const double lat = p.lat * kDegToRad;
  const double lon = p.lon * kDegToRad;
  const double slat = std::sin(lat), clat = std::cos(lat);
  const double slon = std::sin(lon), clon = std::cos(lon);
  return {{-slon, clon, 0.0}, {-slat * clon, -slat * slon, clat}, {clat * clon, clat * slon, slat}};
}

}  // namespace geo
}  // namespace geoloc
