#include "core/index/exif_gps.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc::index {
namespace {

constexpr uint16_t kTagGpsIfd = 0x8825;
constexpr uint16_t kTagLatRef = 0x0001;
constexpr uint16_t kTagLat = 0x0002;
constexpr uint16_t kTagLonRef = 0x0003;
constexpr uint16_t kTagLon = 0x0004;

constexpr uint16_t kTypeAscii = 2;
constexpr uint16_t kTypeLong = 4;
constexpr uint16_t kTypeRational = 5;
constexpr uint16_t kTypeSRational = 10;
constexpr uint16_t kTypeIfd = 13;

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("EXIF: ", what));
}

// Bounds-checked reads from the TIFF block in its declared byte order.
class TiffReader {
 public:
  TiffReader(absl::string_view data, bool little_endian) : data_(data), le_(little_endian) {}

  bool Has(uint64_t offset, uint64_t size) const {
    return offset <= data_.size() && size <= data_.size() - offset;
  }
  uint16_t U16(uint64_t offset) const {
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + offset);
    return le_ ? static_cast<uint16_t>(p[0] | (p[1] << 8))
               : static_cast<uint16_t>((p[0] << 8) | p[1]);
  }
  uint32_t U32(uint64_t offset) const {
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + offset);
    return le_ ? (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 |
                  uint32_t{p[3]} << 24)
               : (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
                  uint32_t{p[3]});
  }
  char Byte(uint64_t offset) const { return data_[offset]; }

 private:
  absl::string_view data_;
  bool le_;
};

struct Entry {
  uint16_t type = 0;
  uint32_t count = 0;
  uint64_t value_offset = 0;  // where the value bytes are (inline or pointed to)
};

// Finds `tag` in the IFD at `ifd_offset`. nullopt when absent; an error when the IFD itself or
// the entry's value lies outside the data.
absl::StatusOr<std::optional<Entry>> FindTag(const TiffReader& r, uint64_t ifd_offset,
                                             uint16_t tag) {
  if (!r.Has(ifd_offset, 2)) return Corrupt("IFD offset outside the data");
  const uint16_t n = r.U16(ifd_offset);
  if (!r.Has(ifd_offset + 2, uint64_t{n} * 12)) return Corrupt("IFD entries outside the data");
  for (uint16_t i = 0; i < n; ++i) {
    const uint64_t e = ifd_offset + 2 + uint64_t{i} * 12;
    if (r.U16(e) != tag) continue;
    Entry entry;
    entry.type = r.U16(e + 2);
    entry.count = r.U32(e + 4);
    uint64_t unit;
    switch (entry.type) {
      case kTypeAscii:
        unit = 1;
        break;
      case kTypeLong:
      case kTypeIfd:
        unit = 4;
        break;
      case kTypeRational:
      case kTypeSRational:
        unit = 8;
        break;
      default:
        unit = 0;
        break;
    }
    const uint64_t bytes = unit * entry.count;
    entry.value_offset = bytes <= 4 ? e + 8 : r.U32(e + 8);
    if (unit != 0 && !r.Has(entry.value_offset, bytes)) {
      return Corrupt(absl::StrCat("tag 0x", absl::Hex(tag), " value outside the data"));
    }
    return std::optional<Entry>(entry);
  }
  return std::optional<Entry>();
}

absl::StatusOr<char> ReadRef(const TiffReader& r, uint64_t gps_ifd, uint16_t tag,
                             absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(std::optional<Entry> e, FindTag(r, gps_ifd, tag));
  if (!e.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EXIF: ", name, " is missing, so the hemisphere is unknown"));
  }
  if (e->type != kTypeAscii || e->count < 1) {
    return Corrupt(absl::StrCat(name, " is not an ASCII value"));
  }
  return r.Byte(e->value_offset);
}

// Degrees, minutes, seconds as decimal degrees (unsigned).
absl::StatusOr<double> ReadDms(const TiffReader& r, uint64_t gps_ifd, uint16_t tag,
                               absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(std::optional<Entry> e, FindTag(r, gps_ifd, tag));
  if (!e.has_value()) return absl::NotFoundError("EXIF: no GPS position (latitude/longitude)");
  if ((e->type != kTypeRational && e->type != kTypeSRational) || e->count != 3) {
    return Corrupt(
        absl::StrCat(name, " is not 3 rationals (type ", e->type, ", count ", e->count, ")"));
  }
  double parts[3];
  for (int i = 0; i < 3; ++i) {
    const uint64_t at = e->value_offset + 8 * i;
    const uint32_t num_bits = r.U32(at);
    const uint32_t den_bits = r.U32(at + 4);
    double num, den;
    if (e->type == kTypeRational) {
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
  if (tiff.size() < 8) return Corrupt("TIFF header truncated");
  bool le;
  if (tiff.substr(0, 2) == "II") {
    le = true;
  } else if (tiff.substr(0, 2) == "MM") {
    le = false;
  } else {
    return Corrupt("bad TIFF byte order mark");
  }
  const TiffReader r(tiff, le);
  if (r.U16(2) != 42) return Corrupt("bad TIFF magic");
  const uint64_t ifd0 = r.U32(4);
  GEOLOC_ASSIGN_OR_RETURN(std::optional<Entry> gps_ptr, FindTag(r, ifd0, kTagGpsIfd));
  if (!gps_ptr.has_value()) return absl::NotFoundError("EXIF: no GPS tags");
  if ((gps_ptr->type != kTypeLong && gps_ptr->type != kTypeIfd) || gps_ptr->count != 1) {
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
