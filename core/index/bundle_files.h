// Verifying the files a bundle's manifest lists (shards, metadata, extras) against it: existence,
// size and SHA-256, and the metadata's rows and bounds. Used by Bundle::Load and by
// `geoloc-index verify`; manifest.h checks the manifest itself.
//
//   for (const FileCheckResult& r : CheckBundleFiles(dir, manifest, FileHashing::kAll)) {
//     if (!r.status.ok()) std::cerr << r.file << ": " << r.status << "\n";
//   }
//
//   problem                                              status
//   a listed file missing                                NOT_FOUND naming the file
//   a file's size or SHA-256 differs from the manifest   DATA_LOSS naming the file
//   metadata.bin's row count or coordinate bounds        DATA_LOSS
//     differ from the manifest
//
// Pure functions of their arguments and the files: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_BUNDLE_FILES_H_
#define GEOLOC_CORE_INDEX_BUNDLE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/metadata.h"

namespace geoloc::index {

// Which files get their SHA-256 computed; sizes are always checked.
//   kNone          sizes only
//   kAllButShards  every file but the shards' .faiss files (Bundle::Load hashes each while it
//                  reads it, so that a shard is read from disk only once); sq8 stores are hashed
//   kAll           every file
enum class FileHashing { kNone, kAllButShards, kAll };

// The outcome of checking one file listed in a manifest.
struct FileCheckResult {
  std::string file;     // relative to the bundle
  absl::Status status;  // NOT_FOUND (missing), DATA_LOSS (size or SHA-256 differs) or OK
};

// Checks every file the manifest lists, in parallel on `threads` threads (0: hardware
// concurrency). One result per file, in manifest order (shards, each followed by its sq8 store,
// metadata, extras).
std::vector<FileCheckResult> CheckBundleFiles(const std::string& bundle_path,
                                              const BundleManifest& manifest, FileHashing hashing,
                                              int threads = 0);

// DATA_LOSS when `metadata` (the bundle's metadata.bin) holds another number of rows than the
// manifest's total_count, or coordinates whose bounds differ from the manifest's.
absl::Status CheckMetadataMatchesManifest(const std::string& bundle_path,
                                          const BundleManifest& manifest,
                                          const MetadataTable& metadata);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_BUNDLE_FILES_H_
