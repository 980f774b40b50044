#include "tools/synth/exif.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "opencv2/core.hpp"

namespace geoloc::synth {

cv::Mat StoredForOrientation(const cv::Mat& upright, int orientation) {
  cv::Mat stored;
  switch (orientation) {
    case 3:
      cv::rotate(upright, stored, cv::ROTATE_180);
      return stored;
    case 6:
      cv::rotate(upright, stored, cv::ROTATE_90_COUNTERCLOCKWISE);
      return stored;
    case 8:
      cv::rotate(upright, stored, cv::ROTATE_90_CLOCKWISE);
      return stored;
    default:
      return upright;
  }
}

absl::StatusOr<std::string> WithOrientationTag(const std::string& jpeg, int orientation) {
  if (jpeg.size() < 4 || static_cast<uint8_t>(jpeg[0]) != 0xFF ||
      static_cast<uint8_t>(jpeg[1]) != 0xD8) {
    return absl::InvalidArgumentError("not a JPEG (no SOI marker)");
  }
  if (orientation < 1 || orientation > 8) {
    return absl::InvalidArgumentError(absl::StrCat("EXIF orientation ", orientation,
                                                   " is outside 1..8"));
  }
  // TIFF, little-endian: header, IFD0 with one entry (0x0112 Orientation, SHORT, count 1), no
  // next IFD.
  const uint8_t tiff[] = {'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,  // header, IFD0 at 8
                          0x01, 0x00,                                    // one entry
                          0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,
                          static_cast<uint8_t>(orientation), 0x00, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x00};  // next IFD: none
  std::string segment = "\xFF\xE1";
  const size_t length = 2 + 6 + sizeof(tiff);
  segment.push_back(static_cast<char>(length >> 8));
  segment.push_back(static_cast<char>(length & 0xFF));
  segment.append("Exif\0\0", 6);
  segment.append(reinterpret_cast<const char*>(tiff), sizeof(tiff));
  size_t at = 2;
  // After a JFIF APP0 segment when the encoder wrote one first.
  if (static_cast<uint8_t>(jpeg[2]) == 0xFF && static_cast<uint8_t>(jpeg[3]) == 0xE0 &&
      jpeg.size() >= 6) {
    const size_t app0 = (static_cast<uint8_t>(jpeg[4]) << 8) | static_cast<uint8_t>(jpeg[5]);
    if (4 + app0 <= jpeg.size()) at = 2 + 2 + app0;
  }
  std::string out = jpeg.substr(0, at);
  out += segment;
  out.append(jpeg, at, std::string::npos);
  return out;
}

}  // namespace geoloc::synth
