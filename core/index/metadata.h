// The per-vector metadata of a bundle (metadata.bin): id, latitude, longitude, source path or URI
// and an optional group (place, author), in a compact columnar binary file that opens in
// milliseconds for millions of rows (one mmap, then O(rows) validation) and is fully
// bounds-checked: a truncated, padded or corrupted file gives an error, never a crash.
//
//   std::vector<MetadataRow> rows = ...;
//   GEOLOC_RETURN_IF_ERROR(WriteMetadataFile(path, rows));
//   GEOLOC_ASSIGN_OR_RETURN(MetadataTable table, MetadataTable::Open(path));
//   double lat = table.lat(17);  absl::string_view src = table.source(17);
//
// Layout (little-endian; every section starts at a multiple of 8 bytes, zero padding between):
//
//   offset  field
//   0       magic "GLOCMETA" (8 bytes)
//   8       uint32 version (1)
//   12      uint32 header size (64)
//   16      uint64 count (rows)
//   24      uint64 source_bytes (total UTF-8 bytes of all sources)
//   32      uint64 group_count (distinct groups)
//   40      uint64 group_bytes (total bytes of the distinct group names)
//   48      16 bytes reserved (zero)
//   64      int64   ids[count]
//           float64 lats[count]
//           float64 lons[count]
//           uint64  source_offsets[count + 1]   row r's source is data[off[r], off[r + 1])
//           uint32  group_of_row[count]         index into the group table, 0xFFFFFFFF = none
//           uint64  group_offsets[group_count + 1]
//           bytes   source_data[source_bytes]
//           bytes   group_data[group_bytes]     (ends the file exactly)
//
// Open() checks, in order (the first failure is returned):
//   problem                                           status
//   file missing                                      NOT_FOUND
//   shorter than the header, wrong magic              DATA_LOSS
//   version other than 1, header size other than 64   FAILED_PRECONDITION (newer format)
//   counts that cannot fit the file                   DATA_LOSS
//   file size != the size the header implies         DATA_LOSS ("truncated" / "trailing bytes")
//   offsets not starting at 0, decreasing, or not     DATA_LOSS naming the row
//     ending at the data size
//   group index out of range                          DATA_LOSS naming the row
//   latitude/longitude not finite or out of range     DATA_LOSS naming the row
//
// MetadataTable is immutable and move-only; accessors are safe to call concurrently and return
// views into the mapping, valid while the table lives. Rows are not range-checked by the
// accessors (callers iterate 0 <= row < size()).
#ifndef GEOLOC_CORE_INDEX_METADATA_H_
#define GEOLOC_CORE_INDEX_METADATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/index/mapped_file.h"

namespace geoloc::index {

// One database vector's metadata, as the builder collects it.
struct MetadataRow {
  int64_t id = 0;
  double lat = 0;
  double lon = 0;
  std::string source;  // path or URI of the image (any bytes; UTF-8 by convention)
  std::string group;   // empty: no group
};

inline constexpr char kMetadataMagic[8] = {'G', 'L', 'O', 'C', 'M', 'E', 'T', 'A'};
inline constexpr uint32_t kMetadataVersion = 1;

// Serialises rows into the layout above. INVALID_ARGUMENT for a non-finite or out-of-range
// coordinate (naming the row).
absl::StatusOr<std::string> EncodeMetadata(const std::vector<MetadataRow>& rows);
// EncodeMetadata + WriteFileAtomically.
absl::Status WriteMetadataFile(const std::string& path, const std::vector<MetadataRow>& rows);

class MetadataTable {
 public:
  // Maps and validates the file (see the table above).
  static absl::StatusOr<MetadataTable> Open(const std::string& path);

  MetadataTable() = default;
  MetadataTable(MetadataTable&&) noexcept = default;
  MetadataTable& operator=(MetadataTable&&) noexcept = default;
  MetadataTable(const MetadataTable&) = delete;
  MetadataTable& operator=(const MetadataTable&) = delete;

  int64_t size() const { return count_; }
  int64_t group_count() const { return group_count_; }

  int64_t id(int64_t row) const { return ids_[row]; }
  double lat(int64_t row) const { return lats_[row]; }
  double lon(int64_t row) const { return lons_[row]; }
  absl::string_view source(int64_t row) const {
    return absl::string_view(source_data_ + source_offsets_[row],
                             source_offsets_[row + 1] - source_offsets_[row]);
  }
  bool has_group(int64_t row) const { return group_of_row_[row] != kNoGroup; }
  // Empty when the row has no group.
  absl::string_view group(int64_t row) const;

  MetadataRow Row(int64_t row) const;

  static constexpr uint32_t kNoGroup = 0xFFFFFFFFu;

 private:
  MappedFile file_;
  int64_t count_ = 0;
  int64_t group_count_ = 0;
  const int64_t* ids_ = nullptr;
  const double* lats_ = nullptr;
  const double* lons_ = nullptr;
  const uint64_t* source_offsets_ = nullptr;
  const uint32_t* group_of_row_ = nullptr;
  const uint64_t* group_offsets_ = nullptr;
  const char* source_data_ = nullptr;
  const char* group_data_ = nullptr;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_METADATA_H_
