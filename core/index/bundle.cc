#include "core/index/bundle.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/common/json_proto.h"
#include "core/common/logging.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/index/fast_flat_index.h"
#include "core/index/hnsw_index.h"
#include "core/index/mapped_file.h"
#include "core/index/rerank_index.h"
#include "core/index/sharded_index.h"
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

absl::Status ManifestError(const std::string& path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("bundle ", path, ": manifest: ", what));
}

// A file name inside the bundle: relative, no "..", "." or empty components.
bool IsSafeRelativePath(absl::string_view file) {
  if (file.empty() || file[0] == '/' || absl::StrContains(file, '\\')) return false;
  for (absl::string_view part : absl::StrSplit(file, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

bool IsSafeName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Everything about the manifest that can be checked without reading other files.
absl::Status ValidateManifest(const std::string& path, const BundleManifest& m) {
  if (m.format_version() < 1) return ManifestError(path, "format_version missing");
  if (m.format_version() > kBundleFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle ", path, ": format version ", m.format_version(),
        " is newer than this build supports (", kBundleFormatVersion, "); upgrade geoloc"));
  }
  if (!IsSafeName(m.name())) return ManifestError(path, absl::StrCat("bad name '", m.name(), "'"));
  const ModelRef& model = m.model();
  if (model.dim() < 1 || model.dim() > model::kMaxDescriptorDim) {
    return ManifestError(path, absl::StrCat("model dim ", model.dim(), " out of range"));
  }
  if (!model::ParseMetric(model.metric()).ok()) {
    return ManifestError(path, absl::StrCat("unknown metric '", model.metric(), "'"));
  }
  if (model.fingerprint().empty()) return ManifestError(path, "model fingerprint missing");
  absl::StatusOr<IndexType> type = ParseIndexType(m.index().type());
  if (!type.ok()) return ManifestError(path, type.status().message());
  absl::StatusOr<RefineType> refine = ParseRefineType(m.index().refine());
  if (!refine.ok()) return ManifestError(path, refine.status().message());
  if (IsIvf(*type)) {
    if (m.index().nlist() < 1) return ManifestError(path, "IVF bundle without nlist");
    if (m.index().default_nprobe() < 1 || m.index().default_nprobe() > m.index().nlist()) {
      return ManifestError(
          path, absl::StrCat("default_nprobe ", m.index().default_nprobe(), " outside [1, nlist]"));
    }
  }
  if (*type == IndexType::kHnsw && m.index().default_ef_search() < 1) {
    return ManifestError(path, "HNSW bundle without default_ef_search");
  }
  if (m.shards_size() < 1) return ManifestError(path, "no shards");
  int64_t rows = 0;
  absl::flat_hash_set<std::string> files;
  auto check_file = [&](const std::string& file, const std::string& sha, int64_t size,
                        absl::string_view what) -> absl::Status {
    if (!IsSafeRelativePath(file)) {
      return ManifestError(path, absl::StrCat(what, ": unsafe file name '", file, "'"));
    }
    if (!files.insert(file).second) {
      return ManifestError(path, absl::StrCat(what, ": file '", file, "' listed twice"));
    }
    if (!IsSha256Hex(sha)) return ManifestError(path, absl::StrCat(what, ": bad sha256"));
    if (size < 0) return ManifestError(path, absl::StrCat(what, ": negative size"));
    return absl::OkStatus();
  };
  for (int s = 0; s < m.shards_size(); ++s) {
    const ShardEntry& shard = m.shards(s);
    const std::string what = absl::StrCat("shard ", s);
    GEOLOC_RETURN_IF_ERROR(check_file(shard.file(), shard.sha256(), shard.size_bytes(), what));
    if (shard.count() < 1) return ManifestError(path, absl::StrCat(what, ": count < 1"));
    if (shard.first_row() != rows) {
      return ManifestError(path, absl::StrCat(what, ": first_row ", shard.first_row(),
                                              ", expected ", rows, " (rows are successive)"));
    }
    rows += shard.count();
  }
  if (rows != m.total_count()) {
    return ManifestError(path, absl::StrCat("total_count ", m.total_count(),
                                            " differs from the shards' sum ", rows));
  }
  GEOLOC_RETURN_IF_ERROR(check_file(m.metadata().file(), m.metadata().sha256(),
                                    m.metadata().size_bytes(), "metadata"));
  absl::flat_hash_set<std::string> extra_names;
  for (const ExtraEntry& extra : m.extras()) {
    const std::string what = absl::StrCat("extra '", extra.name(), "'");
    if (!IsSafeName(extra.name()) || !extra_names.insert(extra.name()).second) {
      return ManifestError(path, absl::StrCat(what, ": bad or duplicate name"));
    }
    GEOLOC_RETURN_IF_ERROR(check_file(extra.file(), extra.sha256(), extra.size_bytes(), what));
  }
  const std::string digest = ComputeContentDigest(m);
  if (m.content_digest() != digest || m.version() != VersionString(m.name(), digest)) {
    return ManifestError(path, absl::StrCat("content_digest/version do not match the manifest's "
                                            "contents (expected ",
                                            VersionString(m.name(), digest),
                                            "): the manifest was edited or is corrupt"));
  }
  return absl::OkStatus();
}

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

// Reads one shard and checks it against the manifest; returns the index to serve.
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

std::string ComputeContentDigest(const BundleManifest& m) {
  const IndexParams& p = m.index();
  std::string text = absl::StrCat(
      "geoloc-bundle ", m.format_version(), "\n", "model ", m.model().name(), " ",
      m.model().fingerprint(), " ", m.model().dim(), " ", m.model().metric(), "\n", "index ",
      p.type(), " nlist=", p.nlist(), " pq_m=", p.pq_m(), " pq_nbits=", p.pq_nbits(),
      " refine=", p.refine(), " k_factor=", p.refine_k_factor(), " hnsw_m=", p.hnsw_m(),
      " efc=", p.hnsw_ef_construction(), " nprobe=", p.default_nprobe(),
      " ef=", p.default_ef_search(), "\n");
  for (const ShardEntry& s : m.shards()) {
    absl::StrAppend(&text, "shard ", s.file(), " ", s.count(), " ", s.sha256(), "\n");
  }
  absl::StrAppend(&text, "metadata ", m.metadata().file(), " ", m.metadata().sha256(), "\n");
  for (const ExtraEntry& e : m.extras()) {
    absl::StrAppend(&text, "extra ", e.name(), " ", e.file(), " ", e.sha256(), "\n");
  }
  return Sha256Hex(text);
}

std::string VersionString(const std::string& name, const std::string& digest) {
  return absl::StrCat(name, "-", digest.substr(0, 12));
}

namespace {

// Checks files in parallel; shard files are hashed only when hash_shards.
std::vector<FileCheckResult> CheckFiles(const std::string& bundle_path,
                                        const BundleManifest& manifest, bool hash, bool hash_shards,
                                        int threads) {
  std::vector<FileCheck> files;
  std::vector<bool> hashed;
  for (const ShardEntry& s : manifest.shards()) {
    files.push_back({s.file(), s.sha256(), s.size_bytes()});
    hashed.push_back(hash && hash_shards);
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

}  // namespace

std::vector<FileCheckResult> CheckBundleFiles(const std::string& bundle_path,
                                              const BundleManifest& manifest, bool hash,
                                              int threads) {
  return CheckFiles(bundle_path, manifest, hash, /*hash_shards=*/true, threads);
}

absl::Status CheckModelMatches(const BundleManifest& manifest, const model::ModelInfo& model) {
  const ModelRef& b = manifest.model();
  std::vector<std::string> diffs;
  if (b.dim() != model.dim) {
    diffs.push_back(absl::StrCat("dimension: bundle ", b.dim(), ", served model ", model.dim));
  }
  if (b.metric() != model::MetricName(model.metric)) {
    diffs.push_back(absl::StrCat("metric: bundle ", b.metric(), ", served model ",
                                 model::MetricName(model.metric)));
  }
  if (b.fingerprint() != model.fingerprint) {
    diffs.push_back(absl::StrCat("fingerprint: bundle ", b.fingerprint(), " (model '", b.name(),
                                 "'), served model ", model.fingerprint, " ('", model.name, "')"));
  }
  if (diffs.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("bundle ", manifest.version(),
                   " was built with a different model: ", absl::StrJoin(diffs, "; ")));
}

absl::StatusOr<BundleManifest> ReadManifest(const std::string& bundle_path) {
  std::error_code ec;
  if (!fs::is_directory(bundle_path, ec)) {
    return absl::NotFoundError(absl::StrCat("bundle ", bundle_path, " does not exist"));
  }
  // A build's staging directory (".<name>.staging-XXXX") may already hold every file, but it is
  // a bundle only once the build renames it: never serve one a killed build left behind.
  fs::path normal = fs::path(bundle_path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  const std::string base = normal.filename().string();
  if (absl::StartsWith(base, ".") && absl::StrContains(base, ".staging-")) {
    return absl::FailedPreconditionError(
        absl::StrCat(bundle_path,
                     " is the staging directory of an unfinished (or killed) build, not a "
                     "bundle; rerun the build or delete it"));
  }
  const std::string manifest_path = (fs::path(bundle_path) / kManifestFileName).string();
  if (!fs::exists(manifest_path, ec)) {
    return absl::NotFoundError(absl::StrCat("bundle ", bundle_path, " has no ", kManifestFileName,
                                            " (not a bundle, or an unfinished build)"));
  }
  BundleManifest m;
  GEOLOC_RETURN_IF_ERROR(ReadJsonProtoFile(manifest_path, &m));
  GEOLOC_RETURN_IF_ERROR(ValidateManifest(bundle_path, m));
  return m;
}

Bundle::~Bundle() {
  index_.reset();  // before the GPU resources it may use
  gpu_resources_.clear();
}

absl::StatusOr<std::shared_ptr<const Bundle>> Bundle::Load(const std::string& path,
                                                           const BundleLoadOptions& options) {
  GEOLOC_ASSIGN_OR_RETURN(BundleManifest manifest, ReadManifest(path));
  if (options.expected_model != nullptr) {
    GEOLOC_RETURN_IF_ERROR(CheckModelMatches(manifest, *options.expected_model));
  }
  std::shared_ptr<Bundle> bundle(new Bundle());
  bundle->path_ = path;
  bundle->metric_ = model::ParseMetric(manifest.model().metric()).value();
  bundle->index_type_ = ParseIndexType(manifest.index().type()).value();

  // Sizes always, hashes when asked: every file, in parallel.
  const int load_threads =
      options.load_threads > 0
          ? options.load_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Shards are hashed while they are loaded (below), so that each is read from disk only once.
  for (const FileCheckResult& check : CheckFiles(path, manifest, options.verify_checksums,
                                                 /*hash_shards=*/false, load_threads)) {
    GEOLOC_RETURN_IF_ERROR(check.status);
  }
  ThreadPool pool(load_threads);

  // Metadata: row count and coordinate bounds must agree with the manifest.
  GEOLOC_ASSIGN_OR_RETURN(
      bundle->metadata_,
      MetadataTable::Open((fs::path(path) / manifest.metadata().file()).string()));
  const MetadataTable& meta = bundle->metadata_;
  if (meta.size() != manifest.total_count()) {
    return absl::DataLossError(absl::StrCat("bundle ", path, ": metadata has ", meta.size(),
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
    return absl::DataLossError(absl::StrCat("bundle ", path,
                                            ": metadata coordinate bounds differ from the "
                                            "manifest's"));
  }

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
  if (bundle->index_type_ == IndexType::kFlat && options.flat_kernel == FlatKernel::kFaiss) {
    LowerFaissBlasThreshold();
  }
  std::vector<absl::StatusOr<std::unique_ptr<faiss::Index>>> loaded;
  loaded.reserve(nshards);
  for (int s = 0; s < nshards; ++s) loaded.emplace_back(absl::UnknownError("not loaded"));
  ParallelFor(&pool, nshards, [&](int64_t s) {
    loaded[s] = LoadShard(path, manifest, static_cast<int>(s), bundle->index_type_, bundle->metric_,
                          options, flat_threads);
  });
  std::vector<std::unique_ptr<faiss::Index>> shards;
  for (auto& shard : loaded) {
    if (!shard.ok()) return shard.status();
    shards.push_back(std::move(*shard));
  }

  std::unique_ptr<faiss::Index> gpu_index = PlaceOnGpu(
      &shards, manifest, bundle->index_type_, options, &bundle->gpu_resources_, &bundle->device_);
  if (gpu_index != nullptr) {
    bundle->index_ = std::move(gpu_index);
    bundle->on_gpu_ = true;
  } else if (nshards == 1) {
    bundle->index_ = std::move(shards[0]);
  } else {
    try {
      auto sharded =
          std::make_unique<ShardedIndex>(manifest.model().dim(), options.threaded_shards);
      for (auto& shard : shards) sharded->add_shard(shard.release());
      bundle->index_ = std::move(sharded);
    } catch (const std::exception& e) {
      return absl::DataLossError(
          absl::StrCat("bundle ", path, ": shards do not combine: ", e.what()));
    }
  }
  bundle->manifest_ = std::move(manifest);
  GEOLOC_LOG(INFO) << "loaded bundle " << bundle->version() << " from " << path << ": "
                   << bundle->size() << " vectors, " << nshards << " shard(s), "
                   << bundle->manifest_.index().type() << ", " << bundle->device_
                   << (options.verify_checksums ? ", checksums verified" : "");
  return std::shared_ptr<const Bundle>(std::move(bundle));
}

absl::StatusOr<std::vector<float>> Bundle::Reconstruct(absl::Span<const int64_t> rows) const {
  if (on_gpu_) {
    return absl::UnimplementedError("vectors cannot be reconstructed from a GPU-resident index");
  }
  const int d = dim();
  std::vector<float> out(rows.size() * static_cast<size_t>(d));
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t row = rows[i];
    if (row < 0 || row >= size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", row, " is outside the bundle (", size(), " vectors)"));
    }
    // Rows are shard-major and successive: find the shard, then the row within it.
    int64_t local = row;
    int shard = 0;
    while (local >= manifest_.shards(shard).count()) local -= manifest_.shards(shard++).count();
    const faiss::Index* index = index_.get();
    if (num_shards() > 1) index = static_cast<const ShardedIndex*>(index_.get())->at(shard);
    try {
      index->reconstruct(local, out.data() + i * d);
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this ", manifest_.index().type(), " bundle cannot reconstruct vectors: ", e.what()));
    }
  }
  return out;
}

bool Bundle::HasExtra(absl::string_view name) const {
  for (const ExtraEntry& e : manifest_.extras()) {
    if (e.name() == name) return true;
  }
  return false;
}

absl::StatusOr<std::string> Bundle::ExtraPath(absl::string_view name) const {
  for (const ExtraEntry& e : manifest_.extras()) {
    if (e.name() != name) continue;
    std::error_code ec;
    const fs::path root = fs::absolute(path_, ec);
    return ((ec ? fs::path(path_) : root) / e.file()).lexically_normal().string();
  }
  return absl::NotFoundError(absl::StrCat("bundle ", version(), " has no extra file '", name, "'"));
}

absl::Status Bundle::SearchRows(absl::Span<const float> queries, const SearchParams& params,
                                absl::Span<float> scores, absl::Span<int64_t> rows) const {
  const int d = dim();
  if (queries.empty() || queries.size() % d != 0) {
    return absl::InvalidArgumentError(absl::StrCat("queries: ", queries.size(),
                                                   " floats is not a positive multiple of the "
                                                   "dimension ",
                                                   d));
  }
  const int64_t n = static_cast<int64_t>(queries.size() / d);
  if (params.k < 1 || params.k > kMaxSearchK) {
    return absl::InvalidArgumentError(
        absl::StrCat("k = ", params.k, " is outside [1, ", kMaxSearchK, "]"));
  }
  if (params.nprobe < 0 || params.ef_search < 0) {
    return absl::InvalidArgumentError("nprobe and ef_search must be >= 0");
  }
  const size_t out_size = static_cast<size_t>(n) * params.k;
  if (scores.size() != out_size || rows.size() != out_size) {
    return absl::InvalidArgumentError(absl::StrCat("output spans hold ", scores.size(), "/",
                                                   rows.size(), " values, need ", out_size));
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!std::isfinite(queries[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("query ", i / d, " has a non-finite value at dimension ", i % d));
    }
  }

  faiss::SearchParametersIVF ivf;
  faiss::SearchParametersHNSW hnsw;
  const faiss::SearchParameters* faiss_params = nullptr;
  if (!on_gpu_ && IsIvf(index_type_)) {
    const int nlist = manifest_.index().nlist();
    ivf.nprobe =
        std::min(nlist, params.nprobe > 0 ? params.nprobe : manifest_.index().default_nprobe());
    faiss_params = &ivf;
  } else if (index_type_ == IndexType::kHnsw) {
    hnsw.efSearch = std::max(
        params.k, params.ef_search > 0 ? params.ef_search : manifest_.index().default_ef_search());
    faiss_params = &hnsw;
  }
  static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "Faiss labels are 64-bit");
  try {
    index_->search(n, queries.data(), params.k, scores.data(),
                   reinterpret_cast<faiss::Index::idx_t*>(rows.data()), faiss_params);
  } catch (const faiss::FaissException& e) {
    return absl::InternalError(absl::StrCat("Faiss search failed: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("search failed: ", e.what()));
  }
  const bool l2 = metric_ == model::Metric::kL2;
  for (size_t i = 0; i < out_size; ++i) {
    if (rows[i] < 0) {
      scores[i] = std::numeric_limits<float>::quiet_NaN();
    } else if (l2) {
      scores[i] = std::sqrt(std::max(0.0f, scores[i]));  // Faiss reports squared distances
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<Neighbor>>> Bundle::Search(
    absl::Span<const float> queries, const SearchParams& params) const {
  const int64_t n = dim() > 0 ? static_cast<int64_t>(queries.size() / dim()) : 0;
  const size_t out_size = static_cast<size_t>(n) * std::max(params.k, 0);
  std::vector<float> scores(out_size);
  std::vector<int64_t> rows(out_size);
  GEOLOC_RETURN_IF_ERROR(SearchRows(queries, params, absl::MakeSpan(scores), absl::MakeSpan(rows)));
  std::vector<std::vector<Neighbor>> out(n);
  for (int64_t q = 0; q < n; ++q) {
    out[q].reserve(params.k);
    for (int j = 0; j < params.k; ++j) {
      const size_t i = static_cast<size_t>(q) * params.k + j;
      const int64_t row = rows[i];
      if (row < 0 || row >= metadata_.size()) continue;
      Neighbor nb;
      nb.row = row;
      nb.id = metadata_.id(row);
      nb.score = scores[i];
      nb.lat = metadata_.lat(row);
      nb.lon = metadata_.lon(row);
      nb.source = std::string(metadata_.source(row));
      nb.group = std::string(metadata_.group(row));
      out[q].push_back(std::move(nb));
    }
  }
  return out;
}

}  // namespace geoloc::index
