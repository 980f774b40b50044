// A read-only memory mapping of a whole file.
//
//   GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
//   absl::string_view bytes = file.bytes();  // valid while `file` lives
//
// Move-only; unmaps on destruction. The mapping is private and read-only: a process that rewrites
// the file in place would change what we see, which is why bundles are never modified in place
// (they are replaced by renaming a new directory). An empty file maps to an empty view.
// Threading: const methods are safe to call concurrently.
#ifndef GEOLOC_CORE_INDEX_MAPPED_FILE_H_
#define GEOLOC_CORE_INDEX_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::index {

class MappedFile {
 public:
  // NOT_FOUND when the file does not exist; other errors name the path and errno.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Page-aligned start of the file (nullptr when empty).
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  absl::string_view bytes() const {
    return absl::string_view(reinterpret_cast<const char*>(data_), size_);
  }
  // Hints the kernel that the mapping will be read front to back (more read-ahead).
  void AdviseSequential() const;

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_MAPPED_FILE_H_
