#include "core/model/preprocess.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "opencv2/imgproc.hpp"

namespace geoloc::model {
namespace {

// The part of the source that maps onto the model input (see CropRegion in preprocess.h).
cv::Rect SourceRegion(int width, int height, const ModelInfo& info) {
  if (info.resize == ResizePolicy::kResize) return cv::Rect(0, 0, width, height);
  // Cross-multiplied in 64 bits: the image is wider than the input when w/h > W/H.
  const int64_t lhs = static_cast<int64_t>(width) * info.input_height;
  const int64_t rhs = static_cast<int64_t>(height) * info.input_width;
  if (lhs > rhs) {
    const int crop_w = std::clamp(
        static_cast<int>(std::lround(static_cast<double>(rhs) / info.input_height)), 1, width);
    return cv::Rect((width - crop_w) / 2, 0, crop_w, height);
  }
  const int crop_h = std::clamp(
      static_cast<int>(std::lround(static_cast<double>(lhs) / info.input_width)), 1, height);
  return cv::Rect(0, (height - crop_h) / 2, width, crop_h);
}

// Shrinking: area averaging by the largest whole factor per axis, then bilinear for what is left
// (a factor below 2, where bilinear's two taps still see every source pixel). OpenCV's INTER_AREA
// is fast only for whole factors; for others it is ~20x slower than this. Enlarging: bilinear.
cv::Mat ResizeTo(const cv::Mat& region, int out_w, int out_h) {
  const int kx = std::max(1, region.cols / out_w);
  const int ky = std::max(1, region.rows / out_h);
  cv::Mat source = region;
  if (kx > 1 || ky > 1) {
    const int mid_w = region.cols / kx;
    const int mid_h = region.rows / ky;
    // Drop the fewer than k leftover columns and rows evenly from both sides: an exact factor.
    const cv::Rect exact((region.cols - mid_w * kx) / 2, (region.rows - mid_h * ky) / 2, mid_w * kx,
                         mid_h * ky);
    cv::Mat reduced;
    cv::resize(region(exact), reduced, cv::Size(mid_w, mid_h), 0, 0, cv::INTER_AREA);
    source = reduced;
  }
  if (source.cols == out_w && source.rows == out_h) return source;
  cv::Mat out;
  cv::resize(source, out, cv::Size(out_w, out_h), 0, 0, cv::INTER_LINEAR);
  return out;
}

// out = (v / 255 - mean) / std for every byte value, per RGB channel; computed in double so the
// table equals the textbook formula to float precision.
using ChannelTable = std::array<float, 256>;
std::array<ChannelTable, 3> NormalisationTables(const ModelInfo& info) {
  std::array<ChannelTable, 3> tables;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      tables[c][v] = static_cast<float>((v / 255.0 - info.mean[c]) / info.std[c]);
    }
  }
  return tables;
}

}  // namespace

size_t PreprocessedSize(const ModelInfo& info) {
  return static_cast<size_t>(info.input_height) * static_cast<size_t>(info.input_width) * 3;
}

cv::Rect CropRegion(const cv::Size& image_size, const ModelInfo& info) {
  return SourceRegion(image_size.width, image_size.height, info);
}

absl::Status PreprocessInto(const cv::Mat& bgr, const ModelInfo& info, float* out) {
  if (out == nullptr) return absl::InvalidArgumentError("preprocess: output buffer is null");
  if (bgr.empty() || bgr.type() != CV_8UC3 || bgr.dims != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("preprocess: expected a non-empty 8-bit 3-channel BGR image, got ", bgr.cols,
                     "x", bgr.rows, " of type ", bgr.type()));
  }
  const int out_h = info.input_height;
  const int out_w = info.input_width;
  if (out_h <= 0 || out_w <= 0 || out_h > kMaxInputSide || out_w > kMaxInputSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("preprocess: invalid model input size ", out_h, "x", out_w));
  }
  try {
    // Crop first, then resize only the crop: the same pixels as resize-then-crop, less work.
    const cv::Mat region = bgr(SourceRegion(bgr.cols, bgr.rows, info));
    const cv::Mat resized = ResizeTo(region, out_w, out_h);
    // One pass: BGR -> RGB swap, scaling and normalisation through three 256-entry tables.
    const std::array<ChannelTable, 3> tables = NormalisationTables(info);
    const float* r_table = tables[0].data();
    const float* g_table = tables[1].data();
    const float* b_table = tables[2].data();
    for (int y = 0; y < out_h; ++y) {
      const uint8_t* src = resized.ptr<uint8_t>(y);
      float* dst = out + static_cast<size_t>(y) * out_w * 3;
      for (int x = 0; x < out_w; ++x) {
        dst[0] = r_table[src[2]];
        dst[1] = g_table[src[1]];
        dst[2] = b_table[src[0]];
        src += 3;
        dst += 3;
      }
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("preprocess: OpenCV failed: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace geoloc::model
