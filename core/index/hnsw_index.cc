#include "core/index/hnsw_index.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/index/fast_flat_index.h"
#include "core/index/flat_kernel.h"
#include "core/index/row_set_selector.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {

FastHnswIndex::FastHnswIndex(int d, int m, faiss::MetricType metric)
    : faiss::IndexHNSWFlat(d, m, metric) {
  // Same vectors, faster distances: replace the IndexFlat storage Faiss created.
  delete storage;
  storage = new FastFlatIndex(d, metric);
  own_fields = true;
}

absl::StatusOr<std::unique_ptr<FastHnswIndex>> FastHnswIndex::Adopt(
    std::unique_ptr<faiss::Index> index) {
  auto* loaded = dynamic_cast<faiss::IndexHNSWFlat*>(index.get());
  if (loaded == nullptr || loaded->storage == nullptr || !loaded->own_fields ||
      dynamic_cast<faiss::IndexFlat*>(loaded->storage) == nullptr ||
      (loaded->metric_type != faiss::METRIC_INNER_PRODUCT &&
       loaded->metric_type != faiss::METRIC_L2)) {
    return absl::InvalidArgumentError(
        "not an HNSW-Flat Faiss index with its own IP or L2 flat storage");
  }
  std::unique_ptr<faiss::Index> storage(loaded->storage);
  loaded->storage = nullptr;
  loaded->own_fields = false;
  absl::StatusOr<std::unique_ptr<FastFlatIndex>> flat = FastFlatIndex::Adopt(std::move(storage));
  if (!flat.ok()) return flat.status();
  std::unique_ptr<FastHnswIndex> out(new FastHnswIndex());
  out->d = loaded->d;
  out->metric_type = loaded->metric_type;
  out->metric_arg = loaded->metric_arg;
  out->ntotal = loaded->ntotal;
  out->is_trained = loaded->is_trained;
  out->hnsw = std::move(loaded->hnsw);
  out->storage = flat->release();
  out->own_fields = true;
  return out;
}

void FastHnswIndex::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                           const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT(k > 0);
  int ef = hnsw.efSearch;
  if (params != nullptr) {
    const auto* p = dynamic_cast<const faiss::SearchParametersHNSW*>(params);
    FAISS_THROW_IF_NOT_MSG(p != nullptr, "FastHnswIndex: parameters must be SearchParametersHNSW");
    ef = p->efSearch;
    if (p->sel != nullptr) {
      // A filter: exact search over the selected rows of the flat storage. A graph walk that
      // skips non-members misses most of a small area's rows (the walk goes where the query's
      // neighbours are, not where the area is); the area's rows are few when it is small, and
      // an exact scan of a large area costs what a flat bundle costs.
      const auto* flat = dynamic_cast<const faiss::IndexFlat*>(storage);
      FAISS_THROW_IF_NOT_MSG(flat != nullptr, "FastHnswIndex: storage is not flat");
      const std::vector<int64_t> selected = SelectedLabels(*p->sel, ntotal);
      ExactSearchRows(flat->get_xb(), selected.data(), static_cast<int64_t>(selected.size()),
                      static_cast<int>(d),
                      metric_type == faiss::METRIC_INNER_PRODUCT ? model::Metric::kInnerProduct
                                                                 : model::Metric::kL2,
                      x, n, static_cast<int>(k), distances, reinterpret_cast<int64_t*>(labels));
      return;
    }
  }
  const size_t beam = static_cast<size_t>(std::max<idx_t>(ef, k));
  const auto* flat = dynamic_cast<const faiss::IndexFlat*>(storage);
  FAISS_THROW_IF_NOT_MSG(flat != nullptr, "FastHnswIndex: storage is not flat");
  const float* xb = flat->get_xb();
  const int dim = static_cast<int>(d);
  const bool ip = metric_type == faiss::METRIC_INNER_PRODUCT;
  const model::Metric metric = ip ? model::Metric::kInnerProduct : model::Metric::kL2;
  const KernelIsa isa = DetectKernelIsa();

#pragma omp parallel for schedule(dynamic) if (n > 1)
  for (idx_t q = 0; q < n; ++q) {
    const float* query = x + q * dim;
    // Smaller is closer: minus the inner product, or the squared L2 distance.
    auto distance = [&](int64_t row) {
      float s;
      ComputeScores(xb + row * dim, 1, dim, metric, query, 1, &s, 1, isa);
      return ip ? -s : s;
    };
    using Node = std::pair<float, int64_t>;  // (distance, row): ties go to the lower row
    std::vector<Node> found;
    if (hnsw.entry_point >= 0) {
      int64_t nearest = hnsw.entry_point;
      float d_nearest = distance(nearest);
      // Greedy descent through the upper layers.
      for (int level = hnsw.max_level; level >= 1; --level) {
        bool moved = true;
        while (moved) {
          moved = false;
          size_t begin, end;
          hnsw.neighbor_range(nearest, level, &begin, &end);
          for (size_t j = begin; j < end; ++j) {
            const int64_t v = hnsw.neighbors[j];
            if (v < 0) break;
            const float dv = distance(v);
            if (Node(dv, v) < Node(d_nearest, nearest)) {
              nearest = v;
              d_nearest = dv;
              moved = true;
            }
          }
        }
      }
      // Beam search on layer 0.
      absl::flat_hash_set<int64_t> visited;
      visited.reserve(beam * 8);
      std::priority_queue<Node, std::vector<Node>, std::greater<Node>> candidates;
      std::priority_queue<Node> results;  // the worst kept result on top
      visited.insert(nearest);
      candidates.emplace(d_nearest, nearest);
      results.emplace(d_nearest, nearest);
      while (!candidates.empty()) {
        const Node c = candidates.top();
        if (results.size() >= beam && c > results.top()) break;
        candidates.pop();
        size_t begin, end;
        hnsw.neighbor_range(c.second, 0, &begin, &end);
        for (size_t j = begin; j < end; ++j) {
          const int64_t v = hnsw.neighbors[j];
          if (v < 0) break;
          if (!visited.insert(v).second) continue;
          const Node node(distance(v), v);
          if (results.size() < beam || node < results.top()) {
            candidates.push(node);
            results.push(node);
            if (results.size() > beam) results.pop();
          }
        }
      }
      found.reserve(results.size());
      while (!results.empty()) {
        found.push_back(results.top());
        results.pop();
      }
      std::sort(found.begin(), found.end());
    }
    for (idx_t j = 0; j < k; ++j) {
      if (static_cast<size_t>(j) < found.size()) {
        distances[q * k + j] = ip ? -found[j].first : found[j].first;
        labels[q * k + j] = found[j].second;
      } else {
        distances[q * k + j] =
            ip ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
        labels[q * k + j] = -1;
      }
    }
  }
}

}  // namespace geoloc::index
