// Writing EXIF GPS blocks and JPEGs that carry them, for the EXIF reader and folder-scan tests.
#ifndef GEOLOC_TESTS_INDEX_EXIF_TEST_UTIL_H_
#define GEOLOC_TESTS_INDEX_EXIF_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace geoloc::index::testing {

struct RawTag {
  uint16_t tag;
  uint16_t type;
  uint32_t count;
  std::string value;  // already in the block's byte order
};

inline void PutU16(std::string* out, uint16_t v, bool le) {
  if (le) {
    out->push_back(static_cast<char>(v & 0xff));
    out->push_back(static_cast<char>(v >> 8));
  } else {
    out->push_back(static_cast<char>(v >> 8));
    out->push_back(static_cast<char>(v & 0xff));
  }
}

inline void PutU32(std::string* out, uint32_t v, bool le) {
  for (int i = 0; i < 4; ++i) {
    const int shift = le ? 8 * i : 8 * (3 - i);
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline RawTag Ascii(uint16_t tag, const std::string& text) {
  std::string v = text;
  v.push_back('\0');
  return {tag, 2, static_cast<uint32_t>(v.size()), v};
}

inline RawTag Rationals(uint16_t tag, const std::vector<std::pair<uint32_t, uint32_t>>& parts,
                        bool le, uint16_t type = 5) {
  std::string v;
  for (const auto& [num, den] : parts) {
    PutU32(&v, num, le);
    PutU32(&v, den, le);
  }
  return {tag, type, static_cast<uint32_t>(parts.size()), v};
}

// TIFF header, IFD0 with a GPSInfo pointer (unless `gps` is null) and the GPS IFD.
inline std::string MakeTiff(bool le, const std::vector<RawTag>* gps) {
  std::string out = le ? "II" : "MM";
  PutU16(&out, 42, le);
  PutU32(&out, 8, le);
  // IFD0: one entry (GPS pointer) or an unrelated tag (ImageWidth).
  PutU16(&out, 1, le);
  const uint32_t gps_offset = 8 + 2 + 12 + 4;
  if (gps != nullptr) {
    PutU16(&out, 0x8825, le);
    PutU16(&out, 4, le);
    PutU32(&out, 1, le);
    PutU32(&out, gps_offset, le);
  } else {
    PutU16(&out, 0x0100, le);
    PutU16(&out, 4, le);
    PutU32(&out, 1, le);
    PutU32(&out, 640, le);
  }
  PutU32(&out, 0, le);
  if (gps == nullptr) return out;
  const uint32_t n = static_cast<uint32_t>(gps->size());
  uint32_t data_offset = gps_offset + 2 + 12 * n + 4;
  std::string data;
  PutU16(&out, static_cast<uint16_t>(n), le);
  for (const RawTag& t : *gps) {
    PutU16(&out, t.tag, le);
    PutU16(&out, t.type, le);
    PutU32(&out, t.count, le);
    if (t.value.size() <= 4) {
      std::string inline_value = t.value;
      inline_value.resize(4, '\0');
      out += inline_value;
    } else {
      PutU32(&out, data_offset + static_cast<uint32_t>(data.size()), le);
      data += t.value;
    }
  }
  PutU32(&out, 0, le);
  return out + data;
}

// The standard tags for a position given as degrees, minutes, seconds*100 rationals.
inline std::vector<RawTag> GpsTags(bool le, char lat_ref, uint32_t lat_deg, uint32_t lat_min,
                                   uint32_t lat_sec100, char lon_ref, uint32_t lon_deg,
                                   uint32_t lon_min, uint32_t lon_sec100) {
  return {Ascii(1, std::string(1, lat_ref)),
          Rationals(2, {{lat_deg, 1}, {lat_min, 1}, {lat_sec100, 100}}, le),
          Ascii(3, std::string(1, lon_ref)),
          Rationals(4, {{lon_deg, 1}, {lon_min, 1}, {lon_sec100, 100}}, le)};
}

// An APP1 Exif segment holding `tiff`, inserted right after the SOI of `jpeg`.
inline std::string InsertExif(const std::string& jpeg, const std::string& tiff) {
  std::string app1 = "\xFF\xE1";
  const size_t len = 2 + 6 + tiff.size();
  app1.push_back(static_cast<char>(len >> 8));
  app1.push_back(static_cast<char>(len & 0xff));
  app1 += std::string("Exif\0\0", 6);
  app1 += tiff;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

// A minimal JPEG prefix: SOI, a JFIF APP0, then whatever follows.
inline std::string MinimalJpeg() {
  std::string s = "\xFF\xD8";
  s += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  s += "\xFF\xDA\x00\x02";  // start of scan
  return s;
}

}  // namespace geoloc::index::testing

#endif  // GEOLOC_TESTS_INDEX_EXIF_TEST_UTIL_H_
