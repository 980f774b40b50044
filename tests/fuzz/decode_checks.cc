#include "tests/fuzz/decode_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/image_decoder.h"
#include "core/model/image_header.h"
#include "core/model/model_info.h"
#include "core/model/preprocess.h"

// From the sanitizer runtimes (sanitizer/common_interface_defs.h); weak, as a build without a
// sanitizer lacks it.
extern "C" void __sanitizer_report_error_summary(const char* error_summary) __attribute__((weak));

namespace geoloc::fuzz {
namespace {

using model::ImageFormat;

// The size image_decoder.h promises, computed from its documentation rather than its code: JPEG
// is reduced by the largest of 8, 4, 2 that keeps the shorter side (rounded up) at least
// target_min_side; orientations 5-8 swap the sides.
std::pair<int, int> PromisedSize(const model::ContainerInfo& info) {
  int factor = 1;
  if (info.header.format == ImageFormat::kJpeg) {
    const int shorter = std::min(info.header.width, info.header.height);
    for (int f : {8, 4, 2}) {
      if ((shorter + f - 1) / f >= kFuzzTargetMinSide) {
        factor = f;
        break;
      }
    }
  }
  int width = (info.header.width + factor - 1) / factor;
  int height = (info.header.height + factor - 1) / factor;
  if (info.orientation >= 5) std::swap(width, height);
  return {width, height};
}

// Two fixed models with odd, non-square inputs so crops and resizes have leftovers.
std::vector<model::ModelInfo> Models() {
  model::ModelInfo crop;
  crop.input_height = 37;
  crop.input_width = 53;
  crop.resize = model::ResizePolicy::kResizeCenterCrop;
  model::ModelInfo plain = crop;
  plain.input_height = 64;
  plain.input_width = 31;
  plain.resize = model::ResizePolicy::kResize;
  plain.mean = {0.5f, 0.5f, 0.5f};
  plain.std = {0.25f, 0.5f, 1.0f};
  return {crop, plain};
}

void CheckPreprocess(const cv::Mat& bgr, const model::ModelInfo& info) {
  std::vector<float> out(model::PreprocessedSize(info), std::nanf(""));
  absl::Status st = model::PreprocessInto(bgr, info, out.data());
  if (!st.ok()) Fail(absl::StrCat("PreprocessInto failed on a decoded image: ", st.ToString()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int c = static_cast<int>(i % 3);  // RGB order
    const double lo = (0.0 - info.mean[c]) / info.std[c];
    const double hi = (1.0 - info.mean[c]) / info.std[c];
    const double v = out[i];
    if (!(v >= lo - 1e-5 && v <= hi + 1e-5)) {
      Fail(absl::StrCat("PreprocessInto wrote ", v, " at ", i, ", outside [", lo, ", ", hi,
                        "] for ", info.input_width, "x", info.input_height));
    }
  }
}

}  // namespace

void Fail(absl::string_view what) {
  const std::string message = absl::StrCat("fuzz check failed: ", what);
  // The sanitizer runtime prints to its report descriptor, which survives libFuzzer's
  // -close_fd_mask=2 (used to silence libjpeg's and libpng's warnings); plain stderr otherwise.
  if (&__sanitizer_report_error_summary != nullptr) {
    __sanitizer_report_error_summary(message.c_str());
  } else {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
  }
  std::abort();
}

void DecodeAndCheck(absl::string_view bytes) {
  absl::StatusOr<model::ContainerInfo> info = model::InspectImage(bytes);
  absl::StatusOr<model::ImageHeader> header = model::ReadImageHeader(bytes);
  if (info.ok() != header.ok()) Fail("InspectImage and ReadImageHeader disagree on validity");
  if (!info.ok()) {
    const absl::StatusCode code = info.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kUnimplemented) {
      Fail(absl::StrCat("ReadImageHeader returned an undocumented code: ",
                        info.status().ToString()));
    }
  } else {
    if (info->header.width < 1 || info->header.height < 1) {
      Fail(absl::StrCat("header parsed with a zero side: ", info->header.width, "x",
                        info->header.height));
    }
    if (header->width != info->header.width || header->height != info->header.height ||
        header->format != info->header.format) {
      Fail("ReadImageHeader's header differs from InspectImage's");
    }
    if (info->orientation < 1 || info->orientation > 8) {
      Fail(absl::StrCat("orientation ", info->orientation, " outside 1..8"));
    }
  }

  model::DecodeOptions options;
  options.max_pixels = kFuzzMaxPixels;
  options.target_min_side = kFuzzTargetMinSide;
  absl::StatusOr<cv::Mat> decoded;
  try {
    decoded = model::DecodeImage(bytes, options);
  } catch (const std::exception& e) {
    Fail(absl::StrCat("DecodeImage threw: ", e.what()));
  } catch (...) {
    Fail("DecodeImage threw a non-standard exception");
  }
  if (!decoded.ok()) {
    const absl::StatusCode code = decoded.status().code();
    if (code != absl::StatusCode::kInvalidArgument &&
        code != absl::StatusCode::kResourceExhausted && code != absl::StatusCode::kUnimplemented) {
      Fail(
          absl::StrCat("DecodeImage returned an undocumented code: ", decoded.status().ToString()));
    }
    return;
  }
  if (!info.ok()) Fail("DecodeImage decoded what ReadImageHeader refused");
  if (!info->truncation.empty()) Fail("DecodeImage decoded a container reported as truncated");
  const cv::Mat& image = *decoded;
  if (image.type() != CV_8UC3 || !image.isContinuous() || image.dims != 2) {
    Fail(absl::StrCat("decoded image has type ", image.type(), ", continuous ",
                      image.isContinuous()));
  }
  if (int64_t{info->header.width} * info->header.height > kFuzzMaxPixels) {
    Fail("decoded an image over max_pixels");
  }
  const auto [width, height] = PromisedSize(*info);
  if (image.cols != width || image.rows != height) {
    Fail(absl::StrCat(model::ImageFormatName(info->header.format), " ", info->header.width, "x",
                      info->header.height, " orientation ", info->orientation, " decoded to ",
                      image.cols, "x", image.rows, ", promised ", width, "x", height));
  }
  for (const model::ModelInfo& model_info : Models()) CheckPreprocess(image, model_info);
}

}  // namespace geoloc::fuzz
