#include "core/index/bundle.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/index/bundle_files.h"
#include "core/index/flat_kernel.h"
#include "core/index/row_set_selector.h"
#include "core/index/shard_loader.h"
#include "core/index/sq8_flat_index.h"
#include "faiss/Index.h"
#include "faiss/IndexHNSW.h"
#include "faiss/IndexIVF.h"
#include "faiss/impl/FaissException.h"

namespace geoloc::index {
namespace fs = std::filesystem;
namespace {

// Rows reconstructed per block by SearchSetExactly: 4096 x 512 floats is 8 MB.
constexpr int64_t kGatherRows = 4096;

// The exact top-k of `set` for the n queries: its vectors reconstructed block by block (exact for
// IVF-Flat and re-ranked IVF-PQ, PQ-decoded for plain IVF-PQ) and scored by the flat kernel, the
// blocks' results merged (better score, then lower row). Scores as Faiss reports them (squared
// L2). Requires a CPU index with a direct map (shard_loader.cc builds one for IVF).
void SearchSetExactly(const LoadedIndex& index, const BundleManifest& manifest, const float* x,
                      int64_t n, int d, model::Metric metric, int k, const RowSet& set,
                      float* scores, int64_t* rows) {
  const bool l2 = metric == model::Metric::kL2;
  auto better = [l2](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    if (a.first != b.first) return l2 ? a.first < b.first : a.first > b.first;
    return a.second < b.second;
  };
  std::vector<std::vector<std::pair<float, int64_t>>> best(n);
  std::vector<float> block(static_cast<size_t>(kGatherRows) * d);
  std::vector<float> block_scores(static_cast<size_t>(n) * k);
  std::vector<int64_t> block_rows(static_cast<size_t>(n) * k);
  const std::vector<int64_t>& members = set.rows();
  for (size_t b0 = 0; b0 < members.size(); b0 += kGatherRows) {
    const int64_t m = std::min<int64_t>(kGatherRows, members.size() - b0);
    for (int64_t i = 0; i < m; ++i) {
      int64_t local = 0;
      ShardOf(index, manifest, members[b0 + i], &local)->reconstruct(local, block.data() + i * d);
    }
    ExactSearch(block.data(), m, d, metric, x, n, k, block_scores.data(), block_rows.data());
    for (int64_t q = 0; q < n; ++q) {
      for (int j = 0; j < k; ++j) {
        const int64_t r = block_rows[q * k + j];
        if (r >= 0) best[q].emplace_back(block_scores[q * k + j], members[b0 + r]);
      }
      const size_t keep = std::min<size_t>(best[q].size(), k);
      std::partial_sort(best[q].begin(), best[q].begin() + keep, best[q].end(), better);
      best[q].resize(keep);
    }
  }
  for (int64_t q = 0; q < n; ++q) {
    for (int j = 0; j < k; ++j) {
      const bool has = j < static_cast<int>(best[q].size());
      scores[q * k + j] = has ? best[q][j].first : std::numeric_limits<float>::quiet_NaN();
      rows[q * k + j] = has ? best[q][j].second : -1;
    }
  }
}

}  // namespace

Bundle::Bundle() = default;
Bundle::~Bundle() = default;

const std::string& Bundle::device() const { return index_->device; }

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

  // Sizes always, hashes when asked: every file, in parallel. Shards are hashed while they are
  // loaded (LoadShards), so that each is read from disk only once.
  const FileHashing hashing =
      options.verify_checksums ? FileHashing::kAllButShards : FileHashing::kNone;
  for (const FileCheckResult& check :
       CheckBundleFiles(path, manifest, hashing, options.load_threads)) {
    GEOLOC_RETURN_IF_ERROR(check.status);
  }
  GEOLOC_ASSIGN_OR_RETURN(
      bundle->metadata_,
      MetadataTable::Open((fs::path(path) / manifest.metadata().file()).string()));
  GEOLOC_RETURN_IF_ERROR(CheckMetadataMatchesManifest(path, manifest, bundle->metadata_));

