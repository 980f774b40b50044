#include "core/geo/distance.h"

#include <algorithm>
#include <cmath>

#include "core/geo/unit_vector.h"

namespace geoloc {
namespace geo {

double HaversineKm(LatLon a, LatLon b) {
  const double lat1 = a.lat * kDegToRad, lat2 = b.lat * kDegToRad;
  const double s_dlat = std::sin(0.5 * (lat2 - lat1));
  const double s_dlon = std::sin(0.5 * (b.lon - a.lon) * kDegToRad);
  const double h = s_dlat * s_dlat + std::cos(lat1) * std::cos(lat2) * s_dlon * s_dlon;
  return 2.0 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

double InitialBearingDeg(LatLon from, LatLon to) {
  // Project the target onto the local east/north axes: the same frame DestinationPoint uses, so
  // the two are exact inverses, poles included.
  const EastNorthUp f = EastNorthUpAt(from);
  const Vec3 t = ToUnitVector(to);
  const double e = Dot(t, f.east), n = Dot(t, f.north);
  // Below 1e-14 (0.06 micrometres from `from` or from its antipode) e and n are rounding noise.
  if (std::hypot(e, n) < 1e-14) return 0.0;
  double deg = std::atan2(e, n) * kRadToDeg;
  if (deg < 0) deg += 360.0;
  if (deg >= 360.0) deg -= 360.0;  // -tiny + 360 rounds to 360
  return deg;
}

LatLon DestinationPoint(LatLon from, double bearing_deg, double distance_km) {
  const EastNorthUp f = EastNorthUpAt(from);
  const double delta = distance_km / kEarthRadiusKm;
  const double theta = bearing_deg * kDegToRad;
  const Vec3 dir = std::sin(theta) * f.east + std::cos(theta) * f.north;
  return FromUnitVector(std::cos(delta) * f.up + std::sin(delta) * dir);
}

}  // namespace geo
}  // namespace geoloc
