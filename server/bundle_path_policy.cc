#include "server/bundle_path_policy.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace geoloc::server {
namespace fs = std::filesystem;
namespace {

// True when `path` equals `root` or lies below it, comparing whole components.
bool IsWithin(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ResolveBundlePath(const std::string& index_root,
                                              const std::string& requested) {
  if (requested.empty()) return absl::InvalidArgumentError("bundle_path is empty");
  if (requested.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("bundle_path contains a NUL byte");
  }
  std::error_code ec;
  if (index_root.empty()) {
    fs::path resolved = fs::canonical(requested, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("no bundle at ", requested));
    return resolved.string();
  }
  const fs::path root = fs::canonical(index_root, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("index root ", index_root, " is not accessible: ", ec.message()));
  }
  fs::path candidate = fs::path(requested);
  if (candidate.is_relative()) candidate = root / candidate;
  candidate = candidate.lexically_normal();
  if (!IsWithin(candidate, root)) {
    return absl::PermissionDeniedError(
        absl::StrCat("bundle path ", requested, " is outside the index root ", root.string()));
  }
  const fs::path resolved = fs::canonical(candidate, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("no bundle at ", requested));
  if (!IsWithin(resolved, root)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "bundle path ", requested, " resolves (through a link) outside the index root ",
        root.string()));
  }
  return resolved.string();
}

}  // namespace geoloc::server
