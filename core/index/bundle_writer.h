// Writes an index bundle from descriptors and their metadata: trains the index, splits it into
// shards, writes every file into a staging directory and renames it into place only when complete.
//
//   BundleWriteOptions opts;  opts.output = "/data/bundles/paris";  opts.shards = 4;
//   opts.index.type = IndexType::kIvfPq;
//   GEOLOC_ASSIGN_OR_RETURN(BundleManifest m, WriteBundle(desc.data(), n, info, rows, opts));
//
// Steps (each stage name is passed to `stage_hook` right after the step, so tests can inject a
// failure or kill the process there):
//   "start"      staging directory <parent>/.<name>.staging-XXXX created
//   "trained"    IVF: coarse quantizer (and PQ / SQ8 refine codec) trained once on a sample of
//                train_size vectors, shared by every shard
//   "shard-N"    shard N built (rows [N n / S, (N + 1) n / S)) and written with faiss::write_index
//   "metadata"   metadata.bin written
//   "extras"     extra files copied
//   "manifest"   defaults tuned, checksums computed, manifest.json written
//   then the staging directory is fsynced and renamed to `output`.
// A crash or a failed step at any point leaves no directory at `output` (a killed process leaves
// its staging directory, which no loader picks up; FindStaleStagingDirectories lists them). The
// manifest is written last inside the staging directory, so even a staging directory never holds
// a manifest whose files are incomplete.
//
// Default search parameters are tuned at build time: min(tune_queries, n) database vectors
// (evenly spaced rows) are searched exactly and approximately; IVF tries nprobe = 1, 2, 4, ...,
// nlist and HNSW efSearch = 16, 32, ..., 4096, and the first value whose recall@tune_k reaches
// target_recall becomes the default. The sweep stops early on a plateau (two doublings gaining
// less than 0.002); when no value reaches the target (PQ quantisation caps recall), the smallest
// value within 0.01 of the best recall seen is used. Both are recorded in the
// manifest's tuning field.
//
// Memory: the in-memory overload reads `descriptors` in place; the DescriptorReader overload
// (below) streams them, so a bundle can be larger than memory minus its own shards.
//
// Thread-compatible: one WriteBundle call per output at a time; it uses OpenMP (Faiss) and a few
// threads internally.
#ifndef GEOLOC_CORE_INDEX_BUNDLE_WRITER_H_
#define GEOLOC_CORE_INDEX_BUNDLE_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/index_spec.h"
#include "core/index/metadata.h"
#include "core/model/model_info.h"

namespace geoloc::index {

struct ExtraFile {
  std::string name;  // e.g. "cells", "head": [A-Za-z0-9._-]+
  std::string path;  // file to copy into the bundle (stored under its base name)
};

struct BundleWriteOptions {
  std::string output;             // the bundle directory to create
  std::string name;               // default: the base name of `output`
  IndexSpec index;                // zero fields: defaults (index_spec.h)
  int shards = 1;                 // 1 <= shards <= number of vectors
  bool replace_existing = false;  // else an existing `output` is an error
  double target_recall = 0.95;    // for the tuned nprobe / efSearch defaults
  int tune_queries = 256;
  int tune_k = 10;
  std::vector<ExtraFile> extras;
  // Recorded in the manifest's build field.
  std::string source;
  int64_t inputs_seen = 0;
  int64_t inputs_skipped = 0;
  double seconds_before = 0;  // time spent before WriteBundle (e.g. encoding)
  uint64_t seed = 1;          // training sample
  bool show_progress = true;
  // Test hook, called after each stage (see above); a non-OK status aborts the build cleanly.
  std::function<absl::Status(absl::string_view stage)> stage_hook;
};

// descriptors: n x model.dim floats, row-major; rows: n metadata rows (same order).
// INVALID_ARGUMENT for inconsistent input (sizes, non-finite descriptors, bad names, index
// parameters), ALREADY_EXISTS when `output` exists and !replace_existing.
absl::StatusOr<BundleManifest> WriteBundle(const float* descriptors, int64_t n,
                                           const model::ModelInfo& model,
                                           const std::vector<MetadataRow>& rows,
                                           const BundleWriteOptions& options);

// Writes rows [first, first + count) of the descriptors to `out` (count x dim floats). A
// streaming build calls it for the training sample and the tuning queries (a few rows at a time),
// then once per add chunk in row order, so descriptors too large for memory can be read from disk
// or regenerated chunk by chunk. A non-OK status aborts the build cleanly.
using DescriptorReader = std::function<absl::Status(int64_t first, int64_t count, float* out)>;

// The same build from a reader: memory holds the built shards, one add chunk and the sample, never
// all n descriptors (10M x 512: docs/BENCHMARKS.md "Ten million vectors"). Non-finite
// descriptors are reported when their chunk is read (INVALID_ARGUMENT, no bundle written).
absl::StatusOr<BundleManifest> WriteBundle(const DescriptorReader& read, int64_t n,
                                           const model::ModelInfo& model,
                                           const std::vector<MetadataRow>& rows,
                                           const BundleWriteOptions& options);

// Adds (or replaces) an extra file in an existing bundle: copies `file` in under its base name
// and rewrites manifest.json atomically with the new checksum, digest and version. A server
// serving the bundle sees the change only after reloading it.
absl::StatusOr<BundleManifest> AddBundleExtra(const std::string& bundle, const ExtraFile& extra);

// Staging directories left next to `output` by killed builds (safe to delete when no build of
// `output` is running).
std::vector<std::string> FindStaleStagingDirectories(const std::string& output);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_BUNDLE_WRITER_H_
