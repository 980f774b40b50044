#include "server/http_static.h"

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"

namespace geoloc::server {
namespace fs = std::filesystem;

namespace {

absl::Status NotFound(absl::string_view path) {
  return absl::NotFoundError(absl::StrCat("no file at ", path.substr(0, 200)));
}

}  // namespace

std::string ContentTypeForPath(absl::string_view path) {
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".geojson", "application/geo+json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
  };
  const std::string lower = absl::AsciiStrToLower(path);
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(lower, ext)) return type;
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  root_ = ec ? std::move(root) : canonical.string();
}

absl::StatusOr<StaticFile> StaticFiles::Lookup(absl::string_view path) const {
  if (path.empty() || path[0] != '/' || path.find('\0') != absl::string_view::npos) {
    return NotFound(path);
  }
  // Refuse ".." and "." segments outright rather than resolving them.
  std::string relative;
  for (absl::string_view segment : absl::StrSplit(path.substr(1), '/')) {
    if (segment == ".." || segment == "." || absl::StrContains(segment, '\\')) {
      return NotFound(path);
    }
    if (segment.empty()) continue;
    if (!relative.empty()) relative += '/';
    absl::StrAppend(&relative, segment);
  }
  if (path.back() == '/') relative += relative.empty() ? "index.html" : "/index.html";
  std::error_code ec;
  // The file's real location (links followed) must stay under the root.
  const fs::path real = fs::canonical(fs::path(root_) / relative, ec);
  if (ec) return NotFound(path);
  const std::string real_string = real.string();
  if (!absl::StartsWith(real_string, absl::StrCat(root_, "/"))) return NotFound(path);
  if (!fs::is_regular_file(real, ec) || ec) return NotFound(path);
  const auto size = fs::file_size(real, ec);
  if (ec || size > static_cast<uintmax_t>(kMaxStaticFileBytes)) return NotFound(path);
  absl::StatusOr<std::string> content = ReadFileToString(real_string);
  if (!content.ok()) return NotFound(path);
  return StaticFile{*std::move(content), ContentTypeForPath(relative)};
}

}  // namespace geoloc::server
