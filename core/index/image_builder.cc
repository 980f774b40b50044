#include "core/index/image_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/model/image_decoder.h"
#include "core/index/thumbnails.h"
#include "core/model/preprocess.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace geoloc::index {
namespace {

// Reads, decodes and preprocesses one image into `out` (PreprocessedSize floats), and when
// thumbnail_max_side > 0 makes its thumbnail into `thumbnail`.
absl::Status LoadImageInto(const std::string& path, const model::ModelInfo& info,
                           const model::DecodeOptions& decode, int thumbnail_max_side, float* out,
                           std::string* thumbnail) {
  try {
    GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
    GEOLOC_ASSIGN_OR_RETURN(cv::Mat bgr, model::DecodeImage(bytes, decode));
    if (thumbnail_max_side > 0) {
      GEOLOC_ASSIGN_OR_RETURN(*thumbnail, MakeThumbnailJpeg(bgr, thumbnail_max_side));
    }
    return model::PreprocessInto(bgr, info, out);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot decode: ", e.what()));
  }
}

// One batch being prepared by the pool. The scheduling thread sets `first` and `size` and resets
// the statuses before it schedules the batch's tasks; task j writes only image j's range of
// `pixels`, which the encoding thread reads once Done() holds.
struct Slot {
  std::vector<float> pixels;
  std::vector<std::string> thumbnails;  // one per image when thumbnails are made
  int64_t first = 0;  // index of the batch's first entry
  int size = 0;
  absl::Mutex mu;
  std::vector<absl::Status> status ABSL_GUARDED_BY(mu);
  int remaining ABSL_GUARDED_BY(mu) = 0;

  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return remaining == 0; }
};

}  // namespace

absl::StatusOr<std::string> MakeThumbnailJpeg(const cv::Mat& bgr, int max_side) {
  GEOLOC_RETURN_IF_ERROR(CheckThumbnailMaxSide(max_side));
  if (bgr.empty()) return absl::InvalidArgumentError("thumbnail of an empty image");
  const int longer = std::max(bgr.cols, bgr.rows);
  cv::Mat small = bgr;
  if (longer > max_side) {
    const double scale = static_cast<double>(max_side) / longer;
    const cv::Size size(std::max(1, static_cast<int>(bgr.cols * scale + 0.5)),
                        std::max(1, static_cast<int>(bgr.rows * scale + 0.5)));
    cv::resize(bgr, small, size, 0, 0, cv::INTER_AREA);
  }
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, kThumbnailJpegQuality})) {
    return absl::InternalError("thumbnail: JPEG encoding failed");
  }
  return std::string(jpeg.begin(), jpeg.end());
}

