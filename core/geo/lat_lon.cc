#include "core/geo/lat_lon.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace geoloc {
namespace geo {

absl::Status ValidateLatLon(LatLon p) {
  if (!std::isfinite(p.lat) || p.lat < -90.0 || p.lat > 90.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("latitude ", p.lat, " is not a finite number in [-90, 90] degrees"));
  }
  if (!std::isfinite(p.lon) || p.lon < -180.0 || p.lon > 180.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("longitude ", p.lon, " is not a finite number in [-180, 180] degrees"));
  }
  return absl::OkStatus();
}

double NormalizeLongitude(double lon_deg) {
  if (!std::isfinite(lon_deg)) return std::numeric_limits<double>::quiet_NaN();
  if (lon_deg >= -180.0 && lon_deg < 180.0) return lon_deg;  // common case, returned exactly
  double r = std::fmod(lon_deg + 180.0, 360.0);
  if (r < 0) r += 360.0;
  r -= 180.0;
  // fmod is exact, but the +180/-180 shifts round; keep the half-open range promise.
  if (r >= 180.0) r -= 360.0;
  if (r < -180.0) r += 360.0;
  return r;
}

std::string FormatLatLon(LatLon p) { return absl::StrFormat("(%.7f, %.7f)", p.lat, p.lon); }

}  // namespace geo
}  // namespace geoloc
