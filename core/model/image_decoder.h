// Decoding untrusted image bytes into 8-bit BGR pixels, safely and fast.
//
//   DecodeOptions opts;  opts.max_pixels = 40'000'000;  opts.target_min_side = 224;
//   GEOLOC_ASSIGN_OR_RETURN(cv::Mat bgr, DecodeImage(bytes, opts));
//
// Stateless free functions, safe from any thread. The returned cv::Mat owns its pixels.
//
// What happens, in order:
//   1. The container header is parsed by hand (JPEG SOF, PNG IHDR, GIF, WebP VP8/VP8L/VP8X, BMP,
//      TIFF first IFD; image_header.h) for the format and dimensions; empty, non-image and
//      header-truncated inputs fail here with INVALID_ARGUMENT; width*height > max_pixels fails
//      with RESOURCE_EXHAUSTED before any pixel is decoded (decompression bombs); then a body cut
//      short (no JPEG EOI, no PNG IEND, ...) fails with INVALID_ARGUMENT.
//   2. JPEG only: when the image is at least 2x larger than target_min_side on its shorter side,
//      it is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (OpenCV IMREAD_REDUCED_*),
//      the largest reduction that keeps the shorter side >= target_min_side. The fast path
//      (jpeg_decoder.h) decodes most JPEGs to the same pixels without OpenCV's layers; the rest
//      go through cv::imdecode.
//   3. EXIF orientation is applied (the result is upright as a viewer shows it).
//   4. Grayscale, alpha (composited on white) and 16-bit inputs become 8-bit 3-channel BGR.
// docs/IMAGES.md describes the pipeline, the limits and the EXIF rule in full.
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

// No side may exceed this, whatever max_pixels allows (JPEG's own limit; libwebp's is 16383).
inline constexpr int kMaxImageSide = 65535;

struct DecodeOptions {
  int64_t max_pixels = 50'000'000;  // width * height as declared by the header; must be > 0
  int target_min_side = 0;          // 0: never reduce; else the smallest shorter side we need
};

// The format and declared size, from the header alone (see image_header.h for what is read).
// INVALID_ARGUMENT: empty input, not an image, header cut short or inconsistent (zero sides);
// UNIMPLEMENTED: a recognised format geoloc does not read (HEIF, AVIF, JPEG 2000, BigTIFF, ...).
// A body cut short is not detected here (DecodeImage does).
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

// Returns an upright 8-bit BGR image (CV_8UC3, continuous). Errors, in the order checked:
//   INVALID_ARGUMENT    what ReadImageHeader rejects; max_pixels <= 0
//   RESOURCE_EXHAUSTED  a side > kMaxImageSide, width*height > max_pixels, or a progressive JPEG
//                       with more than kMaxJpegScans scans (nothing has been decoded yet)
//   UNIMPLEMENTED       GIF, animated WebP, 12-bit/lossless/hierarchical JPEG, compressed BMP
//                       (other than RLE), sample types other than 8/16-bit integer and float
//   INVALID_ARGUMENT    the body is cut short (JPEG: no EOI after the last scan; PNG: no IEND;
//                       WebP: RIFF size past the end; BMP/TIFF: pixel data past the end), the
//                       decoder fails, or it produces another size than the header declared
// The result's size is the header's, divided (rounding up) by the JPEG reduction factor when one
// applies, with width and height swapped for EXIF orientations 5 to 8.
absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, const DecodeOptions& options);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_IMAGE_DECODER_H_
