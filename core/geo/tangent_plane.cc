#include "core/geo/tangent_plane.h"

#include <cmath>

#include "core/geo/distance.h"

namespace geoloc {
namespace geo {

TangentPlane::TangentPlane(LatLon origin) : origin_(origin), frame_(EastNorthUpAt(origin)) {}

TangentPlane::Point TangentPlane::ToLocal(LatLon p) const {
  const Vec3 v = ToUnitVector(p);
  const double e = Dot(v, frame_.east), n = Dot(v, frame_.north), u = Dot(v, frame_.up);
  const double s = std::hypot(e, n);  // sine of the central angle
  if (s == 0.0) {
    if (u >= 0.0) return {0.0, 0.0};
    return {0.0, kHalfCircumferenceKm};
  }
  const double range_km = kEarthRadiusKm * std::atan2(s, u);
  return {range_km * e / s, range_km * n / s};
}

LatLon TangentPlane::FromLocal(Point p) const {
  const double rho = std::hypot(p.east_km, p.north_km);
  if (rho == 0.0) return {origin_.lat, NormalizeLongitude(origin_.lon)};
  const double delta = rho / kEarthRadiusKm;
  const Vec3 dir = (p.east_km / rho) * frame_.east + (p.north_km / rho) * frame_.north;
  return FromUnitVector(std::cos(delta) * frame_.up + std::sin(delta) * dir);
}

}  // namespace geo
}  // namespace geoloc
