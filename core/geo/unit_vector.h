// Points on the unit sphere as 3-vectors (Earth-centred, Earth-fixed axes: x through (0, 0),
// y through (0, 90), z through the North Pole). Working on unit vectors keeps the estimators free
// of the antimeridian seam and of the coordinate singularity at the poles.
//
//   geo::Vec3 v = geo::ToUnitVector({48.8566, 2.3522});
//   geo::LatLon p = geo::FromUnitVector(v);  // (48.8566, 2.3522) up to rounding
//
// Plain values and pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_UNIT_VECTOR_H_
#define GEOLOC_CORE_GEO_UNIT_VECTOR_H_

#include <cmath>

#include "core/geo/lat_lon.h"

namespace geoloc {
namespace geo {

struct Vec3 {
  double x = 0;
  double y = 0;
  double z = 0;
};

inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(double s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline double Dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 Cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double Norm(Vec3 a) { return std::sqrt(Dot(a, a)); }

// The unit vector of a point given in degrees.
Vec3 ToUnitVector(LatLon p);

// The point a non-zero vector points at (its length does not matter); lon in [-180, 180).
// At the poles the longitude is 0. The zero vector has no direction and gives (0, 0): callers
// that can produce it (a mean of cancelling vectors) must check the length first.
LatLon FromUnitVector(Vec3 v);

// Central angle in radians, in [0, pi], between two non-zero vectors. Uses atan2(|a x b|, a.b),
// which stays accurate for tiny and for near-antipodal angles (acos of the dot product does not).
double AngleBetweenRad(Vec3 a, Vec3 b);

// The local east/north/up axes at a point (unit vectors, right-handed). At a pole, where east and
// north are undefined, they are taken from the point's longitude as if approaching the pole along
// that meridian, so (90, 0) and (90, 45) give different but valid frames.
struct EastNorthUp {
  Vec3 east;
  Vec3 north;
  Vec3 up;
};
EastNorthUp EastNorthUpAt(LatLon p);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_UNIT_VECTOR_H_
