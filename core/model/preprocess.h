// Turning a decoded BGR image into the model's normalised input, channels-last (HWC, RGB, float).
//
//   std::vector<float> batch(n * PreprocessedSize(info));
//   GEOLOC_RETURN_IF_ERROR(PreprocessInto(bgr, info, batch.data() + i * PreprocessedSize(info)));
//
// Stateless, safe from any thread. The HWC layout is exactly what the encoder wraps as a
// channels-last [B, 3, H, W] tensor, so no copy or transpose happens between the two.
#ifndef GEOLOC_CORE_MODEL_PREPROCESS_H_
#define GEOLOC_CORE_MODEL_PREPROCESS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "core/model/model_info.h"
#include "opencv2/core.hpp"

namespace geoloc::model {

// Number of floats one preprocessed image occupies: input_height * input_width * 3.
size_t PreprocessedSize(const ModelInfo& info);

// The rectangle of an image of `image_size` that becomes the model input (useful to map a
// saliency map back onto the photo):
//   kResize           -> the whole image.
//   kResizeCenterCrop -> the centred largest rectangle with the input's aspect ratio (rounded to
//                        whole pixels, odd leftovers go to the right/bottom).
cv::Rect CropRegion(const cv::Size& image_size, const ModelInfo& info);

// Resizes per info.resize, converts BGR to RGB, scales to [0, 1] and normalises with info.mean /
// info.std, writing HWC floats to `out`:
//   out[(y * input_width + x) * 3 + c] = (rgb[c] / 255 - mean[c]) / std[c]
// kResizeCenterCrop crops CropRegion first and resizes only that (same result as scaling then
// cropping, without resizing pixels that are thrown away). Shrinking averages areas by the largest
// whole factor k per axis (up to k-1 edge pixels of the region, less than one output pixel, are
// dropped to make it exact), then interpolates bilinearly for the remaining factor (< 2);
// enlarging is bilinear. A region already at the input size is only normalised.
// `bgr` must be CV_8UC3 (DecodeImage's output; any stride, ROIs welcome); `out` must hold
// PreprocessedSize(info) floats. INVALID_ARGUMENT for another image type, a null `out` or an
// input size outside [1, kMaxInputSide]; nothing is written then.
absl::Status PreprocessInto(const cv::Mat& bgr, const ModelInfo& info, float* out);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_PREPROCESS_H_
