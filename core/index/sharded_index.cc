#include "core/index/sharded_index.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "core/index/row_set_selector.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {

ShardedIndex::ShardedIndex(int d, bool threaded)
    : faiss::IndexShards(d, threaded, /*successive_ids=*/true) {
  own_fields = true;
}

void ShardedIndex::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                          const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT(k > 0);
  const int nshard = count();
  FAISS_THROW_IF_NOT_MSG(nshard > 0, "ShardedIndex: no shards");
  if (nshard == 1) {
    at(0)->search(n, x, k, distances, labels, params);
    return;
  }
  std::vector<idx_t> offsets(nshard, 0);
  for (int s = 1; s < nshard; ++s) offsets[s] = offsets[s - 1] + at(s - 1)->ntotal;
  // A filter over global rows: each shard gets it shifted to its own labels.
  std::vector<RowSetSelector> selectors;
  std::vector<std::unique_ptr<faiss::SearchParameters>> shard_params(nshard);
  if (params != nullptr && params->sel != nullptr) {
    const auto* rows = dynamic_cast<const RowSetSelector*>(params->sel);
    FAISS_THROW_IF_NOT_MSG(rows != nullptr, "ShardedIndex: only a RowSetSelector can filter");
    selectors.reserve(nshard);
    for (int s = 0; s < nshard; ++s) {
      selectors.emplace_back(rows->set, rows->offset + offsets[s]);
      shard_params[s] = WithSelector(params, &selectors[s]);
    }
  }
  const size_t stride = static_cast<size_t>(n) * k;
  std::vector<float> all_distances(stride * nshard);
  std::vector<idx_t> all_labels(stride * nshard);
  runOnIndex([&](int no, const faiss::Index* index) {
    index->search(n, x, k, all_distances.data() + no * stride, all_labels.data() + no * stride,
                  shard_params[no] != nullptr ? shard_params[no].get() : params);
  });

  const bool l2 = metric_type == faiss::METRIC_L2;
  // a beats b: better score, then lower global label.
  auto beats = [l2](float da, idx_t la, float db, idx_t lb) {
    if (da != db) return l2 ? da < db : da > db;
    return la < lb;
  };
  // k-way merge of each query's sorted per-shard lists. nshard is small (a few to tens), so a
  // linear scan over the shard heads beats a heap.
  std::vector<int> heads(nshard);
  for (idx_t q = 0; q < n; ++q) {
    for (int s = 0; s < nshard; ++s) heads[s] = 0;
    float* out_d = distances + q * k;
    idx_t* out_l = labels + q * k;
    for (idx_t j = 0; j < k; ++j) {
      int best = -1;
      float best_d = 0;
      idx_t best_l = -1;
      for (int s = 0; s < nshard; ++s) {
        if (heads[s] >= k) continue;
        const size_t at_pos = s * stride + q * k + heads[s];
        const idx_t label = all_labels[at_pos];
        if (label < 0) continue;  // this shard has no more results for the query
        const float dist = all_distances[at_pos];
        const idx_t global = label + offsets[s];
        if (best < 0 || beats(dist, global, best_d, best_l)) {
          best = s;
          best_d = dist;
          best_l = global;
        }
      }
      if (best < 0) {
        out_d[j] =
            l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
        out_l[j] = -1;
        continue;
      }
      out_d[j] = best_d;
      out_l[j] = best_l;
      ++heads[best];
    }
  }
}

}  // namespace geoloc::index
