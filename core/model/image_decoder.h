// Decoding untrusted image bytes into 8-bit BGR pixels, safely and fast.
//
//   DecodeOptions opts;  opts.max_pixels = 40'000'000;  opts.target_min_side = 224;
//   GEOLOC_ASSIGN_OR_RETURN(cv::Mat bgr, DecodeImage(bytes, opts));
//
// Stateless free functions, safe from any thread.
//
// What happens, in order:
//   1. ReadImageHeader parses only the container header (JPEG SOF, PNG IHDR, GIF, WebP VP8/VP8L/VP8X,
//      BMP, TIFF first IFD) for the format and dimensions; empty, truncated and non-image inputs
//      fail here with INVALID_ARGUMENT; width*height > max_pixels fails with RESOURCE_EXHAUSTED
//      before any pixel is decoded (decompression bombs).
//   2. JPEG only: when the image is at least 2x larger than target_min_side on its shorter side,
//      it is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (OpenCV IMREAD_REDUCED_*),
//      the largest reduction that keeps the shorter side >= target_min_side.
//   3. EXIF orientation is applied (the result is upright as a viewer shows it).
//   4. Grayscale, alpha (composited on white) and 16-bit inputs become 8-bit 3-channel BGR.
#ifndef GEOLOC_CORE_MODEL_IMAGE_DECODER_H_
#define GEOLOC_CORE_MODEL_IMAGE_DECODER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace geoloc::model {

enum class ImageFormat { kUnknown, kJpeg, kPng, kGif, kWebp, kBmp, kTiff };
absl::string_view ImageFormatName(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
};

struct DecodeOptions {
  int64_t max_pixels = 50'000'000;  // width * height as declared by the header
  int target_min_side = 0;          // 0: never reduce; else the smallest shorter side we need
};

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);
absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, const DecodeOptions& options);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_IMAGE_DECODER_H_
