// JPEG straight from libjpeg-turbo into 8-bit BGR, at 1/1, 1/2, 1/4 or 1/8 scale: the fast path
// of DecodeImage (image_decoder.h) for the photos it sees most.
//
//   std::optional<cv::Mat> bgr = DecodeJpegToBgr(bytes, /*reduction=*/2);
//   if (!bgr.has_value()) { ... cv::imdecode as before ... }
//
// The pixels are OpenCV's: cv::imdecode decodes these files with the same libjpeg-turbo, the same
// IDCT (JDCT_ISLOW), the same upsampling and the same colour conversion (tested pixel for pixel),
// but reads them through its own layers, about 0.5 ms more per 1024x768 photo at 1/2 scale
// (2.1 against 1.6 ms; docs/BENCHMARKS.md).
//
// Which files it takes (case table; nullopt hands the file back to the caller, who decodes it
// with OpenCV as before, so its answer there is unchanged):
//   YCbCr, RGB or grayscale, 8-bit samples, no libjpeg warning or error  -> the BGR image
//   CMYK / YCCK (OpenCV converts those itself), 12-bit samples            -> nullopt
//   a libjpeg error (corrupt data) or warning (data it patched over)      -> nullopt
//   a tables-only stream, reduction not 1, 2, 4 or 8                      -> nullopt
// A handed-back file costs up to one decode more (a warning may come at the last scanline); such
// files are rare (damaged ones, CMYK). The caller has already checked the header's size against
// its limits: this function allocates the decoded image without further checks.
//
// Thread-safe (no shared state); libjpeg's errors never leave this function (they unwind by
// longjmp to it, through libjpeg's C frames only).
#ifndef GEOLOC_CORE_MODEL_JPEG_DECODER_H_
#define GEOLOC_CORE_MODEL_JPEG_DECODER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace geoloc::model {

std::optional<cv::Mat> DecodeJpegToBgr(absl::string_view bytes, int reduction);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_JPEG_DECODER_H_
