// How a bundle is loaded and where its index lives: the options of Bundle::Load (bundle.h),
// shared with the shard loader (shard_loader.h). Plain values; copy freely.
//
//   BundleLoadOptions options;  options.expected_model = &encoder->info();
//   options.verify_checksums = false;  // trusted storage: sizes and structure only
#ifndef GEOLOC_CORE_INDEX_BUNDLE_OPTIONS_H_
#define GEOLOC_CORE_INDEX_BUNDLE_OPTIONS_H_

#include <vector>

#include "core/model/model_info.h"

namespace geoloc::index {

// How flat bundles are searched.
//   kGeoloc: flat_kernel.h (AVX-512/AVX2 tiles + heap selection), the default.
//   kFaiss:  faiss::IndexFlat, with faiss::distance_compute_blas_threshold lowered to 1 once per
//            process so that every batch size goes through BLAS (for comparison; slower here).
//            Float32 flat stores only: an sq8 store always runs geoloc's scan.
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

// The sq8 flat store's short list (sq8_flat_index.h): L = max(ceil(k * factor), k + extra) rows
// re-ranked exactly. Any value gives the exact answer; it only moves work between re-ranking and
// a second scan of the codes (docs/BENCHMARKS.md measures the default).
struct Sq8Shortlist {
  double factor = 4.0;
  int extra = 32;
};

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
  Sq8Shortlist sq8_shortlist;  // flat bundles with flat_store sq8
  GpuPlacement gpu = GpuPlacement::kCpu;
  std::vector<int> gpu_devices;  // empty: every visible device
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_BUNDLE_OPTIONS_H_
