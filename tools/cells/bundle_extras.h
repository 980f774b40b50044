// Bundle extras the cell tools manage: the "cells" hierarchy (cells.json) and the "head" cell
// classifier (head.pt), which is only valid for the cells.json it was trained on.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::optional<ExtraEntry> cells, FindExtra(bundle, kCellsExtra));
//   GEOLOC_RETURN_IF_ERROR(RemoveBundleExtra(bundle, kHeadExtra));
//
// RemoveBundleExtra is AddBundleExtra's counterpart (core/index/bundle_writer.h): it rewrites
// manifest.json atomically without the entry (new content digest and version), then deletes the
// file. A crash in between leaves an unlisted file behind, never a listed file that is missing.
// A server serving the bundle sees the change only after reloading it.
//
// Not safe against another process editing the same bundle's manifest at the same time (the last
// manifest written wins), like AddBundleExtra.
#ifndef GEOLOC_TOOLS_CELLS_BUNDLE_EXTRAS_H_
#define GEOLOC_TOOLS_CELLS_BUNDLE_EXTRAS_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/index/bundle_manifest.pb.h"

namespace geoloc::cells_cli {

inline constexpr char kCellsExtra[] = "cells";
inline constexpr char kCellsFile[] = "cells.json";
inline constexpr char kHeadExtra[] = "head";
inline constexpr char kHeadFile[] = "head.pt";

// A private directory under the system's temporary directory, removed with its contents when the
// object dies. Move-only; one owner.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Create();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The manifest's entry for extra `name`, or nullopt. Errors: ReadManifest's.
absl::StatusOr<std::optional<index::ExtraEntry>> FindExtra(const std::string& bundle,
                                                           absl::string_view name);

// OK (and nothing changes) when the bundle has no such extra.
absl::Status RemoveBundleExtra(const std::string& bundle, absl::string_view name);

// Adds `contents` as extra `name` stored as `file_name` (via a private temporary directory and
// AddBundleExtra: the file is written atomically, then the manifest). Returns the new manifest.
absl::StatusOr<index::BundleManifest> AddBundleExtraBytes(const std::string& bundle,
                                                          absl::string_view name,
                                                          absl::string_view file_name,
                                                          absl::string_view contents);

}  // namespace geoloc::cells_cli

#endif  // GEOLOC_TOOLS_CELLS_BUNDLE_EXTRAS_H_
