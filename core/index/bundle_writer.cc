#include "core/index/bundle_writer.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/index/bundle.h"
#include "core/index/chunked_exact_search.h"
#include "core/index/fast_flat_index.h"
#include "core/index/flat_kernel.h"
#include "core/index/hnsw_index.h"
#include "core/index/rerank_index.h"
#include "core/index/sharded_index.h"
#include "core/index/sq8_store.h"
#include "faiss/IndexFlat.h"
#include "faiss/IndexHNSW.h"
#include "faiss/IndexIVFFlat.h"
#include "faiss/IndexIVFPQ.h"
#include "faiss/IndexScalarQuantizer.h"
#include "faiss/clone_index.h"
#include "faiss/impl/FaissException.h"
#include "faiss/index_io.h"

#ifndef GEOLOC_VERSION
#define GEOLOC_VERSION "unknown"
#endif

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kAddChunk = 16384;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("build: ", what));
}

bool IsSafeBundleName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

faiss::MetricType FaissMetric(model::Metric metric) {
  return metric == model::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

// Runs a Faiss call, turning its exceptions into a status.
template <typename Fn>
absl::Status FaissCall(absl::string_view what, Fn&& fn) {
  try {
    fn();
  } catch (const faiss::FaissException& e) {
    return absl::InternalError(absl::StrCat(what, ": Faiss: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
  return absl::OkStatus();
}

// An untrained-then-trained "template" that every shard clones (IVF) or nullptr (flat, HNSW).
struct Trained {
  std::unique_ptr<faiss::Index> base;    // IVF-Flat or IVF-PQ, trained, empty
  std::unique_ptr<faiss::Index> refine;  // trained, empty refine store (IVF-PQ with refine)
};

// INVALID_ARGUMENT naming the first non-finite value of rows [first, first + count) in `x`.
absl::Status CheckFinite(const float* x, int64_t first, int64_t count, int d,
                         const std::vector<MetadataRow>& rows) {
  for (int64_t r = 0; r < count; ++r) {
    for (int j = 0; j < d; ++j) {
      if (!std::isfinite(x[r * d + j])) {
        return Invalid(absl::StrCat("descriptor of row ", first + r, " (", rows[first + r].source,
                                    ") is not finite"));
      }
    }
  }
  return absl::OkStatus();
}

// Reads rows [first, first + count) through `read` into `out` and checks them.
absl::Status ReadRows(const DescriptorReader& read, int64_t first, int64_t count, int d,
                      const std::vector<MetadataRow>& rows, float* out) {
  GEOLOC_RETURN_IF_ERROR(read(first, count, out));
  return CheckFinite(out, first, count, d, rows);
}

absl::StatusOr<Trained> Train(const DescriptorReader& read, int64_t n, int d, model::Metric metric,
                              const IndexSpec& spec, const std::vector<MetadataRow>& meta,
                              uint64_t seed) {
  Trained t;
  if (!IsIvf(spec.type)) return t;
  // A deterministic sample of train_size rows, in increasing row order for locality.
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < spec.train_size; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(rows[i], rows[pick(rng)]);
  }
  rows.resize(spec.train_size);
  std::sort(rows.begin(), rows.end());
  std::vector<float> sample(static_cast<size_t>(spec.train_size) * d);
  for (int64_t i = 0; i < spec.train_size;) {  // one read per run of consecutive rows
    int64_t run = 1;
    while (i + run < spec.train_size && rows[i + run] == rows[i] + run) ++run;
    GEOLOC_RETURN_IF_ERROR(
        ReadRows(read, rows[i], run, d, meta, sample.data() + static_cast<size_t>(i) * d));
    i += run;
  }
  rows = std::vector<int64_t>();
  const faiss::MetricType fm = FaissMetric(metric);
  GEOLOC_LOG(INFO) << "training " << IndexTypeName(spec.type) << " (nlist " << spec.nlist
                   << (spec.type == IndexType::kIvfPq
                           ? absl::StrCat(", pq ", spec.pq_m, "x", spec.pq_nbits)
                           : std::string())
                   << ") on " << spec.train_size << " vectors";
  GEOLOC_RETURN_IF_ERROR(FaissCall("training", [&] {
    // The fast kernel assigns points to centroids during k-means, when adding and when searching
    // (a FastFlatIndex is still an IndexFlat in the written file).
    auto* quantizer = new FastFlatIndex(d, fm);
    std::unique_ptr<faiss::IndexIVF> ivf;
    // PQ codebooks are k-means on d / pq_m dimensions; Faiss's default assignment for them is
    // its baseline-x86 code, several times slower than the kernel.
    std::unique_ptr<FastFlatIndex> pq_assign;
    if (spec.type == IndexType::kIvfFlat) {
      ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, d, spec.nlist, fm);
    } else {
      auto ivfpq = std::make_unique<faiss::IndexIVFPQ>(quantizer, d, spec.nlist, spec.pq_m,
                                                       spec.pq_nbits, fm);
      pq_assign = std::make_unique<FastFlatIndex>(d / spec.pq_m, faiss::METRIC_L2);
      ivfpq->pq.assign_index = pq_assign.get();
      ivf = std::move(ivfpq);
    }
    ivf->own_fields = true;
    ivf->train(spec.train_size, sample.data());
    if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(ivf.get())) {
      ivfpq->pq.assign_index = nullptr;  // only for training; `pq_assign` dies here
    }
    t.base = std::move(ivf);
    if (spec.refine == RefineType::kFlat) {
      t.refine = std::make_unique<faiss::IndexFlat>(d, fm);
    } else if (spec.refine == RefineType::kSq8) {
      auto sq =
          std::make_unique<faiss::IndexScalarQuantizer>(d, faiss::ScalarQuantizer::QT_8bit, fm);
      sq->train(spec.train_size, sample.data());
      t.refine = std::move(sq);
    }
  }));
  return t;
}

// An empty index for one shard.
absl::StatusOr<std::unique_ptr<faiss::Index>> NewShard(int d, model::Metric metric,
                                                       const IndexSpec& spec,
                                                       const Trained& trained) {
  std::unique_ptr<faiss::Index> index;
  GEOLOC_RETURN_IF_ERROR(FaissCall("creating a shard", [&] {
    const faiss::MetricType fm = FaissMetric(metric);
    switch (spec.type) {
      case IndexType::kFlat:
        index = std::make_unique<FastFlatIndex>(d, fm);
        break;
      case IndexType::kIvfFlat:
        index.reset(faiss::clone_index(trained.base.get()));
        break;
      case IndexType::kIvfPq:
        index.reset(faiss::clone_index(trained.base.get()));
        if (trained.refine != nullptr) {
          faiss::Index* refine = faiss::clone_index(trained.refine.get());
          index = std::make_unique<RerankIndex>(index.release(), refine,
                                                static_cast<float>(spec.refine_k_factor));
        }
        break;
      case IndexType::kHnsw: {
        auto hnsw = std::make_unique<FastHnswIndex>(d, spec.hnsw_m, fm);
        hnsw->hnsw.efConstruction = spec.hnsw_ef_construction;
        index = std::move(hnsw);
        break;
      }
    }
  }));
  // faiss::clone_index copies a FastFlatIndex quantizer as a plain IndexFlat: restore it.
  GEOLOC_RETURN_IF_ERROR(UseFastQuantizer(index.get()));
  return index;
}

double Recall(const std::vector<int64_t>& exact, const std::vector<int64_t>& approx, int64_t nq,
              int k) {
  int64_t hits = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const int64_t* e = exact.data() + q * k;
    const int64_t* a = approx.data() + q * k;
    for (int i = 0; i < k; ++i) {
      if (e[i] < 0) continue;
      if (std::find(a, a + k, e[i]) != a + k) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(nq * k);
}

int TuningK(int64_t n, const BundleWriteOptions& options) {
  return static_cast<int>(std::min<int64_t>(std::max(1, options.tune_k), n));
}
int64_t TuningQueryCount(int64_t n, const BundleWriteOptions& options) {
  return std::min<int64_t>(std::max(1, options.tune_queries), n);
}

// The tuning queries: TuningQueryCount evenly spaced database rows.
absl::StatusOr<std::vector<float>> TuningQueries(const DescriptorReader& read, int64_t n, int d,
                                                 const std::vector<MetadataRow>& meta,
                                                 const BundleWriteOptions& options) {
  const int64_t nq = TuningQueryCount(n, options);
  std::vector<float> queries(static_cast<size_t>(nq) * d);
  for (int64_t q = 0; q < nq; ++q) {
    GEOLOC_RETURN_IF_ERROR(ReadRows(read, q * n / nq, 1, d, meta, queries.data() + q * d));
  }
  return queries;
}

// Chooses default nprobe / efSearch (see the header) and records them in `params`.
// `truth`: the exact k best of the tuning queries (none for flat, which needs no tuning).
absl::Status TuneDefaults(const ChunkedExactSearch& truth, int64_t n, const IndexSpec& spec,
                          const faiss::Index& index, const BundleWriteOptions& options,
                          IndexParams* params) {
  Tuning* tuning = params->mutable_tuning();
  tuning->set_target_recall(options.target_recall);
  const int k = TuningK(n, options);
  const int64_t nq = TuningQueryCount(n, options);
  tuning->set_k(k);
  tuning->set_queries(static_cast<int>(nq));
  if (spec.type == IndexType::kFlat) {
    tuning->set_achieved_recall(1.0);
    return absl::OkStatus();
  }
  const std::vector<float>& queries = truth.queries();
  const std::vector<int64_t>& exact = truth.rows();
  std::vector<float> scores(static_cast<size_t>(nq) * k);
  std::vector<int64_t> approx(exact.size());

  std::vector<int> candidates;
  if (IsIvf(spec.type)) {
    for (int p = 1; p < spec.nlist; p *= 2) candidates.push_back(p);
    candidates.push_back(spec.nlist);
  } else {
    for (int ef = 16; ef <= 4096; ef *= 2) {
      if (ef >= k) candidates.push_back(ef);
    }
  }
  std::vector<double> recalls;
  for (int value : candidates) {
    faiss::SearchParametersIVF ivf;
    faiss::SearchParametersHNSW hnsw;
    const faiss::SearchParameters* p;
    if (IsIvf(spec.type)) {
      ivf.nprobe = value;
      p = &ivf;
    } else {
      hnsw.efSearch = value;
      p = &hnsw;
    }
    GEOLOC_RETURN_IF_ERROR(FaissCall("tuning", [&] {
      index.search(nq, queries.data(), k, scores.data(),
                   reinterpret_cast<faiss::Index::idx_t*>(approx.data()), p);
    }));
    recalls.push_back(Recall(exact, approx, nq, k));
    GEOLOC_LOG(DEBUG) << (IsIvf(spec.type) ? "nprobe " : "efSearch ") << value << ": recall@" << k
                      << " " << recalls.back();
    if (recalls.back() >= options.target_recall) break;
    // A plateau (PQ's quantisation error caps recall): two doublings gained almost nothing, and
    // wider searches only cost time, so stop before scanning every list.
    const size_t m = recalls.size();
    if (m >= 3 && recalls[m - 1] - recalls[m - 3] < 0.002) break;
  }
  size_t chosen = recalls.size() - 1;
  if (recalls.back() < options.target_recall) {
    const double best = *std::max_element(recalls.begin(), recalls.end());
    for (chosen = 0; recalls[chosen] < best - 0.01; ++chosen) {
    }
    GEOLOC_LOG(WARNING) << "recall@" << k << " target " << options.target_recall
                        << " not reached (best " << best << "); using the smallest setting "
                        << "within 0.01 of the best";
  }
  tuning->set_achieved_recall(recalls[chosen]);
  if (IsIvf(spec.type)) {
    params->set_default_nprobe(candidates[chosen]);
  } else {
    params->set_default_ef_search(candidates[chosen]);
  }
  GEOLOC_LOG(INFO) << "default " << (IsIvf(spec.type) ? "nprobe " : "efSearch ")
                   << candidates[chosen] << " (recall@" << k << " " << recalls[chosen] << " on "
                   << nq << " database queries)";
  return absl::OkStatus();
}

absl::Status RunHook(const BundleWriteOptions& options, absl::string_view stage) {
  if (!options.stage_hook) return absl::OkStatus();
  absl::Status st = options.stage_hook(stage);
  if (!st.ok()) return Annotate(st, absl::StrCat("build stopped at stage '", stage, "'"));
  return absl::OkStatus();
}

absl::StatusOr<FileEntry> DescribeFile(const std::string& dir, const std::string& file) {
  const std::string full = (fs::path(dir) / file).string();
  FileEntry e;
  e.set_file(file);
  GEOLOC_ASSIGN_OR_RETURN(std::string sha, Sha256File(full));
  e.set_sha256(sha);
  std::error_code ec;
  const auto size = fs::file_size(full, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot stat ", full, ": ", ec.message()));
  e.set_size_bytes(static_cast<int64_t>(size));
  return e;
}

// "/data/b1/" -> "b1".
std::string BaseName(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

bool IsReservedFileName(absl::string_view name) {
  return name == kManifestFileName || name == kMetadataFileName || name == kShardDirName;
}

}  // namespace

absl::StatusOr<BundleManifest> WriteBundle(const float* descriptors, int64_t n,
                                           const model::ModelInfo& model,
                                           const std::vector<MetadataRow>& rows,
                                           const BundleWriteOptions& options) {
  const int d = model.dim;
  // Checked here too so that bad input fails before a staging directory exists.
  if (static_cast<int64_t>(rows.size()) == n && d >= 1) {
    GEOLOC_RETURN_IF_ERROR(CheckFinite(descriptors, 0, n, d, rows));
  }
  const DescriptorReader read = [descriptors, d](int64_t first, int64_t count, float* out) {
    std::copy_n(descriptors + first * d, count * d, out);
    return absl::OkStatus();
  };
  return WriteBundle(read, n, model, rows, options);
}

absl::StatusOr<BundleManifest> WriteBundle(const DescriptorReader& read, int64_t n,
                                           const model::ModelInfo& model,
                                           const std::vector<MetadataRow>& rows,
                                           const BundleWriteOptions& options) {
  const absl::Time start = absl::Now();
  const int d = model.dim;
  if (options.output.empty()) return Invalid("no output directory");
  if (n < 1) return Invalid("no vectors to index");
  if (d < 1) return Invalid("model dimension must be >= 1");
  if (static_cast<int64_t>(rows.size()) != n) {
    return Invalid(absl::StrCat(n, " descriptors but ", rows.size(), " metadata rows"));
  }
  if (options.shards < 1 || options.shards > n || options.shards > 99999) {
    return Invalid(
        absl::StrCat("shards = ", options.shards, " must be in [1, min(n, 99999)] (n = ", n, ")"));
  }
  const std::string name = options.name.empty() ? BaseName(options.output) : options.name;
  if (!IsSafeBundleName(name)) {
    return Invalid(absl::StrCat("bundle name '", name,
                                "' must be 1-128 of [A-Za-z0-9._-], not starting with '.'"));
  }
  absl::flat_hash_set<std::string> extra_names, extra_files;
  for (const ExtraFile& extra : options.extras) {
    const std::string base = fs::path(extra.path).filename().string();
    if (!IsSafeBundleName(extra.name) || !extra_names.insert(extra.name).second) {
      return Invalid(absl::StrCat("bad or duplicate extra name '", extra.name, "'"));
    }
    if (!IsSafeBundleName(base) || IsReservedFileName(base) || !extra_files.insert(base).second) {
      return Invalid(absl::StrCat("extra file name '", base, "' is reserved, unsafe or repeated"));
    }
    std::error_code ec;
    if (!fs::is_regular_file(extra.path, ec)) {
      return absl::NotFoundError(absl::StrCat("extra file ", extra.path, " does not exist"));
    }
  }
  GEOLOC_ASSIGN_OR_RETURN(IndexSpec spec, ResolveIndexSpec(options.index, n, d));

  GEOLOC_ASSIGN_OR_RETURN(StagingDirectory staging,
                          StagingDirectory::Create(options.output, options.replace_existing));
  const std::string& dir = staging.path();
  std::error_code ec;
  fs::create_directory(fs::path(dir) / kShardDirName, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", dir, "/shards: ", ec.message()));
  GEOLOC_RETURN_IF_ERROR(RunHook(options, "start"));

  GEOLOC_ASSIGN_OR_RETURN(Trained trained,
                          Train(read, n, d, model.metric, spec, rows, options.seed));
  GEOLOC_RETURN_IF_ERROR(RunHook(options, "trained"));

  BundleManifest manifest;
  manifest.set_format_version(kBundleFormatVersion);
  manifest.set_name(name);
  manifest.set_created_at(absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  ModelRef* model_ref = manifest.mutable_model();
  model_ref->set_name(model.name);
  model_ref->set_fingerprint(model.fingerprint);
  model_ref->set_dim(d);
  model_ref->set_metric(std::string(model::MetricName(model.metric)));
  model_ref->set_backbone(model.backbone);
  model_ref->set_head(model.head);
  IndexParams* params = manifest.mutable_index();
  params->set_type(std::string(IndexTypeName(spec.type)));
  params->set_nlist(spec.nlist);
  params->set_pq_m(spec.pq_m);
  params->set_pq_nbits(spec.pq_nbits);
  params->set_refine(spec.type == IndexType::kIvfPq ? std::string(RefineTypeName(spec.refine))
                                                    : std::string());
  params->set_refine_k_factor(spec.refine != RefineType::kNone ? spec.refine_k_factor : 0);
  if (spec.flat_store != FlatStore::kFp32) {
    params->set_flat_store(std::string(FlatStoreName(spec.flat_store)));
  }
  params->set_hnsw_m(spec.hnsw_m);
  params->set_hnsw_ef_construction(spec.hnsw_ef_construction);
  params->set_train_size(spec.train_size);

  // Shards: built chunk by chunk (each chunk also scored exactly against the tuning queries),
  // written, and kept for tuning.
  const bool tune = spec.type != IndexType::kFlat;
  std::vector<float> tuning_queries;
  if (tune) {
    GEOLOC_ASSIGN_OR_RETURN(tuning_queries, TuningQueries(read, n, d, rows, options));
  }
  ChunkedExactSearch truth(tuning_queries.data(), static_cast<int64_t>(tuning_queries.size()) / d,
                           d, model.metric, TuningK(n, options));
  std::vector<float> chunk(static_cast<size_t>(std::min(kAddChunk, n)) * d);
  int64_t not_normalised = 0;
  std::vector<std::unique_ptr<faiss::Index>> shards;
  std::optional<ProgressReporter> progress;
  if (options.show_progress) progress.emplace("index", n, "vec");
  for (int s = 0; s < options.shards; ++s) {
    const int64_t begin = n * s / options.shards;
    const int64_t end = n * (s + 1) / options.shards;
    GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<faiss::Index> shard,
                            NewShard(d, model.metric, spec, trained));
    for (int64_t i = begin; i < end; i += kAddChunk) {
      const int64_t m = std::min(kAddChunk, end - i);
      GEOLOC_RETURN_IF_ERROR(ReadRows(read, i, m, d, rows, chunk.data()));
      for (int64_t r = 0; r < m; ++r) {
        double norm2 = 0;
        for (int j = 0; j < d; ++j)
          norm2 += static_cast<double>(chunk[r * d + j]) * chunk[r * d + j];
        if (std::abs(std::sqrt(norm2) - 1.0) > 1e-2) ++not_normalised;
      }
      GEOLOC_RETURN_IF_ERROR(
          FaissCall(absl::StrCat("adding to shard ", s), [&] { shard->add(m, chunk.data()); }));
      if (tune) truth.Add(chunk.data(), i, m);
      if (progress) progress->Add(m);
    }
    const std::string file = absl::StrFormat("%s/shard-%05d.faiss", kShardDirName, s);
    const std::string full = (fs::path(dir) / file).string();
    GEOLOC_RETURN_IF_ERROR(FaissCall(absl::StrCat("writing ", file),
                                     [&] { faiss::write_index(shard.get(), full.c_str()); }));
    ShardEntry* entry = manifest.add_shards();
    entry->set_file(file);
    entry->set_count(end - begin);
    entry->set_first_row(begin);
    if (spec.flat_store == FlatStore::kSq8) {
      // A flat shard holds its rows as they were added: the 8-bit store is encoded from them.
      const auto* flat = dynamic_cast<const faiss::IndexFlat*>(shard.get());
      if (flat == nullptr) return absl::InternalError("an sq8 flat store needs a flat shard");
      const std::string sq8 = absl::StrFormat("%s/shard-%05d.sq8", kShardDirName, s);
      GEOLOC_RETURN_IF_ERROR(
          WriteSq8Store((fs::path(dir) / sq8).string(), flat->get_xb(), end - begin, d));
      entry->mutable_sq8()->set_file(sq8);
    }
    shards.push_back(std::move(shard));
    GEOLOC_RETURN_IF_ERROR(RunHook(options, absl::StrCat("shard-", s)));
  }
  if (progress) progress->Finish();
  chunk = std::vector<float>();
  if (model.metric == model::Metric::kInnerProduct && not_normalised > 0) {
    GEOLOC_LOG(WARNING) << not_normalised << " of " << n
                        << " descriptors are not L2-normalised: inner-product scores will not "
                           "be cosine similarities";
  }
  manifest.set_total_count(n);

  GEOLOC_RETURN_IF_ERROR(WriteMetadataFile((fs::path(dir) / kMetadataFileName).string(), rows));
  GEOLOC_RETURN_IF_ERROR(RunHook(options, "metadata"));

  for (const ExtraFile& extra : options.extras) {
    const std::string base = fs::path(extra.path).filename().string();
    fs::copy_file(extra.path, fs::path(dir) / base, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot copy ", extra.path, ": ", ec.message()));
    }
    ExtraEntry* e = manifest.add_extras();
    e->set_name(extra.name);
    e->set_file(base);
  }
  GEOLOC_RETURN_IF_ERROR(RunHook(options, "extras"));

  // Tune defaults on the shards as they will be served.
  {
    ShardedIndex sharded(d, /*threaded=*/false);
    sharded.own_fields = false;  // `shards` keeps ownership
    GEOLOC_RETURN_IF_ERROR(FaissCall("combining shards", [&] {
      for (auto& shard : shards) sharded.add_shard(shard.get());
    }));
    GEOLOC_RETURN_IF_ERROR(TuneDefaults(truth, n, spec, sharded, options, params));
  }
  shards.clear();

  Bounds* bounds = manifest.mutable_bounds();
  bounds->set_min_lat(90);
  bounds->set_max_lat(-90);
  bounds->set_min_lon(180);
  bounds->set_max_lon(-180);
  for (const MetadataRow& row : rows) {
    bounds->set_min_lat(std::min(bounds->min_lat(), row.lat));
    bounds->set_max_lat(std::max(bounds->max_lat(), row.lat));
    bounds->set_min_lon(std::min(bounds->min_lon(), row.lon));
    bounds->set_max_lon(std::max(bounds->max_lon(), row.lon));
  }
  for (ShardEntry& shard : *manifest.mutable_shards()) {
    GEOLOC_ASSIGN_OR_RETURN(FileEntry f, DescribeFile(dir, shard.file()));
    shard.set_sha256(f.sha256());
    shard.set_size_bytes(f.size_bytes());
    if (shard.has_sq8()) {
      GEOLOC_ASSIGN_OR_RETURN(*shard.mutable_sq8(), DescribeFile(dir, shard.sq8().file()));
    }
  }
  GEOLOC_ASSIGN_OR_RETURN(*manifest.mutable_metadata(), DescribeFile(dir, kMetadataFileName));
  for (ExtraEntry& extra : *manifest.mutable_extras()) {
    GEOLOC_ASSIGN_OR_RETURN(FileEntry f, DescribeFile(dir, extra.file()));
    extra.set_sha256(f.sha256());
    extra.set_size_bytes(f.size_bytes());
  }
  BuildInfo* build = manifest.mutable_build();
  build->set_tool(absl::StrCat("geoloc-index ", GEOLOC_VERSION));
  build->set_source(options.source);
  build->set_inputs_seen(options.inputs_seen > 0 ? options.inputs_seen : n);
  build->set_inputs_skipped(options.inputs_skipped);
  build->set_seconds(options.seconds_before + absl::ToDoubleSeconds(absl::Now() - start));
  manifest.set_content_digest(ComputeContentDigest(manifest));
  manifest.set_version(VersionString(name, manifest.content_digest()));
  GEOLOC_RETURN_IF_ERROR(
      WriteJsonProtoAtomically((fs::path(dir) / kManifestFileName).string(), manifest));
  GEOLOC_RETURN_IF_ERROR(RunHook(options, "manifest"));

  GEOLOC_RETURN_IF_ERROR(staging.Commit());
  GEOLOC_LOG(INFO) << "wrote bundle " << manifest.version() << " to " << options.output << " (" << n
                   << " vectors, " << options.shards << " shard(s), " << params->type() << ")";
  return manifest;
}

absl::StatusOr<BundleManifest> AddBundleExtra(const std::string& bundle, const ExtraFile& extra) {
  GEOLOC_ASSIGN_OR_RETURN(BundleManifest manifest, ReadManifest(bundle));
  const std::string base = fs::path(extra.path).filename().string();
  if (!IsSafeBundleName(extra.name)) {
    return Invalid(absl::StrCat("bad extra name '", extra.name, "'"));
  }
  if (!IsSafeBundleName(base) || IsReservedFileName(base)) {
    return Invalid(absl::StrCat("extra file name '", base, "' is reserved or unsafe"));
  }
  ExtraEntry* entry = nullptr;
  for (ExtraEntry& e : *manifest.mutable_extras()) {
    if (e.name() == extra.name) {
      entry = &e;
    } else if (e.file() == base) {
      return Invalid(absl::StrCat("file name '", base, "' is used by extra '", e.name(), "'"));
    }
  }
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(extra.path));
  GEOLOC_RETURN_IF_ERROR(WriteFileAtomically((fs::path(bundle) / base).string(), bytes));
  if (entry == nullptr) entry = manifest.add_extras();
  entry->set_name(extra.name);
  entry->set_file(base);
  entry->set_sha256(Sha256Hex(bytes));
  entry->set_size_bytes(static_cast<int64_t>(bytes.size()));
  manifest.set_content_digest(ComputeContentDigest(manifest));
  manifest.set_version(VersionString(manifest.name(), manifest.content_digest()));
  GEOLOC_RETURN_IF_ERROR(
      WriteJsonProtoAtomically((fs::path(bundle) / kManifestFileName).string(), manifest));
  return manifest;
}

std::vector<std::string> FindStaleStagingDirectories(const std::string& output) {
  fs::path target = fs::path(output).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  const std::string prefix = absl::StrCat(".", target.filename().string(), ".staging-");
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, prefix) && it->is_directory(ec)) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace geoloc::index
