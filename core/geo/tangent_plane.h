// A local plane around an origin: the azimuthal equidistant projection, in km east and north.
// Distances and bearings from the origin are exact (a point 3 km north-east of the origin is 3 km
// from (0, 0) in the plane); distances between two other points are distorted by about
// (r / R)^2 / 6 at distance r from the origin (0.04% at 100 km).
//
//   geo::TangentPlane plane(peak.pos);
//   geo::TangentPlane::Point q = plane.ToLocal(neighbor.pos);  // km east/north of the peak
//
// Works anywhere: the frame is built from unit vectors, so an origin at a pole or on the
// antimeridian needs no special case. At a pole "north" is the direction of the meridian
// origin.lon + 180 and "east" is 90 degrees clockwise from it (see EastNorthUpAt).
//
//   case                       ToLocal                    FromLocal
//   the origin                 (0, 0)                     (0, 0) -> the origin
//   the antipode               (0, pi R) (any direction   a point at pi R -> the antipode
//                              would be right)
//   |point| > pi R             never produced             wraps around the globe (not inverse)
//
// Round trip: FromLocal(ToLocal(p)) == p to about 1e-9 degrees for every p but the antipode, and
// ToLocal(FromLocal(q)) == q for |q| < pi R.
// Immutable after construction: const methods are safe from any number of threads.
#ifndef GEOLOC_CORE_GEO_TANGENT_PLANE_H_
#define GEOLOC_CORE_GEO_TANGENT_PLANE_H_

#include "core/geo/lat_lon.h"
#include "core/geo/unit_vector.h"

namespace geoloc {
namespace geo {

class TangentPlane {
 public:
  struct Point {
    double east_km = 0;
    double north_km = 0;
  };

  // `origin` must be valid (ValidateLatLon); a NaN origin makes every result NaN.
  explicit TangentPlane(LatLon origin);

  Point ToLocal(LatLon p) const;
  LatLon FromLocal(Point p) const;
  LatLon origin() const { return origin_; }

 private:
  LatLon origin_;
  EastNorthUp frame_;
};

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_TANGENT_PLANE_H_
