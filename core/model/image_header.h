// Bounds-checked parsing of image containers, done before any pixel is decoded: the format, the
// declared dimensions, the EXIF orientation and whether the data is cut short. DecodeImage
// (image_decoder.h) relies on it to refuse bombs and truncated uploads; it is public so tests and
// fuzzers can drive it directly.
//
//   GEOLOC_ASSIGN_OR_RETURN(ContainerInfo info, InspectImage(bytes));
//   if (!info.truncation.empty()) return absl::InvalidArgumentError(info.truncation);
//
// Stateless free functions, safe from any thread. Every read is checked against the input's size;
// no offset read from the input is followed twice, so crafted offsets cannot loop.
//
// What InspectImage reads, per format (all multi-byte fields in the format's byte order):
//   JPEG  SOI, then every marker segment up to EOI: the first SOF gives the size, the first APP1
//         "Exif" block the orientation; entropy-coded data is skipped byte-wise (FF00 stuffing,
//         RSTn) to count scans and to reach EOI. Bytes after EOI (MPF, trailers) are ignored.
//   PNG   signature, IHDR (first chunk), then chunk headers up to IEND; eXIf gives orientation.
//   GIF   signature and logical screen size (never decoded: see ContainerInfo::unsupported).
//   WebP  RIFF header, then VP8 (frame header), VP8L (bit-packed size) or VP8X (canvas size,
//         animation flag, EXIF chunk).
//   BMP   file header and the DIB header (12-byte core or 40+ byte info headers; negative height
//         means top-down); uncompressed pixel data must lie inside the file.
//   TIFF  IFD0 in either byte order: ImageWidth, ImageLength (each exactly once), SamplesPerPixel,
//         BitsPerSample, Orientation, and strip/tile extents (which must lie inside the file).
#ifndef GEOLOC_CORE_MODEL_IMAGE_HEADER_H_
#define GEOLOC_CORE_MODEL_IMAGE_HEADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/model/image_decoder.h"

namespace geoloc::model {

struct ContainerInfo {
  ImageHeader header;
  // EXIF Orientation 1..8 from the container's metadata; 1 when absent, out of range or
  // unreadable (broken metadata never fails a decode).
  int orientation = 1;
  // Empty when the container is whole; otherwise what is missing, e.g. "JPEG: the data ends
  // inside a scan, before the EOI marker (the file is cut short)".
  std::string truncation;
  // Empty when the decoder can handle the image; otherwise why not (GIF, animated WebP, 12-bit or
  // lossless JPEG, compressed BMP variants, TIFF pixels over 4 x 32 bits).
  std::string unsupported;
  bool jpeg_progressive = false;
  int jpeg_scans = 0;  // SOS markers seen (counting stops just past kMaxJpegScans)
};

// Progressive JPEGs may legally hold any number of scans and libjpeg re-walks the coefficient
// buffer for each: thousands of tiny scans are a CPU bomb. libjpeg-turbo's TurboJPEG API refuses
// more than 500 when asked to limit scans; so do we.
inline constexpr int kMaxJpegScans = 500;

// INVALID_ARGUMENT for empty input, data that is no supported container (the message names what
// it looks like: text, PDF, ...) or a header that is cut short or inconsistent (zero sides,
// invalid bit depths); UNIMPLEMENTED for recognised image formats geoloc does not read (HEIF,
// AVIF, JPEG 2000, BigTIFF, ...). Truncated bodies are reported in `truncation`, not as errors,
// so that a caller can check size limits first.
absl::StatusOr<ContainerInfo> InspectImage(absl::string_view bytes);

// The Orientation tag (0x0112) of a TIFF-structured block ("II*\0" or "MM\0*" first), as found in
// EXIF payloads and TIFF files: 1..8, or 1 when absent, malformed or out of range. Only IFD0 is
// read (where the tag lives), so IFD chains cannot make it loop.
int ReadTiffOrientation(absl::string_view tiff);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_IMAGE_HEADER_H_