  GEOLOC_ASSIGN_OR_RETURN(LoadedIndex loaded, LoadShards(path, manifest, options));
  bundle->index_ = std::make_unique<const LoadedIndex>(std::move(loaded));
  bundle->manifest_ = std::move(manifest);
  GEOLOC_LOG(INFO) << "loaded bundle " << bundle->version() << " from " << path << ": "
                   << bundle->size() << " vectors, " << bundle->num_shards() << " shard(s), "
                   << bundle->manifest_.index().type() << ", " << bundle->device()
                   << (options.verify_checksums ? ", checksums verified" : "");
  return std::shared_ptr<const Bundle>(std::move(bundle));
}

absl::StatusOr<std::vector<float>> Bundle::Reconstruct(absl::Span<const int64_t> rows) const {
  if (index_->on_gpu) {
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
    int64_t local = 0;
    const faiss::Index* shard = ShardOf(*index_, manifest_, row, &local);
    try {
      shard->reconstruct(local, out.data() + i * d);
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this ", manifest_.index().type(), " bundle cannot reconstruct vectors: ", e.what()));
    }
  }
  return out;
}

std::optional<Sq8Counters> Bundle::sq8_counters() const {
  if (index_->on_gpu) return std::nullopt;
  std::optional<Sq8Counters> sum;
  for (const ShardEntry& shard : manifest_.shards()) {
    if (shard.count() == 0) continue;
    int64_t local = 0;
    const auto* sq8 =
        dynamic_cast<const Sq8FlatIndex*>(ShardOf(*index_, manifest_, shard.first_row(), &local));
    if (sq8 == nullptr) continue;
    const Sq8SearchStats stats = sq8->stats();
    if (!sum.has_value()) sum.emplace();
    sum->queries += stats.queries;
    sum->second_scans += stats.fallbacks;
    sum->rows_reranked += stats.rows_reranked;
  }
  return sum;
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

  if (params.filter != nullptr) {
    if (index_->on_gpu) {
      return absl::FailedPreconditionError(
          "a search area needs a CPU-resident index (GPU Faiss has no IDSelector)");
    }
    if (params.filter->universe() != size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter: a set over ", params.filter->universe(), " rows for a bundle of ", size()));
    }
    if (params.filter->empty()) {
      std::fill(rows.begin(), rows.end(), int64_t{-1});
      std::fill(scores.begin(), scores.end(), std::numeric_limits<float>::quiet_NaN());
      return absl::OkStatus();
    }
  }
  faiss::SearchParametersIVF ivf;
  faiss::SearchParametersHNSW hnsw;
  const faiss::SearchParameters* faiss_params = nullptr;
  if (!index_->on_gpu && IsIvf(index_type_)) {
    const int nlist = manifest_.index().nlist();
    double nprobe = params.nprobe > 0 ? params.nprobe : manifest_.index().default_nprobe();
    if (params.filter != nullptr) {
      nprobe = std::ceil(nprobe * static_cast<double>(size()) /
                         static_cast<double>(params.filter->size()));
    }
    ivf.nprobe = static_cast<size_t>(std::min<double>(nlist, nprobe));
    faiss_params = &ivf;
    // A filter the IVF would scan more vectors for (its probed share of the bundle) than the set
    // holds: score the set's vectors directly, which is also exact.
    if (params.filter != nullptr &&
        static_cast<double>(params.filter->size()) <
            static_cast<double>(ivf.nprobe) / nlist * static_cast<double>(size())) {
      try {
        SearchSetExactly(*index_, manifest_, queries.data(), n, d, metric_, params.k,
                         *params.filter, scores.data(), rows.data());
      } catch (const std::exception& e) {
        return absl::InternalError(absl::StrCat("filtered search failed: ", e.what()));
      }
      if (metric_ == model::Metric::kL2) {
        for (float& s : scores) s = std::sqrt(std::max(0.0f, s));
      }
      return absl::OkStatus();
    }
  } else if (index_type_ == IndexType::kHnsw) {
    hnsw.efSearch = std::max(
        params.k, params.ef_search > 0 ? params.ef_search : manifest_.index().default_ef_search());
    faiss_params = &hnsw;
  }
  static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "Faiss labels are 64-bit");
  RowSetSelector selector(params.filter, /*offset=*/0);
  std::unique_ptr<faiss::SearchParameters> filtered;
  try {
    if (params.filter != nullptr) {
      filtered = WithSelector(faiss_params, &selector);
      faiss_params = filtered.get();
    }
    index_->index->search(n, queries.data(), params.k, scores.data(),
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
