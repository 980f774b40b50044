#include "core/model/image_decoder.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/model/image_header.h"
#include "core/model/jpeg_decoder.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace geoloc::model {
namespace {

// The largest libjpeg DCT scaling (1/8, 1/4, 1/2) whose output keeps the shorter side at least
// target_min_side; libjpeg rounds scaled sizes up.
int JpegReduction(const ImageHeader& header, int target_min_side) {
  if (target_min_side <= 0) return 1;
  const int shorter = std::min(header.width, header.height);
  for (int factor : {8, 4, 2}) {
    if ((shorter + factor - 1) / factor >= target_min_side) return factor;
  }
  return 1;
}

int ReducedColorFlag(int factor) {
  switch (factor) {
    case 8:
      return cv::IMREAD_REDUCED_COLOR_8;
    case 4:
      return cv::IMREAD_REDUCED_COLOR_4;
    case 2:
      return cv::IMREAD_REDUCED_COLOR_2;
    default:
      return cv::IMREAD_COLOR;
  }
}

// Any decoded depth to 8 bits: 16-bit by v/257 (65535 -> 255), float assumed in [0, 1].
absl::StatusOr<cv::Mat> To8Bit(const cv::Mat& image) {
  switch (image.depth()) {
    case CV_8U:
      return image;
    case CV_16U: {
      cv::Mat out;
      image.convertTo(out, CV_8U, 1.0 / 257.0);
      return out;
    }
    case CV_32F: {
      cv::Mat out;
      image.convertTo(out, CV_8U, 255.0);
      return out;
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat("unsupported sample type (OpenCV depth ", image.depth(),
                       "); 8-bit, 16-bit and float images are supported"));
  }
}

// out = (colour * alpha + white * (255 - alpha)) / 255, rounded; straight (not premultiplied)
// alpha as PNG, WebP and TIFF ExtraSamples=2 store it.
inline uint8_t OverWhite(int value, int alpha) {
  return static_cast<uint8_t>((value * alpha + 255 * (255 - alpha) + 127) / 255);
}

// 8-bit 1-4 channel image to BGR. Channels: 1 gray, 2 gray + alpha, 3 BGR, 4 BGRA.
absl::StatusOr<cv::Mat> ToBgr(const cv::Mat& image) {
  cv::Mat out;
  switch (image.channels()) {
    case 3:
      return image;
    case 1:
      cv::cvtColor(image, out, cv::COLOR_GRAY2BGR);
      return out;
    case 2:
    case 4: {
      const int channels = image.channels();
      out.create(image.rows, image.cols, CV_8UC3);
      for (int y = 0; y < image.rows; ++y) {
        const uint8_t* src = image.ptr<uint8_t>(y);
        uint8_t* dst = out.ptr<uint8_t>(y);
        for (int x = 0; x < image.cols; ++x, src += channels, dst += 3) {
          const int alpha = src[channels - 1];
          if (channels == 2) {
            dst[0] = dst[1] = dst[2] = OverWhite(src[0], alpha);
          } else {
            dst[0] = OverWhite(src[0], alpha);
            dst[1] = OverWhite(src[1], alpha);
            dst[2] = OverWhite(src[2], alpha);
          }
        }
      }
      return out;
    }
    default:
      return absl::UnimplementedError(absl::StrCat("unsupported channel count ", image.channels()));
  }
}

// Turns stored pixels upright per EXIF orientation (TIFF 6.0 tag 274: where row 0 and column 0
// of the stored image appear when displayed).
//   1 top/left: as is            5 left/top: transpose
//   2 top/right: mirror          6 right/top: rotate 90 clockwise
//   3 bottom/right: rotate 180   7 right/bottom: transverse (transpose + rotate 180)
//   4 bottom/left: flip          8 left/bottom: rotate 90 counter-clockwise
cv::Mat ApplyOrientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    case 5:
      cv::transpose(image, out);
      break;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7: {
      cv::Mat transposed;
      cv::transpose(image, transposed);
      cv::rotate(transposed, out, cv::ROTATE_180);
      break;
    }
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      return image;
  }
  return out;
}

