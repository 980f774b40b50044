#include "core/index/exif_gps.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/model/tiff_reader.h"

namespace geoloc::index {
namespace {

using model::kTiffAscii;
using model::kTiffIfd;
using model::kTiffLong;
using model::kTiffRational;
using model::kTiffSRational;
using model::TiffEntry;
using model::TiffReader;

constexpr uint16_t kTagGpsIfd = 0x8825;
constexpr uint16_t kTagLatRef = 0x0001;
constexpr uint16_t kTagLat = 0x0002;
constexpr uint16_t kTagLonRef = 0x0003;
constexpr uint16_t kTagLon = 0x0004;

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("EXIF: ", what));
}

// The types this file reads. An entry of another type is reported as having the wrong type by
// the code that wanted it, whatever its value field says.
bool IsReadType(uint16_t type) {
  return type == kTiffAscii || type == kTiffLong || type == kTiffIfd || type == kTiffRational ||
         type == kTiffSRational;
}

// Finds `tag` in the IFD at `ifd_offset`. nullopt when absent; an error when the IFD itself or
// the entry's value lies outside the data.
absl::StatusOr<std::optional<TiffEntry>> FindTag(const TiffReader& r, uint64_t ifd_offset,
                                                 uint16_t tag) {
  const std::optional<uint16_t> n = r.EntryCount(ifd_offset);
  if (!n.has_value()) return Corrupt("IFD offset outside the data");
  if (!r.EntriesInside(ifd_offset, *n)) return Corrupt("IFD entries outside the data");
  for (uint16_t i = 0; i < *n; ++i) {
    const std::optional<TiffEntry> entry = r.Entry(ifd_offset, i);
    if (entry->tag != tag) continue;
    if (IsReadType(entry->type) && !r.ValuesInside(*entry)) {
      return Corrupt(absl::StrCat("tag 0x", absl::Hex(tag), " value outside the data"));
    }
    return entry;
  }
  return std::optional<TiffEntry>();
}

absl::StatusOr<char> ReadRef(const TiffReader& r, uint64_t gps_ifd, uint16_t tag,
                             absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(std::optional<TiffEntry> e, FindTag(r, gps_ifd, tag));
  if (!e.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EXIF: ", name, " is missing, so the hemisphere is unknown"));
  }
  if (e->type != kTiffAscii || e->count < 1) {
    return Corrupt(absl::StrCat(name, " is not an ASCII value"));
  }
  return r.Byte(e->value_offset);
}

// Degrees, minutes, seconds as decimal degrees (unsigned).
absl::StatusOr<double> ReadDms(const TiffReader& r, uint64_t gps_ifd, uint16_t tag,
                               absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(std::optional<TiffEntry> e, FindTag(r, gps_ifd, tag));
  if (!e.has_value()) return absl::NotFoundError("EXIF: no GPS position (latitude/longitude)");
  if ((e->type != kTiffRational && e->type != kTiffSRational) || e->count != 3) {
    return Corrupt(
        absl::StrCat(name, " is not 3 rationals (type ", e->type, ", count ", e->count, ")"));
  }
  double parts[3];
  for (int i = 0; i < 3; ++i) {
    const uint64_t at = e->value_offset + 8 * i;
    const uint32_t num_bits = r.U32(at);
    const uint32_t den_bits = r.U32(at + 4);
    double num, den;
    if (e->type == kTiffRational) {
      num = num_bits;
      den = den_bits;
    } else {
      int32_t sn, sd;
      std::memcpy(&sn, &num_bits, 4);
      std::memcpy(&sd, &den_bits, 4);
      num = sn;
      den = sd;
    }
    if (den == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("EXIF: ", name, " has a zero denominator (part ", i, ")"));
    }
    parts[i] = num / den;
    if (!(parts[i] >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat("EXIF: ", name, " has a negative part"));
    }
  }
  if (parts[1] >= 60 || parts[2] >= 60) {
    return absl::InvalidArgumentError(
        absl::StrCat("EXIF: ", name, " has minutes or seconds >= 60"));
  }
  return parts[0] + parts[1] / 60.0 + parts[2] / 3600.0;
}

}  // namespace

