#include "core/index/metadata.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"

namespace geoloc::index {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "metadata.bin is little-endian and read in place");

constexpr uint64_t kHeaderSize = 64;
// The smallest number of bytes a row occupies (id, lat, lon, source offset, group index).
constexpr uint64_t kMinBytesPerRow = 8 + 8 + 8 + 8 + 4;

uint64_t Align8(uint64_t x) { return (x + 7) & ~uint64_t{7}; }

struct Layout {
  uint64_t ids, lats, lons, source_offsets, group_of_row, group_offsets, source_data, group_data,
      end;
};

// Section offsets for the given counts. The callers bound every count by the file size first, so
// none of these sums can overflow 64 bits.
Layout ComputeLayout(uint64_t count, uint64_t source_bytes, uint64_t group_count,
                     uint64_t group_bytes) {
  Layout l;
  l.ids = kHeaderSize;
  l.lats = l.ids + 8 * count;
  l.lons = l.lats + 8 * count;
  l.source_offsets = l.lons + 8 * count;
  l.group_of_row = l.source_offsets + 8 * (count + 1);
  l.group_offsets = Align8(l.group_of_row + 4 * count);
  l.source_data = l.group_offsets + 8 * (group_count + 1);
  l.group_data = Align8(l.source_data + source_bytes);
  l.end = l.group_data + group_bytes;
  return l;
}

template <typename T>
void Put(std::string* out, uint64_t offset, T value) {
  std::memcpy(&(*out)[offset], &value, sizeof(T));
}

template <typename T>
T Get(const uint8_t* data, uint64_t offset) {
  T value;
  std::memcpy(&value, data + offset, sizeof(T));
  return value;
}

bool ValidLatLon(double lat, double lon) {
  return std::isfinite(lat) && std::isfinite(lon) && lat >= -90 && lat <= 90 && lon >= -180 &&
         lon <= 180;
}

absl::Status DataLoss(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("metadata file ", path, ": ", what));
}