absl::Status CheckLimits(const ContainerInfo& info, const DecodeOptions& options) {
  const ImageHeader& h = info.header;
  const absl::string_view name = ImageFormatName(h.format);
  if (h.width > kMaxImageSide || h.height > kMaxImageSide) {
    return absl::ResourceExhaustedError(absl::StrCat(name, " image declares ", h.width, "x",
                                                     h.height, ": a side exceeds ", kMaxImageSide,
                                                     " pixels (refused before decoding)"));
  }
  const int64_t pixels = int64_t{h.width} * h.height;
  if (pixels > options.max_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        name, " image declares ", h.width, "x", h.height, " = ", pixels,
        " pixels, over the limit of ", options.max_pixels,
        " (max_pixels; refused before decoding: a decompression bomb or an oversized upload)"));
  }
  if (info.jpeg_scans > kMaxJpegScans) {
    return absl::ResourceExhaustedError(
        absl::StrCat("progressive JPEG with more than ", kMaxJpegScans,
                     " scans (refused before decoding: each scan re-walks the whole image)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kGif:
      return "GIF";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  absl::StatusOr<ContainerInfo> info = InspectImage(bytes);
  if (!info.ok()) return info.status();
  return info->header;
}

absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, const DecodeOptions& options) {
  if (options.max_pixels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("DecodeOptions.max_pixels must be positive, got ", options.max_pixels));
  }
  absl::StatusOr<ContainerInfo> inspected = InspectImage(bytes);
  if (!inspected.ok()) return inspected.status();
  const ContainerInfo& info = *inspected;
  const ImageHeader& header = info.header;
  const absl::string_view name = ImageFormatName(header.format);

  if (absl::Status s = CheckLimits(info, options); !s.ok()) return s;
  if (!info.unsupported.empty()) return absl::UnimplementedError(info.unsupported);
  if (!info.truncation.empty()) return absl::InvalidArgumentError(info.truncation);
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("input larger than 2 GiB");
  }

  // JPEG has neither alpha nor 16 bits: decode straight to BGR, reduced when it can be. The other
  // formats keep alpha and depth (IMREAD_UNCHANGED) so they are converted properly below.
  // Orientation is applied by us, below, on every path (except TIFF): imdecode applies JPEG Exif
  // and PNG eXIf orientation for IMREAD_COLOR and IMREAD_REDUCED_* but not for IMREAD_UNCHANGED,
  // and never reads WebP EXIF; IMREAD_IGNORE_ORIENTATION makes the JPEG paths uniform.
  int reduction = 1;
  int flags = cv::IMREAD_UNCHANGED;
  if (header.format == ImageFormat::kJpeg) {
    reduction = JpegReduction(header, options.target_min_side);
    flags = ReducedColorFlag(reduction) | cv::IMREAD_IGNORE_ORIENTATION;
  }
  int expected_width = (header.width + reduction - 1) / reduction;
  int expected_height = (header.height + reduction - 1) / reduction;
  // OpenCV 4.6's TIFF reader applies tag 274 itself, in every imread mode (tested for all eight
  // values); every other container's orientation is ours to apply.
  const bool decoder_orients = header.format == ImageFormat::kTiff;
  if (decoder_orients && info.orientation >= 5) std::swap(expected_width, expected_height);

  cv::Mat image;
  try {
    // A non-owning view: imdecode reads the caller's bytes in place (no copy, no temp file for
    // these formats).
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    // Most photos are baseline or progressive YCbCr JPEGs: libjpeg-turbo directly gives OpenCV's
    // pixels faster (jpeg_decoder.h); whatever it hands back goes through imdecode as before.
    std::optional<cv::Mat> direct;
    if (header.format == ImageFormat::kJpeg) direct = DecodeJpegToBgr(bytes, reduction);
    cv::Mat decoded = direct.has_value() ? *std::move(direct) : cv::imdecode(buffer, flags);
    if (decoded.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": the decoder rejected the data (corrupt or an unsupported variant)"));
    }
    // The limits above were checked on the header; a decoder that disagrees with it is fed
    // something crafted, and we refuse to pass on a size nobody checked.
    if (decoded.cols != expected_width || decoded.rows != expected_height) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": the decoder produced ", decoded.cols, "x", decoded.rows, " but the header ",
          "declares ", expected_width, "x", expected_height, " (inconsistent file)"));
    }
    absl::StatusOr<cv::Mat> eight_bit = To8Bit(decoded);
    if (!eight_bit.ok()) return eight_bit.status();
    absl::StatusOr<cv::Mat> bgr = ToBgr(*eight_bit);
    if (!bgr.ok()) return bgr.status();
    image = ApplyOrientation(*bgr, decoder_orients ? 1 : info.orientation);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": OpenCV failed to decode the data: ", e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(name, ": out of memory while decoding"));
  }
  if (!image.isContinuous()) image = image.clone();
  return image;
}

}  // namespace geoloc::model