absl::StatusOr<geo::LatLon> ReadTiffGps(absl::string_view tiff) {
  absl::StatusOr<TiffReader> opened = TiffReader::Open(tiff);
  if (!opened.ok()) return Corrupt(opened.status().message());
  const TiffReader& r = *opened;
  const uint64_t ifd0 = r.ifd0();
  GEOLOC_ASSIGN_OR_RETURN(std::optional<TiffEntry> gps_ptr, FindTag(r, ifd0, kTagGpsIfd));
  if (!gps_ptr.has_value()) return absl::NotFoundError("EXIF: no GPS tags");
  if ((gps_ptr->type != kTiffLong && gps_ptr->type != kTiffIfd) || gps_ptr->count != 1) {
    return Corrupt("GPSInfo pointer has the wrong type");
  }
  const uint64_t gps_ifd = r.U32(gps_ptr->value_offset);

  GEOLOC_ASSIGN_OR_RETURN(double lat, ReadDms(r, gps_ifd, kTagLat, "GPSLatitude"));
  GEOLOC_ASSIGN_OR_RETURN(double lon, ReadDms(r, gps_ifd, kTagLon, "GPSLongitude"));
  GEOLOC_ASSIGN_OR_RETURN(char lat_ref, ReadRef(r, gps_ifd, kTagLatRef, "GPSLatitudeRef"));
  GEOLOC_ASSIGN_OR_RETURN(char lon_ref, ReadRef(r, gps_ifd, kTagLonRef, "GPSLongitudeRef"));
  if (lat_ref == 'S' || lat_ref == 's') {
    lat = -lat;
  } else if (lat_ref != 'N' && lat_ref != 'n') {
    return absl::InvalidArgumentError(
        absl::StrCat("EXIF: GPSLatitudeRef is '", std::string(1, lat_ref), "', not N or S"));
  }
  if (lon_ref == 'W' || lon_ref == 'w') {
    lon = -lon;
  } else if (lon_ref != 'E' && lon_ref != 'e') {
    return absl::InvalidArgumentError(
        absl::StrCat("EXIF: GPSLongitudeRef is '", std::string(1, lon_ref), "', not E or W"));
  }
  const geo::LatLon p{lat, lon};
  absl::Status valid = geo::ValidateLatLon(p);
  if (!valid.ok()) return Annotate(valid, "EXIF GPS position");
  return p;
}

absl::StatusOr<geo::LatLon> ReadJpegExifGps(absl::string_view jpeg) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(jpeg[i]); };
  if (jpeg.size() < 2 || byte(0) != 0xFF || byte(1) != 0xD8) {
    return absl::InvalidArgumentError("not a JPEG file (no SOI marker)");
  }
  size_t pos = 2;
  while (pos + 4 <= jpeg.size()) {
    if (byte(pos) != 0xFF) return Corrupt("JPEG marker expected");
    const uint8_t marker = byte(pos + 1);
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    // Standalone markers carry no length.
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // start of scan / end of image
    const size_t length = (size_t{byte(pos + 2)} << 8) | byte(pos + 3);
    if (length < 2) return Corrupt("JPEG segment length < 2");
    const size_t payload = pos + 4;
    const size_t payload_size = length - 2;
    if (marker == 0xE1 && payload_size >= 6 &&
        jpeg.substr(payload, 6) == absl::string_view("Exif\0\0", 6)) {
      if (jpeg.size() - payload < payload_size) return Corrupt("Exif segment truncated");
      return ReadTiffGps(jpeg.substr(payload + 6, payload_size - 6));
    }
    pos = payload + payload_size;
  }
  return absl::NotFoundError("no EXIF data");
}

}  // namespace geoloc::index
