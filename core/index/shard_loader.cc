#include "core/index/shard_loader.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/common/logging.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/index/fast_flat_index.h"
#include "core/index/hnsw_index.h"
#include "core/index/index_spec.h"
#include "core/index/mapped_file.h"
#include "core/index/rerank_index.h"
#include "core/index/sharded_index.h"
#include "core/index/sq8_flat_index.h"
#include "faiss/IndexFlat.h"
#include "faiss/IndexHNSW.h"
#include "faiss/IndexIVFFlat.h"
#include "faiss/IndexIVFPQ.h"
#include "faiss/impl/FaissException.h"
#include "faiss/impl/io.h"
#include "faiss/index_io.h"
#include "faiss/utils/distances.h"

#if GEOLOC_FAISS_GPU
#include "faiss/IndexReplicas.h"
#include "faiss/gpu/GpuAutoTune.h"
#include "faiss/gpu/GpuCloner.h"
#include "faiss/gpu/GpuClonerOptions.h"
#include "faiss/gpu/StandardGpuResources.h"
#include "faiss/gpu/utils/DeviceUtils.h"
#endif

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

// faiss::IOReader over a mapped file (fread semantics: whole items, fewer at the end).
class MappedIOReader : public faiss::IOReader {
 public:
  MappedIOReader(const MappedFile& file, const std::string& path)
      : data_(file.data()), size_(file.size()) {
    name = path;
  }
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0 || nitems == 0) return 0;
    const size_t n = std::min(nitems, (size_ - pos_) / size);
    if (n > 0) std::memcpy(ptr, data_ + pos_, n * size);
    pos_ += n * size;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Sets Faiss's BLAS threshold once per process (the global is read by every flat search).
void LowerFaissBlasThreshold() {
  static std::once_flag once;
  std::call_once(once, [] { faiss::distance_compute_blas_threshold = 1; });
}

// IVF indexes reconstruct a vector (for Explain) only through a direct map from id to list
// position: 8 bytes per vector, built once at load.
absl::Status EnableReconstruct(faiss::Index* index) {
  auto* ivf = dynamic_cast<faiss::IndexIVF*>(index);
  if (ivf == nullptr) return absl::OkStatus();
  try {
    ivf->make_direct_map(true);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("cannot map the IVF lists: ", e.what()));
  }
  return absl::OkStatus();
}

