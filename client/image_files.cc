#include "client/image_files.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"

namespace geoloc::client {
namespace fs = std::filesystem;

bool HasImageExtension(absl::string_view path) {
  const size_t dot = path.rfind('.');
  if (dot == absl::string_view::npos) return false;
  const std::string ext = absl::AsciiStrToLower(path.substr(dot + 1));
  for (const char* known : {"jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"}) {
    if (ext == known) return true;
  }
  return false;
}

absl::StatusOr<std::vector<std::string>> ListImageFiles(const std::string& dir) {
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  if (!fs::exists(status)) return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " is not a directory"));
  }
  std::vector<std::string> paths;
  fs::directory_iterator it(dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  for (const fs::directory_entry& entry : it) {
    std::error_code entry_error;
    if (entry.is_regular_file(entry_error) && HasImageExtension(entry.path().filename().string())) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

absl::StatusOr<std::vector<std::string>> ImageFilesAt(const std::string& path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) return std::vector<std::string>{path};
  absl::StatusOr<std::vector<std::string>> paths = ListImageFiles(path);
  if (paths.ok() && paths->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no image files (.jpg .jpeg .png .webp .bmp .tif .tiff)"));
  }
  return paths;
}

absl::StatusOr<std::string> ReadImageFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  return bytes;
}

}  // namespace geoloc::client
