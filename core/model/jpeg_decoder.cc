#include "core/model/jpeg_decoder.h"

// jpeglib.h needs FILE and size_t declared first.
#include <csetjmp>
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>

namespace geoloc::model {
namespace {

// libjpeg reports through these hooks: an error jumps back to the step that started it; a
// warning (corrupt data it patched over) is counted so that the file goes back to OpenCV.
struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg hands the hooks &pub
  std::jmp_buf jump;
  int warnings = 0;
};

[[noreturn]] void OnError(j_common_ptr info) {
  std::longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1);
}

void OnMessage(j_common_ptr info, int level) {
  if (level < 0) ++reinterpret_cast<ErrorManager*>(info->err)->warnings;  // >= 0: trace output
}

void Silently(j_common_ptr) {}

// The steps below hold no C++ object between setjmp and a possible longjmp (the jump would skip
// its destructor): only libjpeg's C state and plain pointers.

bool Start(jpeg_decompress_struct* info, ErrorManager* err, const unsigned char* data, size_t size,
           int reduction) {
  if (setjmp(err->jump) != 0) return false;
  jpeg_mem_src(info, data, static_cast<unsigned long>(size));
  if (jpeg_read_header(info, TRUE) != JPEG_HEADER_OK) return false;
  const J_COLOR_SPACE space = info->jpeg_color_space;
  if (space != JCS_YCbCr && space != JCS_RGB && space != JCS_GRAYSCALE) return false;
  if (info->data_precision != 8) return false;
  info->scale_num = 1;
  info->scale_denom = static_cast<unsigned int>(reduction);
  info->out_color_space = JCS_EXT_BGR;
  info->dct_method = JDCT_ISLOW;
  info->do_fancy_upsampling = TRUE;
  jpeg_start_decompress(info);
  return err->warnings == 0 && info->output_components == 3;
}

bool ReadRows(jpeg_decompress_struct* info, ErrorManager* err, unsigned char* pixels,
              size_t row_bytes) {
  if (setjmp(err->jump) != 0) return false;
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = pixels + info->output_scanline * row_bytes;
    if (jpeg_read_scanlines(info, &row, 1) != 1) return false;
  }
  jpeg_finish_decompress(info);
  return err->warnings == 0;
}

bool Create(jpeg_decompress_struct* info, ErrorManager* err) {
  if (setjmp(err->jump) != 0) return false;
  jpeg_create_decompress(info);
  return true;
}

}  // namespace

std::optional<cv::Mat> DecodeJpegToBgr(absl::string_view bytes, int reduction) {
  if (reduction != 1 && reduction != 2 && reduction != 4 && reduction != 8) return std::nullopt;
  jpeg_decompress_struct info;
  ErrorManager err;
  info.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.emit_message = OnMessage;
  err.pub.output_message = Silently;
  if (!Create(&info, &err)) return std::nullopt;
  cv::Mat image;
  bool ok = Start(&info, &err, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                  reduction);
  if (ok) {
    try {
      image.create(static_cast<int>(info.output_height), static_cast<int>(info.output_width),
                   CV_8UC3);
    } catch (...) {  // out of memory: libjpeg's state is freed first, then the caller is told
      jpeg_destroy_decompress(&info);
      throw;
    }
    ok = ReadRows(&info, &err, image.data, image.step[0]);
  }
  jpeg_destroy_decompress(&info);
  if (!ok) return std::nullopt;
  return image;
}

}  // namespace geoloc::model