// Reads shard `s` and checks it against the manifest; returns the index to serve.
absl::StatusOr<std::unique_ptr<faiss::Index>> LoadShard(const std::string& bundle,
                                                        const BundleManifest& m, int s,
                                                        IndexType type, model::Metric metric,
                                                        const BundleLoadOptions& options,
                                                        int flat_threads) {
  const ShardEntry& shard = m.shards(s);
  const std::string full = (fs::path(bundle) / shard.file()).string();
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("bundle ", bundle, ": shard ", shard.file(), ": ", what));
  };
  // The shard is read from disk once: hashed through a mapping (which pulls it into the page
  // cache), then handed to Faiss only if it matches, from the same mapping.
  GEOLOC_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(full));
  file.AdviseSequential();
  if (options.verify_checksums) {
    const std::string sha = Sha256Hex(file.bytes());
    if (sha != shard.sha256()) {
      return bad(absl::StrCat("corrupt: SHA-256 ", sha, ", the manifest says ", shard.sha256()));
    }
  }
  if (type == IndexType::kFlat &&
      ParseFlatStore(m.index().flat_store()).value_or(FlatStore::kFp32) == FlatStore::kSq8) {
    // The float32 vectors stay in the file, read row by row for re-ranking: drop the hashing
    // mapping, whose pages would otherwise stay resident.
    file = MappedFile();
    Sq8SearchOptions sq8;
    sq8.exact.threads = flat_threads;
    sq8.shortlist = options.sq8_shortlist;
    absl::StatusOr<std::unique_ptr<Sq8FlatIndex>> index = Sq8FlatIndex::Open(
        full, (fs::path(bundle) / shard.sq8().file()).string(), m.model().dim(), shard.count(),
        metric == model::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT, sq8);
    if (!index.ok()) return bad(index.status().message());
    return std::unique_ptr<faiss::Index>(std::move(*index));
  }
  // Faiss maps IVF lists only when it reads the file itself (IO_FLAG_MMAP needs a FILE).
  const bool faiss_mmap = options.mmap && IsIvf(type);
  std::unique_ptr<faiss::Index> index;
  try {
    if (faiss_mmap) {
      index.reset(faiss::read_index(full.c_str(), faiss::IO_FLAG_MMAP | faiss::IO_FLAG_READ_ONLY));
    } else {
      MappedIOReader reader(file, full);
      index.reset(faiss::read_index(&reader));
    }
  } catch (const faiss::FaissException& e) {
    return bad(absl::StrCat("Faiss cannot read it: ", e.what()));
  } catch (const std::exception& e) {
    return bad(absl::StrCat("Faiss cannot read it: ", e.what()));
  }
  const faiss::MetricType want_metric =
      metric == model::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  if (index->d != m.model().dim()) {
    return bad(absl::StrCat("dimension ", index->d, ", the manifest says ", m.model().dim()));
  }
  if (index->ntotal != shard.count()) {
    return bad(absl::StrCat(index->ntotal, " vectors, the manifest says ", shard.count()));
  }
  if (index->metric_type != want_metric) {
    return bad(absl::StrCat("metric ", static_cast<int>(index->metric_type),
                            " differs from the manifest's ", m.model().metric()));
  }
  const bool refine =
      ParseRefineType(m.index().refine()).value_or(RefineType::kNone) != RefineType::kNone;
  auto check_nlist = [&](const faiss::IndexIVF* ivf) -> absl::Status {
    if (static_cast<int64_t>(ivf->nlist) != m.index().nlist()) {
      return bad(absl::StrCat("nlist ", ivf->nlist, ", the manifest says ", m.index().nlist()));
    }
    return absl::OkStatus();
  };
  switch (type) {
    case IndexType::kFlat: {
      if (dynamic_cast<faiss::IndexFlat*>(index.get()) == nullptr) {
        return bad("not a flat index");
      }
      if (options.flat_kernel == FlatKernel::kFaiss) return index;
      ExactSearchOptions exact;
      exact.threads = flat_threads;
      absl::StatusOr<std::unique_ptr<FastFlatIndex>> fast =
          FastFlatIndex::Adopt(std::move(index), exact);
      if (!fast.ok()) return bad(fast.status().message());
      return std::unique_ptr<faiss::Index>(std::move(*fast));
    }
    case IndexType::kIvfFlat: {
      const auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(index.get());
      if (ivf == nullptr) return bad("not an IVF-Flat index");
      GEOLOC_RETURN_IF_ERROR(check_nlist(ivf));
      GEOLOC_RETURN_IF_ERROR(UseFastQuantizer(index.get()));
      GEOLOC_RETURN_IF_ERROR(EnableReconstruct(index.get()));
      return index;
    }
    case IndexType::kIvfPq: {
      if (!refine) {
        const auto* ivf = dynamic_cast<const faiss::IndexIVFPQ*>(index.get());
        if (ivf == nullptr) return bad("not an IVF-PQ index");
        GEOLOC_RETURN_IF_ERROR(check_nlist(ivf));
        GEOLOC_RETURN_IF_ERROR(UseFastQuantizer(index.get()));
        GEOLOC_RETURN_IF_ERROR(EnableReconstruct(index.get()));
        return index;
      }
      const auto* r = dynamic_cast<const faiss::IndexRefine*>(index.get());
      const auto* ivf =
          r == nullptr ? nullptr : dynamic_cast<const faiss::IndexIVFPQ*>(r->base_index);
      if (ivf == nullptr) return bad("not an IVF-PQ index with a refine store");
      GEOLOC_RETURN_IF_ERROR(check_nlist(ivf));
      GEOLOC_RETURN_IF_ERROR(UseFastQuantizer(index.get()));
      absl::StatusOr<std::unique_ptr<RerankIndex>> rerank = RerankIndex::Adopt(std::move(index));
      if (!rerank.ok()) return bad(rerank.status().message());
      return std::unique_ptr<faiss::Index>(std::move(*rerank));
    }
    case IndexType::kHnsw: {
      if (dynamic_cast<const faiss::IndexHNSWFlat*>(index.get()) == nullptr) {
        return bad("not an HNSW-Flat index");
      }
      absl::StatusOr<std::unique_ptr<FastHnswIndex>> hnsw = FastHnswIndex::Adopt(std::move(index));
      if (!hnsw.ok()) return bad(hnsw.status().message());
      return std::unique_ptr<faiss::Index>(std::move(*hnsw));
    }
  }
  return bad("unknown index type");
}

