// A faiss::IndexHNSWFlat whose search honours a per-search efSearch and uses geoloc's kernel for
// distances.
//
//   std::unique_ptr<faiss::Index> loaded(faiss::read_index(path));
//   GEOLOC_ASSIGN_OR_RETURN(auto hnsw, FastHnswIndex::Adopt(std::move(loaded)));
//   faiss::SearchParametersHNSW p;  p.efSearch = 128;
//   hnsw->search(n, queries, k, distances, labels, &p);
//
// Why: Faiss 1.7.3's HNSW::search reads efSearch from the index (hnsw.efSearch), not from the
// SearchParametersHNSW it is given (measured: results depend only on the member), and changing
// the member is a data race between concurrent searches. This class keeps Faiss's graph and
// storage (and file format: write_index writes "IHNf") and replaces only search() with the
// standard HNSW search (greedy descent through the upper layers, then a beam of width
// max(efSearch, k) on layer 0), reading efSearch from the parameters. Its storage is a
// FastFlatIndex, so building the graph (Faiss's add) and searching it compute distances with
// the kernel's AVX-512/AVX2 code rather than Faiss's baseline x86 code.
//
//   call                                   behaviour
//   search(..., SearchParametersHNSW* p)   efSearch = max(p->efSearch, k)
//   search(..., nullptr)                   efSearch = max(hnsw.efSearch, k)
//   search(..., p with p->sel)             exact search over the selected rows of the flat
//                                          storage (a search area; row_set_selector.h)
//   search(..., other parameter types)     faiss::FaissException
//   results                                IP scores (highest first) or squared L2 (lowest
//                                          first), ties by lower label, label -1 past the
//                                          vectors found
//
// Threading: search() is const and safe to call concurrently (each call keeps its own visited
// set); queries of one call run in parallel with OpenMP. add() is Faiss's and not thread-safe.
#ifndef GEOLOC_CORE_INDEX_HNSW_INDEX_H_
#define GEOLOC_CORE_INDEX_HNSW_INDEX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "faiss/IndexHNSW.h"

namespace geoloc::index {

class FastHnswIndex : public faiss::IndexHNSWFlat {
 public:
  // An empty index whose storage is a FastFlatIndex. metric: IP or L2.
  FastHnswIndex(int d, int m, faiss::MetricType metric);

  // Takes over the graph and the vectors of a loaded IndexHNSWFlat (no copy of the vectors).
  // INVALID_ARGUMENT when `index` is not an IndexHNSWFlat over a flat IP or L2 storage.
  static absl::StatusOr<std::unique_ptr<FastHnswIndex>> Adopt(std::unique_ptr<faiss::Index> index);

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;

 private:
  FastHnswIndex() = default;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_HNSW_INDEX_H_
