// An index bundle, loaded: the sharded Faiss index of a database's descriptors plus each vector's
// metadata, verified and checked against the served model. The on-disk format is in
// docs/INDEX.md (manifest.json, shards/shard-NNNNN.faiss, metadata.bin, extras).
//
//   BundleLoadOptions opts;  opts.expected_model = &encoder->info();
//   GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const Bundle> bundle, Bundle::Load(dir, opts));
//   GEOLOC_ASSIGN_OR_RETURN(auto hits, bundle->Search(descriptors, {.k = 60}));  // per query
//
// Lifetime and threading: a Bundle is immutable once Load() returns, and every method is const and
// safe to call from any number of threads at once. Load() hands it out as shared_ptr<const Bundle>
// so that the server can keep one in a snapshot: a request copies the shared_ptr at its start and
// uses only that copy; a hot swap loads and verifies the next bundle off the serving path, then
// replaces the snapshot pointer; the old bundle (its memory and mappings) is released when the
// last request holding it finishes. Search results are copies (no views into the bundle), so they
// may outlive it. Files of a loaded bundle must not be rewritten in place (IVF lists and metadata
// are memory-mapped); bundles are replaced by writing a new directory.
//
// Load() checks (the first failure is returned; nothing is partially loaded):
//   problem                                              status
//   directory or manifest.json missing                   NOT_FOUND
//   a build's staging directory (.<name>.staging-*)      FAILED_PRECONDITION (never served)
//   manifest not JSON of the expected shape              INVALID_ARGUMENT
//   format_version newer than kBundleFormatVersion       FAILED_PRECONDITION
//   manifest inconsistent (counts do not add up, shard   DATA_LOSS naming the field
//     rows not successive, unsafe file names, unknown
//     index type or metric, digest/version mismatch)
//   expected_model differs in dim, metric, fingerprint   FAILED_PRECONDITION naming both values
//   a listed file missing                                NOT_FOUND naming the file
//   a file's size or SHA-256 differs from the manifest   DATA_LOSS naming the file (sizes are
//                                                        always checked, SHA-256 when
//                                                        verify_checksums)
//   Faiss cannot read a shard, or its type, dimension,   DATA_LOSS naming the shard
//     metric, nlist or vector count differ
//   metadata.bin invalid (metadata.h), row count or      DATA_LOSS
//     coordinate bounds differ from the manifest
//
// Scores (geo::ScoreKind): inner-product bundles report the similarity <q, x> (kSimilarity, higher
// is better); L2 bundles report the L2 distance |q - x| (kDistance, not squared, lower is better).
//
// Search parameters (case table):
//   k                   1..kMaxSearchK; fewer results when the bundle (or, for IVF, the probed
//                       lists) hold fewer vectors
//   nprobe (IVF)        0: the bundle's tuned default; clamped to nlist; ignored by other types
//   ef_search (HNSW)    0: the bundle's tuned default; raised to k if smaller; ignored by others
//   queries             n x dim floats, n >= 1, all finite (else INVALID_ARGUMENT)
#ifndef GEOLOC_CORE_INDEX_BUNDLE_H_
#define GEOLOC_CORE_INDEX_BUNDLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/geo/neighbor_weights.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/index_spec.h"
#include "core/index/metadata.h"
#include "core/model/model_info.h"

namespace faiss {
struct Index;
}  // namespace faiss

