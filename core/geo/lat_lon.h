// Geographic coordinates in degrees (WGS84 latitude/longitude read on a sphere) and their checks.
//
//   GEOLOC_RETURN_IF_ERROR(geo::ValidateLatLon(p));
//   double lon = geo::NormalizeLongitude(181.0);  // -179.0
//
// LatLon is a plain value type: copy it freely; every function here is pure and thread-safe.
#ifndef GEOLOC_CORE_GEO_LAT_LON_H_
#define GEOLOC_CORE_GEO_LAT_LON_H_

#include <string>

#include "absl/status/status.h"

namespace geoloc {
namespace geo {

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double kDegToRad = kPi / 180.0;
inline constexpr double kRadToDeg = 180.0 / kPi;

// A point on the Earth in degrees: lat in [-90, 90] (north positive), lon in [-180, 180] (east
// positive). Both 180 and -180 are accepted as input; functions that produce a longitude return it
// in [-180, 180).
struct LatLon {
  double lat = 0;
  double lon = 0;
};

// OK when both coordinates are finite, lat in [-90, 90] and lon in [-180, 180]; otherwise
// InvalidArgument naming the bad coordinate.
absl::Status ValidateLatLon(LatLon p);

// Maps any finite longitude (degrees) into [-180, 180): 180 -> -180, 540 -> -180, -181 -> 179.
// NaN and infinities give NaN.
double NormalizeLongitude(double lon_deg);

// "(lat, lon)" with 7 decimals (about 1 cm), for messages and logs.
std::string FormatLatLon(LatLon p);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_LAT_LON_H_
