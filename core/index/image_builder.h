// Turning a list of geotagged images into a bundle with the CNN encoder: the `geoloc-index build`
// pipeline for image sources.
//
//   GEOLOC_ASSIGN_OR_RETURN(SourceList list, ReadCsvSource("world/world.csv", ""));
//   ImageEncodeOptions enc;  enc.batch_size = 32;
//   BundleWriteOptions out;  out.output = "bundles/world";
//   GEOLOC_ASSIGN_OR_RETURN(BundleManifest m, BuildBundleFromImages(*encoder, list, enc, out));
//
// Pipeline: images are read, decoded (core/model/image_decoder.h: header checks, reduced JPEG
// decoding, EXIF orientation) and preprocessed on `decode_threads` pool threads straight into the
// encoder's input buffers; up to `prefetch_batches` batches are prepared while the calling thread
// runs the encoder on the current one, so the encoder is never starved while decoding keeps up.
// An unreadable image (missing, corrupt, too large, undecodable) is skipped: it is counted, logged
// (each of the first 100, then every 1000th) and the build goes on. A failing encoder forward
// pass stops the build (the model, not the data, is broken). Progress with rate and ETA goes to
// stderr (core/common/progress.h).
//
// Threading: each call owns its buffers and decoding threads, and only reads `source`; the encoder
// is shared safely (Encoder::Encode is thread-safe), so concurrent calls may use one encoder.
#ifndef GEOLOC_CORE_INDEX_IMAGE_BUILDER_H_
#define GEOLOC_CORE_INDEX_IMAGE_BUILDER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/bundle_writer.h"
#include "core/index/image_source.h"
#include "core/index/metadata.h"
#include "core/model/encoder.h"

namespace geoloc::index {

struct ImageEncodeOptions {
  int batch_size = 32;
  int decode_threads = 0;    // 0: hardware concurrency
  int prefetch_batches = 2;  // batches decoded ahead of the encoder
  int64_t max_pixels = 50'000'000;
  bool show_progress = true;
  // > 0: also make each image's thumbnail (thumbnails.h), longer side at most this many pixels,
  // stored in the bundle as the "thumbnails" extra by BuildBundleFromImages. 0: none.
  int thumbnail_max_side = 0;
};

struct EncodedImages {
  std::vector<float> descriptors;  // rows.size() x dim
  std::vector<MetadataRow> rows;
  std::vector<std::string> thumbnails;  // parallel to rows when thumbnails were asked for
  int64_t skipped = 0;  // unreadable images
  double seconds = 0;
};

// A JPEG of `bgr` (CV_8UC3) scaled (area interpolation) so that its longer side is at most
// `max_side` pixels (never enlarged). INVALID_ARGUMENT for an empty image or max_side outside
// thumbnails.h's range.
absl::StatusOr<std::string> MakeThumbnailJpeg(const cv::Mat& bgr, int max_side);

// Encodes every entry of `source` (in order; skipped images leave no row).
absl::StatusOr<EncodedImages> EncodeImages(const model::Encoder& encoder, const SourceList& source,
                                           const ImageEncodeOptions& options);

// EncodeImages + WriteBundle (build info filled from `source` and the encoding).
absl::StatusOr<BundleManifest> BuildBundleFromImages(const model::Encoder& encoder,
                                                     const SourceList& source,
                                                     const ImageEncodeOptions& encode_options,
                                                     BundleWriteOptions write_options);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_IMAGE_BUILDER_H_
