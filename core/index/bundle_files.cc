#include "core/index/bundle_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

struct FileCheck {
  std::string file;  // relative
  std::string sha256;
  int64_t size = 0;
};

absl::Status CheckFile(const std::string& bundle, const FileCheck& f, bool hash) {
  const std::string full = (fs::path(bundle) / f.file).string();
  struct stat st;
  if (::stat(full.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("bundle ", bundle, ": file ", f.file, " listed in the manifest is missing"));
  }
  if (static_cast<int64_t>(st.st_size) != f.size) {
    return absl::DataLossError(absl::StrCat("bundle ", bundle, ": file ", f.file, " has ",
                                            st.st_size, " bytes, the manifest says ", f.size));
  }
  if (!hash) return absl::OkStatus();
  GEOLOC_ASSIGN_OR_RETURN(std::string sha, Sha256File(full));
  if (sha != f.sha256) {
    return absl::DataLossError(absl::StrCat("bundle ", bundle, ": file ", f.file,
                                            " is corrupt: SHA-256 ", sha, ", the manifest says ",
                                            f.sha256));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<FileCheckResult> CheckBundleFiles(const std::string& bundle_path,
                                              const BundleManifest& manifest, FileHashing hashing,
                                              int threads) {
  const bool hash = hashing != FileHashing::kNone;
  std::vector<FileCheck> files;
  std::vector<bool> hashed;
  for (const ShardEntry& s : manifest.shards()) {
    files.push_back({s.file(), s.sha256(), s.size_bytes()});
    hashed.push_back(hashing == FileHashing::kAll);
    if (s.has_sq8()) {  // the loader maps it without hashing it: checked here
      files.push_back({s.sq8().file(), s.sq8().sha256(), s.sq8().size_bytes()});
      hashed.push_back(hash);
    }
  }
  files.push_back(
      {manifest.metadata().file(), manifest.metadata().sha256(), manifest.metadata().size_bytes()});
  hashed.push_back(hash);
  for (const ExtraEntry& e : manifest.extras()) {
    files.push_back({e.file(), e.sha256(), e.size_bytes()});
    hashed.push_back(hash);
  }
  std::vector<FileCheckResult> results(files.size());
  ThreadPool pool(
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  ParallelFor(&pool, static_cast<int64_t>(files.size()), [&](int64_t i) {
    results[i].file = files[i].file;
    results[i].status = CheckFile(bundle_path, files[i], hashed[i]);
  });
  return results;
}

absl::Status CheckMetadataMatchesManifest(const std::string& bundle_path,
                                          const BundleManifest& manifest,
                                          const MetadataTable& meta) {
  if (meta.size() != manifest.total_count()) {
    return absl::DataLossError(absl::StrCat("bundle ", bundle_path, ": metadata has ", meta.size(),
                                            " rows, the manifest says ", manifest.total_count()));
  }
  Bounds bounds;
  bounds.set_min_lat(90);
  bounds.set_max_lat(-90);
  bounds.set_min_lon(180);
  bounds.set_max_lon(-180);
  for (int64_t r = 0; r < meta.size(); ++r) {
    bounds.set_min_lat(std::min(bounds.min_lat(), meta.lat(r)));
    bounds.set_max_lat(std::max(bounds.max_lat(), meta.lat(r)));
    bounds.set_min_lon(std::min(bounds.min_lon(), meta.lon(r)));
    bounds.set_max_lon(std::max(bounds.max_lon(), meta.lon(r)));
  }
  const Bounds& mb = manifest.bounds();
  if (bounds.min_lat() != mb.min_lat() || bounds.max_lat() != mb.max_lat() ||
      bounds.min_lon() != mb.min_lon() || bounds.max_lon() != mb.max_lon()) {
    return absl::DataLossError(absl::StrCat("bundle ", bundle_path,
                                            ": metadata coordinate bounds differ from the "
                                            "manifest's"));
  }
  return absl::OkStatus();
}

}  // namespace geoloc::index