// Tries to move the shards to GPUs; on success returns the GPU index, else nullptr (and logs).
std::unique_ptr<faiss::Index> PlaceOnGpu(std::vector<std::unique_ptr<faiss::Index>>* shards,
                                         const BundleManifest& m, IndexType type,
                                         const BundleLoadOptions& options,
                                         std::vector<std::shared_ptr<void>>* resources,
                                         std::string* device) {
  if (options.gpu == GpuPlacement::kCpu) return nullptr;
#if GEOLOC_FAISS_GPU
  if (type == IndexType::kHnsw) {
    GEOLOC_LOG(INFO) << "HNSW has no Faiss GPU implementation; serving on CPU";
    return nullptr;
  }
  std::vector<int> devices = options.gpu_devices;
  if (devices.empty()) {
    const int n = faiss::gpu::getNumDevices();
    for (int i = 0; i < n; ++i) devices.push_back(i);
  }
  if (devices.empty()) {
    GEOLOC_LOG(INFO) << "GPU placement requested but no GPU is visible; serving on CPU";
    return nullptr;
  }
  try {
    std::vector<faiss::gpu::StandardGpuResources*> res;
    for (size_t i = 0; i < devices.size(); ++i) {
      auto r = std::make_shared<faiss::gpu::StandardGpuResources>();
      res.push_back(r.get());
      resources->push_back(std::move(r));
    }
    faiss::gpu::GpuClonerOptions clone_options;
    faiss::gpu::GpuParameterSpace gpu_params;
    const int d = m.model().dim();
    // Clones every shard onto device slot `slot`; Faiss GPU IVF takes nprobe as index state.
    auto clone_shard = [&](size_t slot, const faiss::Index* shard) {
      std::unique_ptr<faiss::Index> g(
          faiss::gpu::index_cpu_to_gpu(res[slot], devices[slot], shard, &clone_options));
      if (IsIvf(type)) {
        gpu_params.set_index_parameter(g.get(), "nprobe", m.index().default_nprobe());
      }
      return g;
    };
    std::unique_ptr<faiss::Index> placed;
    if (options.gpu == GpuPlacement::kShardPerDevice) {
      auto sharded = std::make_unique<ShardedIndex>(d, /*threaded=*/shards->size() > 1);
      for (size_t s = 0; s < shards->size(); ++s) {
        sharded->add_shard(clone_shard(s % devices.size(), (*shards)[s].get()).release());
      }
      placed = std::move(sharded);
    } else {
      auto replicas = std::make_unique<faiss::IndexReplicas>(d, /*threaded=*/true);
      replicas->own_fields = true;
      for (size_t slot = 0; slot < devices.size(); ++slot) {
        auto sharded = std::make_unique<ShardedIndex>(d, /*threaded=*/shards->size() > 1);
        for (const auto& shard : *shards) {
          sharded->add_shard(clone_shard(slot, shard.get()).release());
        }
        replicas->add_replica(sharded.release());
      }
      placed = std::move(replicas);
    }
    *device = absl::StrCat("gpu:", absl::StrJoin(devices, ","));
    GEOLOC_LOG(INFO) << "bundle placed on " << *device << " ("
                     << (options.gpu == GpuPlacement::kShardPerDevice ? "shard per device"
                                                                      : "replicated")
                     << "); per-search nprobe is fixed at " << m.index().default_nprobe();
    shards->clear();
    return placed;
  } catch (const std::exception& e) {
    resources->clear();
    GEOLOC_LOG(WARNING) << "GPU placement failed (" << e.what() << "); serving on CPU";
    return nullptr;
  }
#else
  (void)shards;
  (void)m;
  (void)type;
  (void)resources;
  (void)device;
  GEOLOC_LOG(INFO) << "GPU placement requested but this build's Faiss has no GPU support "
                      "(GEOLOC_FAISS_GPU is off); serving on CPU";
  return nullptr;
#endif
}

}  // namespace

