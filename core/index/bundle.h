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
// Load() checks, in this order (the first failure is returned; nothing is partially loaded):
//   1. manifest.json alone                 ReadManifest's table (manifest.h)
//   2. expected_model differs in dim,      FAILED_PRECONDITION naming both values
//      metric or fingerprint               (CheckModelMatches)
//   3. every listed file: existence, size  NOT_FOUND / DATA_LOSS naming the file
//      and (verify_checksums) SHA-256      (bundle_files.h; shards are hashed in step 5)
//   4. metadata.bin invalid (metadata.h),  DATA_LOSS
//      rows or bounds differ from the
//      manifest
//   5. the shards: SHA-256, Faiss reads    DATA_LOSS naming the shard (shard_loader.h)
//      them, type, dimension, metric,
//      nlist and vector count agree
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
//   filter (flat)       exact: only the set's rows are scored (the kernel gathers them)
//   filter (HNSW)       exact over the set's rows (the graph is not walked; hnsw_index.h)
//   filter (IVF)        nprobe is divided by the set's share of the bundle (capped at nlist),
//                       so that as many members are scanned as an unfiltered search scans
//                       vectors; when the set holds fewer vectors than those probed lists, its
//                       vectors are reconstructed and scored exactly instead (a small area:
//                       exact, and cheaper than scanning the lists)
//   filter (re-ranked)  the same rules (the exact path reconstructs the re-ranking vectors)
//   filter, empty set   no search: every query gets no result (row -1)
//   filter, GPU index   FAILED_PRECONDITION (GPU Faiss 1.7.3 has no IDSelector)
#ifndef GEOLOC_CORE_INDEX_BUNDLE_H_
#define GEOLOC_CORE_INDEX_BUNDLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/geo/neighbor_weights.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/bundle_options.h"
#include "core/index/index_spec.h"
#include "core/index/manifest.h"
#include "core/index/metadata.h"
#include "core/index/row_set.h"
#include "core/model/model_info.h"

namespace geoloc::index {

struct LoadedIndex;  // shard_loader.h: the Faiss index, kept out of this header

inline constexpr int kMaxSearchK = 4096;

struct SearchParams {
  int k = 10;
  int nprobe = 0;
  int ef_search = 0;
  // Search only these rows (a search area's photos; row_set.h): the filter runs inside the
  // index search, so the k results are the k best of the set. Borrowed for the call; null: all.
  const RowSet* filter = nullptr;
};

// What the sq8 flat store's searches did since the bundle was loaded, summed over its shards
// (docs/INDEX.md "The sq8 flat store"): exact totals once the searches counted have returned.
struct Sq8Counters {
  int64_t queries = 0;        // queries searched (a query counts once per shard)
  int64_t second_scans = 0;   // of those, the ones the short list could not prove (step 4)
  int64_t rows_reranked = 0;  // float32 vectors scored exactly
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
  const std::string& device() const;

  bool HasExtra(absl::string_view name) const;
  // Absolute path of a verified extra file (e.g. "cells", "head"); NOT_FOUND when absent.
  absl::StatusOr<std::string> ExtraPath(absl::string_view name) const;

  // Top-k neighbours of each of the queries.size() / dim() queries, best first.
  absl::StatusOr<std::vector<std::vector<Neighbor>>> Search(absl::Span<const float> queries,
                                                            const SearchParams& params) const;
  // The sq8 flat store's counters; nullopt for a bundle without one.
  std::optional<Sq8Counters> sq8_counters() const;

  // The stored descriptors of `rows` (rows.size() * dim() floats): exact for flat, HNSW and
  // re-ranked IVF-PQ, the quantized approximation for plain IVF-PQ. Used by Explain to compare the
  // query with a neighbour. INVALID_ARGUMENT for a row outside the bundle; UNIMPLEMENTED on GPU.
  absl::StatusOr<std::vector<float>> Reconstruct(absl::Span<const int64_t> rows) const;

  // The same without metadata: n * k scores and rows, best first per query (row -1 and a NaN
  // score where a query has fewer than k results). `scores` and `rows` must hold n * k values.
  absl::Status SearchRows(absl::Span<const float> queries, const SearchParams& params,
                          absl::Span<float> scores, absl::Span<int64_t> rows) const;

 private:
  Bundle();

  std::string path_;
  BundleManifest manifest_;
  model::Metric metric_ = model::Metric::kInnerProduct;
  IndexType index_type_ = IndexType::kFlat;
  MetadataTable metadata_;
  std::unique_ptr<const LoadedIndex> index_;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_BUNDLE_H_
