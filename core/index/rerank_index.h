// IVF-PQ candidates re-ranked by their stored vectors: a faiss::IndexRefine that accepts
// per-search parameters (Faiss 1.7.3's IndexRefine::search rejects any SearchParameters).
//
//   GEOLOC_ASSIGN_OR_RETURN(auto rerank, RerankIndex::Adopt(std::move(loaded_index_refine)));
//   rerank->search(n, queries, k, distances, labels, &ivf_params);  // nprobe reaches the base
//
// It is an IndexRefine (base_index = the IVF-PQ, refine_index = an IndexFlat or an 8-bit
// IndexScalarQuantizer), so write_index/read_index store it as Faiss's "IxRF" and any Faiss tool
// reads it. search():
//   1. asks base_index for k' = k * k_factor candidates with the given params (nprobe),
//   2. recomputes each candidate's score from refine_index's vector (exact for a flat store,
//      8-bit reconstruction for sq8): inner product, or squared L2,
//   3. keeps the k best, best first, ties by lower label; label -1 fills missing results.
//
// Lifetime: owns base_index and refine_index. Threading: search() is const and safe to call
// concurrently (it parallelises the re-ranking over queries with OpenMP).
#ifndef GEOLOC_CORE_INDEX_RERANK_INDEX_H_
#define GEOLOC_CORE_INDEX_RERANK_INDEX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "faiss/IndexRefine.h"

namespace geoloc::index {

class RerankIndex : public faiss::IndexRefine {
 public:
  // Takes ownership of both indexes. k_factor >= 1.
  RerankIndex(faiss::Index* base, faiss::Index* refine, float k_factor);

  // Takes over the parts of a loaded faiss::IndexRefine (no copy). INVALID_ARGUMENT when `index`
  // is not an IndexRefine.
  static absl::StatusOr<std::unique_ptr<RerankIndex>> Adopt(std::unique_ptr<faiss::Index> index);

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_RERANK_INDEX_H_
