// Where a photo was taken, from the EXIF GPS tags of a JPEG (APP1 "Exif" -> TIFF -> IFD0 ->
// GPSInfo IFD). Written for untrusted bytes: every offset and count is bounds-checked, nothing
// is followed twice, and malformed input is an error status, never a crash or a long loop.
//
//   absl::StatusOr<geo::LatLon> where = ReadJpegExifGps(first_256_kib_of_file);
//   if (absl::IsNotFound(where.status())) ++photos_without_gps;
//
// Tags read: GPSLatitudeRef (1, ASCII "N"/"S"), GPSLatitude (2, 3 RATIONALs: degrees, minutes,
// seconds), GPSLongitudeRef (3, "E"/"W"), GPSLongitude (4). SRATIONAL is accepted as well; both
// byte orders ("II", "MM").
//
//   input                                            result
//   not a JPEG (no SOI marker)                       INVALID_ARGUMENT
//   JPEG without an Exif APP1 before the scan data   NOT_FOUND ("no EXIF")
//   EXIF without a GPSInfo IFD                       NOT_FOUND ("no GPS")
//   GPS IFD without latitude or longitude            NOT_FOUND ("no GPS position")
//   latitude/longitude without its Ref tag           INVALID_ARGUMENT (hemisphere unknown)
//   Ref other than N/S (E/W)                         INVALID_ARGUMENT
//   a zero denominator                               INVALID_ARGUMENT
//   wrong type or count, offsets outside the data    DATA_LOSS
//   value outside [-90, 90] / [-180, 180], negative  INVALID_ARGUMENT
//   minutes or seconds >= 60                         INVALID_ARGUMENT
//
// Decimal degrees = degrees + minutes / 60 + seconds / 3600, negated for S and W. Writers that
// store decimal degrees in the first rational with zero minutes and seconds read correctly.
//
// Pure functions: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_EXIF_GPS_H_
#define GEOLOC_CORE_INDEX_EXIF_GPS_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/geo/lat_lon.h"

namespace geoloc::index {

// How much of a file the readers need: the EXIF APP1 segment is at most 64 KiB and comes before
// the image data, so the first 256 KiB are plenty.
inline constexpr size_t kExifPrefixBytes = 256 * 1024;

// `jpeg` may be the whole file or its first kExifPrefixBytes.
absl::StatusOr<geo::LatLon> ReadJpegExifGps(absl::string_view jpeg);
// The TIFF structure inside the APP1 segment (after "Exif\0\0").
absl::StatusOr<geo::LatLon> ReadTiffGps(absl::string_view tiff);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_EXIF_GPS_H_
