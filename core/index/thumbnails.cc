#include "core/index/thumbnails.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"

namespace geoloc::index {
namespace {

constexpr absl::string_view kMagic = "geoloc-thumbnails\n";
constexpr uint32_t kFormatVersion = 1;
// magic, format_version, max_side, rows
constexpr size_t kHeaderBytes = kMagic.size() + 4 + 4 + 8;

absl::Status CheckMaxSide(int max_side) {
  if (max_side < kMinThumbnailMaxSide || max_side > kMaxThumbnailMaxSide) {
    return absl::InvalidArgumentError(absl::StrCat("thumbnail size ", max_side, " is outside [",
                                                   kMinThumbnailMaxSide, ", ",
                                                   kMaxThumbnailMaxSide, "] pixels"));
  }
  return absl::OkStatus();
}

template <typename T>
void Append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
T Read(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

}  // namespace

absl::Status CheckThumbnailMaxSide(int max_side) { return CheckMaxSide(max_side); }

absl::Status WriteThumbnailFile(const std::string& path, int max_side,
                                absl::Span<const std::string> jpegs) {
  GEOLOC_RETURN_IF_ERROR(CheckMaxSide(max_side));
  size_t data_bytes = 0;
  for (const std::string& j : jpegs) data_bytes += j.size();
  std::string out;
  out.reserve(kHeaderBytes + (jpegs.size() + 1) * 8 + data_bytes);
  out.append(kMagic.data(), kMagic.size());
  Append<uint32_t>(&out, kFormatVersion);
  Append<uint32_t>(&out, static_cast<uint32_t>(max_side));
  Append<uint64_t>(&out, jpegs.size());
  uint64_t offset = 0;
  Append<uint64_t>(&out, offset);
  for (const std::string& j : jpegs) {
    offset += j.size();
    Append<uint64_t>(&out, offset);
  }
  for (const std::string& j : jpegs) out.append(j);
  return WriteFileAtomically(path, out);
}

absl::StatusOr<std::unique_ptr<const ThumbnailStore>> ThumbnailStore::Open(
    const std::string& path, int64_t expected_rows) {
  GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const absl::string_view bytes = file.bytes();
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("thumbnails ", path, ": ", what));
  };
  if (bytes.size() < kHeaderBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return bad("not a thumbnail file");
  }
  const uint8_t* at = file.data() + kMagic.size();
  const uint32_t version = Read<uint32_t>(at);
  if (version != kFormatVersion) {
    return bad(absl::StrCat("format_version ", version, ", this build reads ", kFormatVersion));
  }
  const uint32_t max_side = Read<uint32_t>(at + 4);
  const uint64_t rows = Read<uint64_t>(at + 8);
  if (!CheckMaxSide(static_cast<int>(std::min<uint32_t>(max_side, 1u << 30))).ok()) {
    return bad(absl::StrCat("thumbnail size ", max_side, " out of range"));
  }
  if (rows != static_cast<uint64_t>(expected_rows)) {
    return absl::FailedPreconditionError(absl::StrCat("thumbnails ", path, ": ", rows,
                                                      " rows, the bundle has ", expected_rows));
  }
  const size_t table_bytes = (rows + 1) * 8;
  if (bytes.size() - kHeaderBytes < table_bytes) return bad("truncated offset table");
  auto store = std::unique_ptr<ThumbnailStore>(new ThumbnailStore());
  store->max_side_ = static_cast<int>(max_side);
  store->rows_ = static_cast<int64_t>(rows);
  store->offsets_ = file.data() + kHeaderBytes;
  store->data_ = bytes.substr(kHeaderBytes + table_bytes);
  uint64_t previous = 0;
  for (uint64_t r = 0; r <= rows; ++r) {
    const uint64_t offset = Read<uint64_t>(store->offsets_ + r * 8);
    if (offset < previous || (r == 0 && offset != 0)) {
      return bad(absl::StrCat("offset of row ", r, " goes backwards"));
    }
    previous = offset;
  }
  if (previous != store->data_.size()) {
    return bad(absl::StrCat("offsets end at ", previous, " but the data holds ",
                            store->data_.size(), " bytes"));
  }
  store->file_ = std::move(file);
  return std::unique_ptr<const ThumbnailStore>(std::move(store));
}

absl::string_view ThumbnailStore::Get(int64_t row) const {
  if (row < 0 || row >= rows_) return {};
  const uint64_t begin = Read<uint64_t>(offsets_ + row * 8);
  const uint64_t end = Read<uint64_t>(offsets_ + (row + 1) * 8);
  return data_.substr(begin, end - begin);
}

}  // namespace geoloc::index
