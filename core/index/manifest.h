// manifest.json of an index bundle: reading it, checking it on its own (structure, counts, file
// names, content digest) and against a served model. No file other than manifest.json is read
// here: bundle_files.h checks the files it lists, bundle.h loads them.
//
//   GEOLOC_ASSIGN_OR_RETURN(BundleManifest m, ReadManifest("/data/bundles/paris"));
//   GEOLOC_RETURN_IF_ERROR(CheckModelMatches(m, encoder->info()));
//
// ReadManifest's checks (the first failure is returned):
//   problem                                              status
//   directory or manifest.json missing                   NOT_FOUND
//   a build's staging directory (.<name>.staging-*)      FAILED_PRECONDITION (never served)
//   manifest not JSON of the expected shape              INVALID_ARGUMENT
//   format_version newer than kBundleFormatVersion       FAILED_PRECONDITION
//   manifest inconsistent (counts do not add up, shard   DATA_LOSS naming the field
//     rows not successive, unsafe file names, unknown
//     index type or metric, digest/version mismatch)
//
// Pure functions of their arguments and the file system: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_MANIFEST_H_
#define GEOLOC_CORE_INDEX_MANIFEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/model/model_info.h"

namespace geoloc::index {

inline constexpr int kBundleFormatVersion = 1;
inline constexpr char kManifestFileName[] = "manifest.json";
inline constexpr char kMetadataFileName[] = "metadata.bin";
inline constexpr char kShardDirName[] = "shards";

// Reads and checks manifest.json alone: what `geoloc-index info` prints and the first step of
// Bundle::Load. Statuses as in the table above.
absl::StatusOr<BundleManifest> ReadManifest(const std::string& bundle_path);

// FAILED_PRECONDITION naming both values when the manifest's model differs from `model` in
// dimension, metric or fingerprint.
absl::Status CheckModelMatches(const BundleManifest& manifest, const model::ModelInfo& model);

// The content digest (hex SHA-256) over the model, index parameters and every file's SHA-256, in
// manifest order; version = name + "-" + the first 12 hex digits.
std::string ComputeContentDigest(const BundleManifest& manifest);
std::string VersionString(const std::string& name, const std::string& digest);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_MANIFEST_H_
