#include "tools/cells/bundle_extras.h"

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/status_macros.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"

namespace geoloc::cells_cli {
namespace fs = std::filesystem;

absl::StatusOr<TempDir> TempDir::Create() {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "geoloc-cells-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary directory in ", base.string()));
  }
  return TempDir(pattern);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

absl::StatusOr<std::optional<index::ExtraEntry>> FindExtra(const std::string& bundle,
                                                           absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(index::BundleManifest manifest, index::ReadManifest(bundle));
  for (const index::ExtraEntry& e : manifest.extras()) {
    if (e.name() == name) return e;
  }
  return std::nullopt;
}

absl::Status RemoveBundleExtra(const std::string& bundle, absl::string_view name) {
  GEOLOC_ASSIGN_OR_RETURN(index::BundleManifest manifest, index::ReadManifest(bundle));
  int found = -1;
  for (int i = 0; i < manifest.extras_size(); ++i) {
    if (manifest.extras(i).name() == name) found = i;
  }
  if (found < 0) return absl::OkStatus();
  const std::string file = manifest.extras(found).file();
  manifest.mutable_extras()->DeleteSubrange(found, 1);
  manifest.set_content_digest(index::ComputeContentDigest(manifest));
  manifest.set_version(index::VersionString(manifest.name(), manifest.content_digest()));
  GEOLOC_RETURN_IF_ERROR(WriteJsonProtoAtomically(
      (fs::path(bundle) / index::kManifestFileName).string(), manifest));
  // The manifest no longer lists the file: a crash from here on leaves an unlisted file only.
  std::error_code ec;
  fs::remove(fs::path(bundle) / file, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("removed extra '", name, "' from ", bundle,
                                            "'s manifest but could not delete ", file, ": ",
                                            ec.message()));
  }
  return SyncDirectory(bundle);
}

absl::StatusOr<index::BundleManifest> AddBundleExtraBytes(const std::string& bundle,
                                                          absl::string_view name,
                                                          absl::string_view file_name,
                                                          absl::string_view contents) {
  GEOLOC_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  const std::string path = (fs::path(dir.path()) / std::string(file_name)).string();
  GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(path, contents));
  return index::AddBundleExtra(bundle, {std::string(name), path});
}

}  // namespace geoloc::cells_cli
