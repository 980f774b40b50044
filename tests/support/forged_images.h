// Image bytes forged by hand for tests, fuzz seeds and the hostile corpus: integers in either byte
// order, TIFF structures (TIFF files and EXIF blocks, including deliberately broken ones), EXIF
// orientation and GPS blocks, JPEG segments and PNG chunks inserted into encoded images, and CMYK
// JPEGs (through libjpeg: OpenCV cannot write them). No OpenCV, no GoogleTest: the fuzz build's
// seed generator links it.
//
//   const std::string jpeg = ...;  // e.g. from cv::imencode
//   std::string rotated = WithJpegExif(jpeg, ExifOrientationBlock(6));
//   std::string tagged = WithJpegExif(jpeg, ExifGpsBlock(GpsTags('N', 48, 51, 3024,
//                                                                'E', 2, 17, 4020)));
//   std::string tiff = BuildTiff({{256, tiff::kLong, 1, {32}}, ...}, pixels);
//
// Pure functions; safe from any thread. Nothing here checks that what it writes is valid: that is
// the point (the caller decides how to break it).
#ifndef GEOLOC_TESTS_SUPPORT_FORGED_IMAGES_H_
#define GEOLOC_TESTS_SUPPORT_FORGED_IMAGES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace geoloc::testing {

// ---- Integers ---------------------------------------------------------------------------------

std::string Le16(uint32_t v);
std::string Le24(uint32_t v);
std::string Le32(uint32_t v);
std::string Be16(uint32_t v);
std::string Be32(uint32_t v);
// CRC-32 (ISO 3309), as PNG chunks carry it.
uint32_t Crc32(absl::string_view data);

// ---- TIFF structures --------------------------------------------------------------------------

namespace tiff {
inline constexpr uint16_t kByte = 1, kAscii = 2, kShort = 3, kLong = 4, kRational = 5,
                          kSRational = 10;
// Marker values in TiffTag::values that BuildTiff replaces by the offsets it computes.
inline constexpr uint32_t kAtTrailer = 0xFFFFFFFEu;  // where the trailer (pixel data) starts
inline constexpr uint32_t kAtSubIfd = 0xFFFFFFFDu;   // where TiffLayout::sub_ifd starts
}  // namespace tiff

// One IFD entry to write.
struct TiffTag {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  // The values, one element per value written with the type's width (BYTE, ASCII: 1 byte; SHORT:
  // 2; LONG and any other type: 4); RATIONAL and SRATIONAL take two elements (numerator,
  // denominator) per value. In the entry's value field when they fit in 4 bytes, else after the
  // IFDs, each at an even offset.
  std::vector<uint32_t> values;
  // When set, written into the value field as is and `values` ignored (broken entries: counts
  // that do not match, offsets past the end, unknown types).
  std::optional<uint32_t> raw_field;
};

// An ASCII entry holding `text` and its terminating NUL.
TiffTag TiffAscii(uint16_t tag, absl::string_view text);
// A RATIONAL (or SRATIONAL) entry with one value per (numerator, denominator) pair.
TiffTag TiffRationals(uint16_t tag, const std::vector<std::pair<uint32_t, uint32_t>>& parts,
                      uint16_t type = tiff::kRational);

struct TiffLayout {
  bool big_endian = false;
  std::optional<uint32_t> ifd0_offset;  // the header's IFD0 offset; default: 8 (where it is)
  std::optional<uint32_t> next_ifd;     // IFD0's next-IFD link; default: 0 (none)
  std::optional<uint16_t> entry_count;  // IFD0's entry count; default: the number of tags
  std::vector<TiffTag> sub_ifd;         // a second IFD after IFD0 (tiff::kAtSubIfd); none if empty
};

// A TIFF structure: the header, IFD0 holding `tags` in the order given, the sub IFD, the
// out-of-line values, then `trailer` at an even offset.
std::string BuildTiff(std::vector<TiffTag> tags, absl::string_view trailer = "",
                      const TiffLayout& layout = {});

// ---- EXIF blocks (TIFF structures, without the "Exif\0\0" prefix) ------------------------------

// IFD0 holding one Orientation (tag 0x0112, SHORT) entry.
std::string ExifOrientationBlock(uint16_t orientation, bool big_endian = false);
// GPSLatitudeRef, GPSLatitude, GPSLongitudeRef, GPSLongitude for a position given as degrees,
// minutes and hundredths of seconds (RATIONALs deg/1, min/1, sec100/100).
std::vector<TiffTag> GpsTags(char lat_ref, uint32_t lat_deg, uint32_t lat_min, uint32_t lat_sec100,
                             char lon_ref, uint32_t lon_deg, uint32_t lon_min,
                             uint32_t lon_sec100);
// IFD0 with a GPSInfo pointer (tag 0x8825, LONG) to an IFD holding `gps`.
std::string ExifGpsBlock(const std::vector<TiffTag>& gps, bool big_endian = false);

// ---- JPEG -------------------------------------------------------------------------------------

// A marker segment: FF, `marker`, the big-endian length (body + 2), `body`.
std::string JpegSegment(uint8_t marker, absl::string_view body);
// `jpeg` with `segment` inserted right after its SOI (APPn segments may come in any order).
std::string InsertAfterSoi(const std::string& jpeg, absl::string_view segment);
// `jpeg` with an APP1 "Exif\0\0" segment holding `tiff_block` right after its SOI.
std::string WithJpegExif(const std::string& jpeg, absl::string_view tiff_block);
// SOI, a JFIF APP0 and an SOS header: the start of a JPEG, enough for metadata readers.
std::string MinimalJpegPrefix();
// A CMYK JPEG as Photoshop writes them (Adobe APP14 marker, inverted values), through libjpeg.
// `ink(x, y, cmyk)` fills the four stored (inverted) bytes of each pixel.
std::string CmykJpeg(int width, int height, int quality,
                     const std::function<void(int x, int y, uint8_t* cmyk)>& ink);

// ---- PNG --------------------------------------------------------------------------------------

// A chunk: big-endian length, type, data, CRC-32 of type and data.
std::string PngChunk(absl::string_view type, absl::string_view data);
// `png` with an eXIf chunk holding `tiff_block` right after IHDR (which encoders write first).
std::string WithPngExif(const std::string& png, absl::string_view tiff_block);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_FORGED_IMAGES_H_
