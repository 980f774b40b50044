// Reading a bundle's Faiss shards, checking each against the manifest, and placing them on the
// device that searches them (one CPU index, a ShardedIndex over several, or GPU copies). Internal
// to core/index: Bundle::Load is its caller. Faiss types appear here only as a forward
// declaration, so that no header outside core/index's .cc files includes Faiss.
//
//   GEOLOC_ASSIGN_OR_RETURN(LoadedIndex loaded, LoadShards(dir, manifest, options));
//   loaded.index->search(n, queries, k, distances, labels, params);
//
// LoadShards' checks (the first failure is returned; nothing is kept):
//   problem                                              status
//   a shard's SHA-256 differs (when verify_checksums)    DATA_LOSS naming the shard
//   Faiss cannot read a shard, or its type, dimension,   DATA_LOSS naming the shard
//     metric, nlist or vector count differ
//   an sq8 store (flat_store sq8) that does not match    DATA_LOSS naming the shard and the store
//     its shard (magic, size, counts, parameters)
//   several shards that do not combine                   DATA_LOSS
// GPU placement that fails, or is asked of a build without GPU Faiss, logs why and keeps the
// index on the CPU (bundle.h describes GpuPlacement).
//
// Lifetime: LoadedIndex owns the index and the GPU resources it uses, and releases the index
// first. Threading: LoadShards reads shards on up to options.load_threads threads; the loaded
// index's const search is safe from any number of threads.
#ifndef GEOLOC_CORE_INDEX_SHARD_LOADER_H_
#define GEOLOC_CORE_INDEX_SHARD_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/index/bundle_manifest.pb.h"
#include "core/index/bundle_options.h"

namespace faiss {
struct Index;
}  // namespace faiss

namespace geoloc::index {

struct LoadedIndex {
  LoadedIndex();
  LoadedIndex(LoadedIndex&&) noexcept;
  LoadedIndex& operator=(LoadedIndex&&) noexcept;
  ~LoadedIndex();  // the index before the GPU resources it may use

  // Type-erased GPU resources (StandardGpuResources), so that this header needs no GPU headers.
  std::vector<std::shared_ptr<void>> gpu_resources;
  // The whole bundle: rows are global (shard-major, successive), as in the manifest.
  std::unique_ptr<faiss::Index> index;
  bool on_gpu = false;
  std::string device = "cpu";  // or e.g. "gpu:0,1"
};

// Loads every shard of the bundle at `bundle_path` described by `manifest` (already checked by
// ReadManifest, its files' sizes by CheckBundleFiles).
absl::StatusOr<LoadedIndex> LoadShards(const std::string& bundle_path,
                                       const BundleManifest& manifest,
                                       const BundleLoadOptions& options);

// The CPU shard index holding global row `row` (0 <= row < total_count), and the row's position
// in it (`*local`). For Bundle::Reconstruct; not for a GPU-resident index.
const faiss::Index* ShardOf(const LoadedIndex& loaded, const BundleManifest& manifest, int64_t row,
                            int64_t* local);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_SHARD_LOADER_H_