LoadedIndex::LoadedIndex() = default;
LoadedIndex::LoadedIndex(LoadedIndex&&) noexcept = default;
LoadedIndex& LoadedIndex::operator=(LoadedIndex&&) noexcept = default;
LoadedIndex::~LoadedIndex() {
  index.reset();  // before the GPU resources it may use
  gpu_resources.clear();
}

absl::StatusOr<LoadedIndex> LoadShards(const std::string& path, const BundleManifest& manifest,
                                       const BundleLoadOptions& options) {
  const IndexType type = ParseIndexType(manifest.index().type()).value();
  const model::Metric metric = model::ParseMetric(manifest.model().metric()).value();
  const int load_threads =
      options.load_threads > 0
          ? options.load_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(load_threads);

  // Shards, in parallel. Flat search threads are split over the shards searched in parallel.
  const int nshards = manifest.shards_size();
  const int total_threads = options.search_threads > 0 ? options.search_threads : 0;
  int flat_threads = total_threads;
  if (nshards > 1 && options.threaded_shards) {
    const int base = total_threads > 0
                         ? total_threads
                         : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    flat_threads = std::max(1, base / nshards);
  }
  if (type == IndexType::kFlat && options.flat_kernel == FlatKernel::kFaiss) {
    LowerFaissBlasThreshold();
  }
  std::vector<absl::StatusOr<std::unique_ptr<faiss::Index>>> loaded;
  loaded.reserve(nshards);
  for (int s = 0; s < nshards; ++s) loaded.emplace_back(absl::UnknownError("not loaded"));
  ParallelFor(&pool, nshards, [&](int64_t s) {
    loaded[s] =
        LoadShard(path, manifest, static_cast<int>(s), type, metric, options, flat_threads);
  });
  std::vector<std::unique_ptr<faiss::Index>> shards;
  for (auto& shard : loaded) {
    if (!shard.ok()) return shard.status();
    shards.push_back(std::move(*shard));
  }

  LoadedIndex out;
  std::unique_ptr<faiss::Index> gpu_index =
      PlaceOnGpu(&shards, manifest, type, options, &out.gpu_resources, &out.device);
  if (gpu_index != nullptr) {
    out.index = std::move(gpu_index);
    out.on_gpu = true;
  } else if (nshards == 1) {
    out.index = std::move(shards[0]);
  } else {
    try {
      auto sharded =
          std::make_unique<ShardedIndex>(manifest.model().dim(), options.threaded_shards);
      for (auto& shard : shards) sharded->add_shard(shard.release());
      out.index = std::move(sharded);
    } catch (const std::exception& e) {
      return absl::DataLossError(
          absl::StrCat("bundle ", path, ": shards do not combine: ", e.what()));
    }
  }
  return out;
}

const faiss::Index* ShardOf(const LoadedIndex& loaded, const BundleManifest& manifest, int64_t row,
                            int64_t* local) {
  // Rows are shard-major and successive: find the shard, then the row within it.
  *local = row;
  int shard = 0;
  while (*local >= manifest.shards(shard).count()) *local -= manifest.shards(shard++).count();
  if (manifest.shards_size() == 1) return loaded.index.get();
  return static_cast<const ShardedIndex*>(loaded.index.get())->at(shard);
}

}  // namespace geoloc::index
