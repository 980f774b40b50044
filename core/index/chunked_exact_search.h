// Exact k best over a database seen one chunk at a time: the ground truth of a database too large
// for memory (read from disk or regenerated chunk by chunk), merged exactly as ExactSearch over
// the whole database would rank it.
//
//   ChunkedExactSearch truth(queries, nq, d, model::Metric::kInnerProduct, 10);
//   for (first = 0; first < n; first += m) truth.Add(chunk(first, m), first, m);
//   truth.rows();  // nq x 10 database rows, best first
//
// Order: best score first (highest inner product, lowest squared L2), ties by lower row; row -1
// (score -inf / +inf) pads a query while fewer than k rows have been added. Chunks may come in
// any order and sizes. Thread-compatible (Add uses ExactSearch's threads internally).
#ifndef GEOLOC_CORE_INDEX_CHUNKED_EXACT_SEARCH_H_
#define GEOLOC_CORE_INDEX_CHUNKED_EXACT_SEARCH_H_

#include <cstdint>
#include <vector>

#include "core/model/model_info.h"

namespace geoloc::index {

class ChunkedExactSearch {
 public:
  // Copies the nq x d queries. k >= 1.
  ChunkedExactSearch(const float* queries, int64_t nq, int d, model::Metric metric, int k);

  // Merges database rows [first, first + count) (`x`: count x d, row-major) into every query's
  // k best.
  void Add(const float* x, int64_t first, int64_t count);

  int k() const { return k_; }
  int64_t nq() const { return nq_; }
  const std::vector<float>& queries() const { return queries_; }
  const std::vector<float>& scores() const { return scores_; }  // nq x k
  const std::vector<int64_t>& rows() const { return rows_; }    // nq x k

 private:
  int d_;
  model::Metric metric_;
  int k_;
  int64_t nq_;
  std::vector<float> queries_;
  std::vector<float> scores_;
  std::vector<int64_t> rows_;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_CHUNKED_EXACT_SEARCH_H_
