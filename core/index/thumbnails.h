// Neighbour thumbnails stored in a bundle (`geoloc-index build --thumbnails`; docs/INDEX.md): one
// small JPEG per row, so that an operator sees the database photos an answer rests on. An extra
// file of the bundle named kThumbnailsExtraName, checksummed in the manifest like every file.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::string jpeg, MakeThumbnailJpeg(bgr, 160));  // image_builder.h
//   GEOLOC_RETURN_IF_ERROR(WriteThumbnailFile(path, 160, jpegs));   // one per row, in row order
//   GEOLOC_ASSIGN_OR_RETURN(auto store, ThumbnailStore::Open(path, bundle.size()));
//   absl::string_view jpeg_of_row_7 = store->Get(7);
//
// File layout (little-endian): the line "geoloc-thumbnails\n", uint32 format_version (1), uint32
// max_side, uint64 rows, uint64 offsets[rows + 1] into the data that follows (row r's JPEG is
// data[offsets[r], offsets[r + 1]); an empty range: no thumbnail for that row), then the data.
//
// Lifetime and threading: a ThumbnailStore maps its file read-only; it is immutable and safe from
// many threads. Views returned by Get() live as long as the store.
#ifndef GEOLOC_CORE_INDEX_THUMBNAILS_H_
#define GEOLOC_CORE_INDEX_THUMBNAILS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/index/mapped_file.h"

namespace geoloc::index {

inline constexpr char kThumbnailsExtraName[] = "thumbnails";
inline constexpr char kThumbnailsFileName[] = "thumbnails.bin";
inline constexpr int kDefaultThumbnailMaxSide = 160;
inline constexpr int kMinThumbnailMaxSide = 16;
inline constexpr int kMaxThumbnailMaxSide = 1024;
inline constexpr int kThumbnailJpegQuality = 80;

// OK when max_side is in [kMinThumbnailMaxSide, kMaxThumbnailMaxSide], else INVALID_ARGUMENT.
absl::Status CheckThumbnailMaxSide(int max_side);

// Writes the file atomically. INVALID_ARGUMENT for max_side out of range.
absl::Status WriteThumbnailFile(const std::string& path, int max_side,
                                absl::Span<const std::string> jpegs);

class ThumbnailStore {
 public:
  // Maps and checks the file: DATA_LOSS naming the problem for a wrong header, format version,
  // offsets that are not increasing or do not end at the file's end, and FAILED_PRECONDITION when
  // it holds another number of rows than `expected_rows` (the bundle's).
  static absl::StatusOr<std::unique_ptr<const ThumbnailStore>> Open(const std::string& path,
                                                                    int64_t expected_rows);

  int max_side() const { return max_side_; }
  int64_t rows() const { return rows_; }
  // Row `row`'s JPEG; empty for a row without one or outside [0, rows()).
  absl::string_view Get(int64_t row) const;

 private:
  ThumbnailStore() = default;

  MappedFile file_;
  int max_side_ = 0;
  int64_t rows_ = 0;
  const uint8_t* offsets_ = nullptr;  // rows + 1 little-endian uint64 (maybe unaligned)
  absl::string_view data_;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_THUMBNAILS_H_