absl::StatusOr<EncodedImages> EncodeImages(const model::Encoder& encoder, const SourceList& source,
                                           const ImageEncodeOptions& options) {
  const absl::Time start = absl::Now();
  const model::ModelInfo& info = encoder.info();
  const int dim = info.dim;
  const size_t px = model::PreprocessedSize(info);
  const int batch = std::max(1, options.batch_size);
  const int64_t n = static_cast<int64_t>(source.entries.size());
  const int64_t batches = (n + batch - 1) / batch;
  const int slots_count = std::max(1, options.prefetch_batches) + 1;
  const int thumbnail_side = options.thumbnail_max_side;
  if (thumbnail_side != 0) GEOLOC_RETURN_IF_ERROR(CheckThumbnailMaxSide(thumbnail_side));
  model::DecodeOptions decode;
  decode.max_pixels = options.max_pixels;
  decode.target_min_side = std::max(info.input_height, info.input_width);

  EncodedImages out;
  out.descriptors.resize(static_cast<size_t>(n) * dim);
  out.rows.reserve(n);
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < slots_count; ++i) {
    slots.push_back(std::make_unique<Slot>());
    slots.back()->pixels.resize(px * batch);
    if (thumbnail_side > 0) slots.back()->thumbnails.resize(batch);
  }
  // Declared after the slots: destroyed (joined) first, so no task outlives its slot.
  const int threads = options.decode_threads > 0
                          ? options.decode_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);

  auto schedule = [&](int64_t b) {
    Slot& slot = *slots[b % slots_count];
    slot.first = b * batch;
    slot.size = static_cast<int>(std::min<int64_t>(batch, n - slot.first));
    {
      absl::MutexLock lock(&slot.mu);
      slot.status.assign(slot.size, absl::OkStatus());
      slot.remaining = slot.size;
    }
    for (int j = 0; j < slot.size; ++j) {
      pool.Schedule([&, j, s = &slot] {
        absl::Status st =
            LoadImageInto(source.entries[s->first + j].path, info, decode, thumbnail_side,
                          s->pixels.data() + px * j,
                          thumbnail_side > 0 ? &s->thumbnails[j] : nullptr);
        absl::MutexLock lock(&s->mu);
        s->status[j] = std::move(st);
        --s->remaining;
      });
    }
  };
  for (int64_t b = 0; b < std::min<int64_t>(slots_count, batches); ++b) schedule(b);

  std::optional<ProgressReporter> progress;
  if (options.show_progress) progress.emplace("encode", n, "img");
  std::vector<int> kept;
  for (int64_t b = 0; b < batches; ++b) {
    Slot& slot = *slots[b % slots_count];
    std::vector<absl::Status> status;
    {
      absl::MutexLock lock(&slot.mu, absl::Condition(&slot, &Slot::Done));
      status = std::move(slot.status);
    }
    // Compact the readable images to the front of the buffer.
    kept.clear();
    for (int j = 0; j < slot.size; ++j) {
      const SourceEntry& entry = source.entries[slot.first + j];
      if (!status[j].ok()) {
        ++out.skipped;
        if (out.skipped <= 100 || out.skipped % 1000 == 0) {
          GEOLOC_LOG(WARNING) << "skipping unreadable image " << entry.path << ": "
                              << status[j] << " (" << out.skipped << " skipped so far)";
        }
        continue;
      }
      const int m = static_cast<int>(kept.size());
      if (m != j) {
        std::memmove(slot.pixels.data() + px * m, slot.pixels.data() + px * j, px * sizeof(float));
      }
      kept.push_back(j);
    }
    if (!kept.empty()) {
      float* dst = out.descriptors.data() + out.rows.size() * dim;
      absl::Status st = encoder.Encode(slot.pixels.data(), static_cast<int>(kept.size()), dst);
      if (!st.ok()) {
        return Annotate(st, absl::StrCat("encoding batch ", b, " (images ", slot.first, "..",
                                         slot.first + slot.size - 1, ")"));
      }
      for (size_t m = 0; m < kept.size(); ++m) {
        const float* v = dst + m * dim;
        bool finite = true;
        for (int i = 0; i < dim && finite; ++i) finite = std::isfinite(v[i]);
        const SourceEntry& entry = source.entries[slot.first + kept[m]];
        if (!finite) {
          ++out.skipped;
          GEOLOC_LOG(WARNING) << "skipping " << entry.path
                              << ": the encoder produced a non-finite descriptor";
          continue;
        }
        // Rows may shift down over skipped non-finite descriptors.
        float* row_dst = out.descriptors.data() + out.rows.size() * dim;
        if (row_dst != v) std::memmove(row_dst, v, dim * sizeof(float));
        out.rows.push_back(entry.meta);
        if (thumbnail_side > 0) out.thumbnails.push_back(std::move(slot.thumbnails[kept[m]]));
      }
    }
    if (progress) progress->Add(slot.size);
    if (b + slots_count < batches) schedule(b + slots_count);
  }
  if (progress) progress->Finish();
  out.descriptors.resize(out.rows.size() * dim);
  out.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (out.skipped > 0) {
    GEOLOC_LOG(WARNING) << out.skipped << " of " << n << " images were unreadable and skipped";
  }
  return out;
}

absl::StatusOr<BundleManifest> BuildBundleFromImages(const model::Encoder& encoder,
                                                     const SourceList& source,
                                                     const ImageEncodeOptions& encode_options,
                                                     BundleWriteOptions write_options) {
  GEOLOC_ASSIGN_OR_RETURN(EncodedImages encoded, EncodeImages(encoder, source, encode_options));
  if (encoded.rows.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no readable images in ", source.description,
                                                   " (", source.seen, " looked at)"));
  }
  GEOLOC_LOG(INFO) << "encoded " << encoded.rows.size() << " images in " << encoded.seconds
                   << " s (" << encoded.rows.size() / std::max(1e-9, encoded.seconds) << " img/s)";
  write_options.source = source.description;
  write_options.inputs_seen = source.seen;
  write_options.inputs_skipped = source.skipped + encoded.skipped;
  write_options.seconds_before += encoded.seconds;
  // The thumbnails go in as an extra file (stored under its base name, kThumbnailsFileName),
  // written first into a directory next to the output (same file system) that is removed once
  // the bundle holds its copy.
  std::optional<std::string> thumbnails_dir;
  if (encode_options.thumbnail_max_side > 0) {
    thumbnails_dir = absl::StrCat(write_options.output, ".thumbnails-tmp");
    std::error_code ec;
    std::filesystem::create_directories(*thumbnails_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create ", *thumbnails_dir, ": ", ec.message()));
    }
    const std::string path = absl::StrCat(*thumbnails_dir, "/", kThumbnailsFileName);
    if (absl::Status st =
            WriteThumbnailFile(path, encode_options.thumbnail_max_side, encoded.thumbnails);
        !st.ok()) {
      std::filesystem::remove_all(*thumbnails_dir, ec);
      return st;
    }
    write_options.extras.push_back({kThumbnailsExtraName, path});
  }
  absl::StatusOr<BundleManifest> manifest = WriteBundle(encoded.descriptors.data(), static_cast<int64_t>(encoded.rows.size()),
                     encoder.info(), encoded.rows, write_options);
  if (thumbnails_dir.has_value()) {
    std::error_code ignored;  // a leftover temporary directory is harmless
    std::filesystem::remove_all(*thumbnails_dir, ignored);
  }
  return manifest;
}

}  // namespace geoloc::index
