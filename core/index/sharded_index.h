// faiss::IndexShards that forwards per-search parameters (nprobe, efSearch) to its shards.
//
//   auto shards = std::make_unique<ShardedIndex>(dim, /*threaded=*/true);
//   shards->add_shard(shard0.release());  shards->add_shard(shard1.release());  // takes ownership
//   shards->search(n, queries, k, distances, labels, &ivf_params);
//
// Faiss 1.7.3's IndexShards::search throws "search params not supported for this index" when it
// is given SearchParameters; this subclass keeps IndexShards' storage, worker threads and
// successive ids, and only replaces search() (and the merge, which Faiss keeps private).
//
//   situation                          behaviour
//   params == nullptr                  every shard searched with its own settings
//   params != nullptr                  the same params passed to every shard
//   params->sel a RowSetSelector       each shard gets a copy of params whose selector is
//                                      the same RowSet shifted by the shard's first row
//   params->sel another IDSelector     faiss::FaissException (labels are per shard)
//   one shard                          searched directly on the calling thread
//   threaded, several shards           one Faiss worker thread per shard; the caller waits.
//                                      Concurrent searches queue on those workers, so a shard
//                                      serves one search at a time (shards run in parallel)
//   not threaded, several shards       shards searched one after another on the calling thread;
//                                      concurrent callers run fully in parallel
//   label < 0 from a shard             dropped (fewer than k results: label -1 at the end)
//   equal scores from several shards   lower global label first
//   global label                       shard s's label + rows in shards 0..s-1 (successive ids)
//
// Lifetime: owns its shards (own_fields = true). Threading: search() is const and safe to call
// concurrently; adding or removing shards is not (build the index, then share it).
#ifndef GEOLOC_CORE_INDEX_SHARDED_INDEX_H_
#define GEOLOC_CORE_INDEX_SHARDED_INDEX_H_

#include "faiss/IndexShards.h"

namespace geoloc::index {

class ShardedIndex : public faiss::IndexShards {
 public:
  ShardedIndex(int d, bool threaded);

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_SHARDED_INDEX_H_
