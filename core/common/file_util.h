// Files written so that a killed process never leaves a half-written file that loads as valid.
//
//   GEOLOC_RETURN_IF_ERROR(WriteFileAtomically("/data/bundle/manifest.json", json));
//
//   GEOLOC_ASSIGN_OR_RETURN(StagingDirectory staging, StagingDirectory::Create("/data/b1"));
//   ... write files under staging.path() ...
//   GEOLOC_RETURN_IF_ERROR(staging.Commit());  // renames /data/.b1.staging-XXXX to /data/b1
//
// WriteFileAtomically writes a temporary file beside the target, fsyncs it, renames it over the
// target and fsyncs the directory. A StagingDirectory that is destroyed without Commit() removes
// itself, and its name never matches a bundle a loader would pick up.
#ifndef GEOLOC_CORE_COMMON_FILE_UTIL_H_
#define GEOLOC_CORE_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);
// fsync of a directory, so that a rename inside it survives a crash.
absl::Status SyncDirectory(const std::string& dir);

// A directory built under a temporary name and renamed into place when complete.
// Move-only; not thread-safe (one builder owns it).
class StagingDirectory {
 public:
  // Creates `<parent of final_path>/.<basename>.staging-<random>`. Fails if final_path exists,
  // unless `replace_existing` (then Commit swaps it out and removes the old directory).
  static absl::StatusOr<StagingDirectory> Create(const std::string& final_path,
                                                 bool replace_existing = false);
  StagingDirectory(StagingDirectory&& other) noexcept;
  StagingDirectory& operator=(StagingDirectory&& other) noexcept;
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;
  ~StagingDirectory();

  const std::string& path() const { return staging_path_; }
  const std::string& final_path() const { return final_path_; }
  // fsyncs every file in the staging directory, then renames it to final_path.
  absl::Status Commit();

 private:
  StagingDirectory(std::string staging_path, std::string final_path, bool replace_existing);
  std::string staging_path_;
  std::string final_path_;
  bool replace_existing_ = false;
  bool committed_ = false;
};

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_FILE_UTIL_H_