namespace geoloc::index {

inline constexpr int kBundleFormatVersion = 1;
inline constexpr char kManifestFileName[] = "manifest.json";
inline constexpr char kMetadataFileName[] = "metadata.bin";
inline constexpr char kShardDirName[] = "shards";
inline constexpr int kMaxSearchK = 4096;

// How flat bundles are searched.
//   kGeoloc: flat_kernel.h (AVX-512/AVX2 tiles + heap selection), the default.
//   kFaiss:  faiss::IndexFlat, with faiss::distance_compute_blas_threshold lowered to 1 once per
//            process so that every batch size goes through BLAS (for comparison; slower here).
enum class FlatKernel { kGeoloc, kFaiss };

// Where the Faiss index lives. GPU placement needs a Faiss built with GPU support (the build
// defines GEOLOC_FAISS_GPU); Debian's Faiss has none, so here every request stays on the CPU
// and Load() logs why.
//   kCpu:            the CPU.
//   kShardPerDevice: shard i on device devices[i % devices.size()].
//   kReplicate:      every device holds all shards; searches are spread over the replicas.
// On a GPU, per-search nprobe is not supported by Faiss 1.7.3's GPU indexes: the bundle's default
// nprobe is set once at load and a search's nprobe is ignored. HNSW stays on the CPU.
enum class GpuPlacement { kCpu, kShardPerDevice, kReplicate };

struct BundleLoadOptions {
  // SHA-256 of every file against the manifest (about 1.2 GB/s per core). Off skips only the
  // hashes; sizes, counts, dimensions and the metadata are always checked.
  bool verify_checksums = true;
  // When set, the bundle must have been built with this model (dim, metric, fingerprint).
  // Only read during Load().
  const model::ModelInfo* expected_model = nullptr;
  // Memory-map IVF inverted lists (Faiss IO_FLAG_MMAP) instead of reading them into memory.
  // Faiss 1.7.3 maps nothing else; flat and HNSW shards are read into memory.
  bool mmap = true;
  // Threads for one flat search, split evenly over the shards (0: OpenMP's default).
  int search_threads = 0;
  // With several shards: search them in parallel on Faiss's per-shard worker threads (true) or
  // one after another on the caller's thread (false); see sharded_index.h for the trade-off.
  bool threaded_shards = true;
  // Threads for hashing and reading shards during Load (0: hardware concurrency).
  int load_threads = 0;
  FlatKernel flat_kernel = FlatKernel::kGeoloc;
  GpuPlacement gpu = GpuPlacement::kCpu;
  std::vector<int> gpu_devices;  // empty: every visible device
};

struct SearchParams {
  int k = 10;
  int nprobe = 0;
  int ef_search = 0;
};

// One retrieved database vector.
struct Neighbor {
  int64_t row = -1;  // global row in the bundle (= Faiss label)
  int64_t id = 0;    // the id recorded at build time
  float score = 0;   // see score_kind()
  double lat = 0;
  double lon = 0;
  std::string source;
  std::string group;  // empty when the bundle records none
};

class Bundle {
 public:
  static absl::StatusOr<std::shared_ptr<const Bundle>> Load(const std::string& path,
                                                            const BundleLoadOptions& options = {});
  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  const std::string& path() const { return path_; }
  const BundleManifest& manifest() const { return manifest_; }
  // The manifest's version string, e.g. "demo-3f2a9c1b7e40" (reported by the server).
  const std::string& version() const { return manifest_.version(); }
  int dim() const { return manifest_.model().dim(); }
  model::Metric metric() const { return metric_; }
  geo::ScoreKind score_kind() const {
    return metric_ == model::Metric::kL2 ? geo::ScoreKind::kDistance : geo::ScoreKind::kSimilarity;
  }
  IndexType index_type() const { return index_type_; }
  int64_t size() const { return manifest_.total_count(); }
  int num_shards() const { return manifest_.shards_size(); }
  const MetadataTable& metadata() const { return metadata_; }
  // "cpu", or e.g. "gpu:0,1" when the index was placed on GPUs.
  const std::string& device() const { return device_; }

  bool HasExtra(absl::string_view name) const;
  // Absolute path of a verified extra file (e.g. "cells", "head"); NOT_FOUND when absent.
  absl::StatusOr<std::string> ExtraPath(absl::string_view name) const;

  // Top-k neighbours of each of the queries.size() / dim() queries, best first.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> Search(absl::Span<const float> queries,
                                                            const SearchParams& params) const;
  // The stored descriptors of `rows` (rows.size() * dim() floats): exact for flat, HNSW and
  // re-ranked IVF-PQ, the quantized approximation for plain IVF-PQ. Used by Explain to compare the
  // query with a neighbour. INVALID_ARGUMENT for a row outside the bundle; UNIMPLEMENTED on GPU.
  absl::StatusOr<std::vector<float>> Reconstruct(absl::Span<const int64_t> rows) const;

  // The same without metadata: n * k scores and rows, best first per query (row -1 and a NaN
  // score where a query has fewer than k results). `scores` and `rows` must hold n * k values.
  absl::Status SearchRows(absl::Span<const float> queries, const SearchParams& params,
                          absl::Span<float> scores, absl::Span<int64_t> rows) const;

 private:
  Bundle() = default;

  std::string path_;
  BundleManifest manifest_;
  model::Metric metric_ = model::Metric::kInnerProduct;
  IndexType index_type_ = IndexType::kFlat;
  MetadataTable metadata_;
  // GPU resources must outlive the GPU index (declared first, destroyed last); type-erased so
  // this header needs no GPU headers.
  std::vector<std::shared_ptr<void>> gpu_resources_;
  std::unique_ptr<faiss::Index> index_;
  bool on_gpu_ = false;
  std::string device_ = "cpu";
};

// Reads and checks manifest.json alone (structure, counts, file names, digest): what
// `geoloc-index info` prints. Same statuses as Load() for the manifest rows of its table.
absl::StatusOr<BundleManifest> ReadManifest(const std::string& bundle_path);

// The outcome of checking one file listed in a manifest.
struct FileCheckResult {
  std::string file;     // relative to the bundle
  absl::Status status;  // NOT_FOUND (missing), DATA_LOSS (size or SHA-256 differs) or OK
};

// Checks every file the manifest lists (shards, metadata, extras): existence, size and, when
// `hash`, SHA-256; in parallel on `threads` threads (0: hardware concurrency). One result per
// file, in manifest order. Used by Load() and by `geoloc-index verify`.
std::vector<FileCheckResult> CheckBundleFiles(const std::string& bundle_path,
                                              const BundleManifest& manifest, bool hash,
                                              int threads = 0);

// FAILED_PRECONDITION naming both values when the manifest's model differs from `model` in
// dimension, metric or fingerprint.
absl::Status CheckModelMatches(const BundleManifest& manifest, const model::ModelInfo& model);

// The content digest (hex SHA-256) over the model, index parameters and every file's SHA-256, in
// manifest order; version = name + "-" + the first 12 hex digits.
std::string ComputeContentDigest(const BundleManifest& manifest);
std::string VersionString(const std::string& name, const std::string& digest);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_BUNDLE_H_
