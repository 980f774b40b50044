// Great-circle distances, bearings and destinations on a sphere of the mean Earth radius.
//
//   double km = geo::HaversineKm({51.5074, -0.1278}, {48.8566, 2.3522});  // London-Paris, 343.6
//   geo::LatLon p = geo::DestinationPoint(from, /*bearing_deg=*/90.0, /*distance_km=*/5.0);
//
// A sphere differs from the WGS84 ellipsoid by up to about 0.5% in distance; that is far below
// the spread of retrieval-based estimates. Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_DISTANCE_H_
#define GEOLOC_CORE_GEO_DISTANCE_H_

#include "core/geo/lat_lon.h"

namespace geoloc {
namespace geo {

// IUGG mean Earth radius R1 = (2a + b) / 3 of WGS84, in km.
inline constexpr double kEarthRadiusKm = 6371.0088;
// Half the great circle: the largest possible distance between two points, in km.
inline constexpr double kHalfCircumferenceKm = kPi * kEarthRadiusKm;

// Great-circle distance in km by the haversine formula (accurate for tiny distances; the argument
// of asin is clamped to 1 so rounding near antipodes cannot produce NaN). Longitudes need not be
// normalised. NaN in, NaN out.
double HaversineKm(LatLon a, LatLon b);

// Initial bearing (forward azimuth) of the great circle from `from` to `to`, in degrees clockwise
// from north, in [0, 360).
//
//   case                          result
//   from == to, or antipodes      0 (the direction is undefined; below 1e-7 mm counts as equal)
//   from at a pole                as if `from` were approached along its own meridian (from.lon):
//                                 from the North Pole, bearing = 180 - (to.lon - from.lon) mod 360
double InitialBearingDeg(LatLon from, LatLon to);

// The point reached by travelling `distance_km` along the great circle leaving `from` at
// `bearing_deg` (clockwise from north). Any distance is accepted: beyond half the circumference the
// path continues around the globe. Longitude in [-180, 180). Inverse of HaversineKm and
// InitialBearingDeg for distances below half the circumference.
LatLon DestinationPoint(LatLon from, double bearing_deg, double distance_km);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_DISTANCE_H_