// Offsets must start at 0, never decrease and end at `total`.
absl::Status CheckOffsets(const std::string& path, absl::string_view name, const uint64_t* offsets,
                          uint64_t n, uint64_t total) {
  if (offsets[0] != 0) return DataLoss(path, absl::StrCat(name, " offsets do not start at 0"));
  for (uint64_t i = 0; i < n; ++i) {
    if (offsets[i + 1] < offsets[i]) {
      return DataLoss(path, absl::StrCat(name, " offsets decrease at entry ", i));
    }
  }
  if (offsets[n] != total) {
    return DataLoss(path, absl::StrCat(name, " offsets end at ", offsets[n], ", expected ", total));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodeMetadata(const std::vector<MetadataRow>& rows) {
  const uint64_t count = rows.size();
  uint64_t source_bytes = 0;
  absl::flat_hash_map<absl::string_view, uint32_t> group_index;
  std::vector<absl::string_view> groups;
  uint64_t group_bytes = 0;
  for (uint64_t r = 0; r < count; ++r) {
    const MetadataRow& row = rows[r];
    if (!ValidLatLon(row.lat, row.lon)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata row ", r, " (", row.source, "): invalid coordinates ", row.lat, ", ", row.lon));
    }
    source_bytes += row.source.size();
    if (!row.group.empty() && group_index.emplace(row.group, groups.size()).second) {
      groups.push_back(row.group);
      group_bytes += row.group.size();
    }
  }
  if (groups.size() >= MetadataTable::kNoGroup) {
    return absl::InvalidArgumentError("too many distinct groups for metadata.bin");
  }
  const Layout l = ComputeLayout(count, source_bytes, groups.size(), group_bytes);
  std::string out(l.end, '\0');
  std::memcpy(&out[0], kMetadataMagic, sizeof(kMetadataMagic));
  Put<uint32_t>(&out, 8, kMetadataVersion);
  Put<uint32_t>(&out, 12, static_cast<uint32_t>(kHeaderSize));
  Put<uint64_t>(&out, 16, count);
  Put<uint64_t>(&out, 24, source_bytes);
  Put<uint64_t>(&out, 32, groups.size());
  Put<uint64_t>(&out, 40, group_bytes);
  uint64_t source_pos = 0;
  for (uint64_t r = 0; r < count; ++r) {
    const MetadataRow& row = rows[r];
    Put<int64_t>(&out, l.ids + 8 * r, row.id);
    Put<double>(&out, l.lats + 8 * r, row.lat);
    Put<double>(&out, l.lons + 8 * r, row.lon);
    Put<uint64_t>(&out, l.source_offsets + 8 * r, source_pos);
    if (!row.source.empty()) {
      std::memcpy(&out[l.source_data + source_pos], row.source.data(), row.source.size());
    }
    source_pos += row.source.size();
    Put<uint32_t>(&out, l.group_of_row + 4 * r,
                  row.group.empty() ? MetadataTable::kNoGroup : group_index.at(row.group));
  }
  Put<uint64_t>(&out, l.source_offsets + 8 * count, source_pos);
  uint64_t group_pos = 0;
  for (uint64_t g = 0; g < groups.size(); ++g) {
    Put<uint64_t>(&out, l.group_offsets + 8 * g, group_pos);
    std::memcpy(&out[l.group_data + group_pos], groups[g].data(), groups[g].size());
    group_pos += groups[g].size();
  }
  Put<uint64_t>(&out, l.group_offsets + 8 * groups.size(), group_pos);
  return out;
}

absl::Status WriteMetadataFile(const std::string& path, const std::vector<MetadataRow>& rows) {
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, EncodeMetadata(rows));
  return WriteFileAtomically(path, bytes);
}

absl::StatusOr<MetadataTable> MetadataTable::Open(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const uint8_t* data = file.data();
  const uint64_t size = file.size();
  if (size < kHeaderSize) {
    return DataLoss(path, absl::StrCat("truncated: ", size, " bytes, shorter than the header"));
  }
  if (std::memcmp(data, kMetadataMagic, sizeof(kMetadataMagic)) != 0) {
    return DataLoss(path, "not a geoloc metadata file (bad magic)");
  }
  const uint32_t version = Get<uint32_t>(data, 8);
  const uint32_t header_size = Get<uint32_t>(data, 12);
  if (version != kMetadataVersion || header_size != kHeaderSize) {
    return absl::FailedPreconditionError(
        absl::StrCat("metadata file ", path, ": format version ", version, " (header ", header_size,
                     " bytes) is not supported; this build reads version ", kMetadataVersion));
  }
  const uint64_t count = Get<uint64_t>(data, 16);
  const uint64_t source_bytes = Get<uint64_t>(data, 24);
  const uint64_t group_count = Get<uint64_t>(data, 32);
  const uint64_t group_bytes = Get<uint64_t>(data, 40);
  // Bound every count by the file size before any arithmetic, so nothing below can overflow.
  if (count > size / kMinBytesPerRow || group_count > size / 8 || source_bytes > size ||
      group_bytes > size || group_count >= kNoGroup) {
    return DataLoss(path, absl::StrCat("header counts (", count, " rows, ", group_count,
                                       " groups) cannot fit in ", size, " bytes"));
  }
  const Layout l = ComputeLayout(count, source_bytes, group_count, group_bytes);
  if (size < l.end) {
    return DataLoss(path, absl::StrCat("truncated: ", size, " bytes, the header implies ", l.end));
  }
  if (size > l.end) {
    return DataLoss(path,
                    absl::StrCat("trailing bytes: ", size, " bytes, the header implies ", l.end));
  }

  MetadataTable t;
  t.count_ = static_cast<int64_t>(count);
  t.group_count_ = static_cast<int64_t>(group_count);
  // Sections start at multiples of 8 in a page-aligned mapping, so these pointers are aligned.
  t.ids_ = reinterpret_cast<const int64_t*>(data + l.ids);
  t.lats_ = reinterpret_cast<const double*>(data + l.lats);
  t.lons_ = reinterpret_cast<const double*>(data + l.lons);
  t.source_offsets_ = reinterpret_cast<const uint64_t*>(data + l.source_offsets);
  t.group_of_row_ = reinterpret_cast<const uint32_t*>(data + l.group_of_row);
  t.group_offsets_ = reinterpret_cast<const uint64_t*>(data + l.group_offsets);
  t.source_data_ = reinterpret_cast<const char*>(data + l.source_data);
  t.group_data_ = reinterpret_cast<const char*>(data + l.group_data);

  GEOLOC_RETURN_IF_ERROR(CheckOffsets(path, "source", t.source_offsets_, count, source_bytes));
  GEOLOC_RETURN_IF_ERROR(CheckOffsets(path, "group", t.group_offsets_, group_count, group_bytes));
  for (uint64_t r = 0; r < count; ++r) {
    const uint32_t g = t.group_of_row_[r];
    if (g != kNoGroup && g >= group_count) {
      return DataLoss(path, absl::StrCat("row ", r, ": group index ", g, " out of range (",
                                         group_count, " groups)"));
    }
    if (!ValidLatLon(t.lats_[r], t.lons_[r])) {
      return DataLoss(
          path, absl::StrCat("row ", r, ": invalid coordinates ", t.lats_[r], ", ", t.lons_[r]));
    }
  }
  t.file_ = std::move(file);
  return t;
}

absl::string_view MetadataTable::group(int64_t row) const {
  const uint32_t g = group_of_row_[row];
  if (g == kNoGroup) return absl::string_view();
  return absl::string_view(group_data_ + group_offsets_[g],
                           group_offsets_[g + 1] - group_offsets_[g]);
}

MetadataRow MetadataTable::Row(int64_t row) const {
  MetadataRow out;
  out.id = id(row);
  out.lat = lat(row);
  out.lon = lon(row);
  out.source = std::string(source(row));
  out.group = std::string(group(row));
  return out;
}

}  // namespace geoloc::index
