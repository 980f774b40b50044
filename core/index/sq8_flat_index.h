// A flat shard searched through its 8-bit scalar-quantised copy (sq8_store.h), with the exact
// float32 scores of a short list re-ranked from the shard's own vectors, read from its file only
// for the short list. The answer is EXACTLY ExactSearch's (flat_kernel.h): same rows, same
// scores to the bit, same tie order; the 8-bit scan only decides which rows to score exactly.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto index,
//       Sq8FlatIndex::Open(shard_path, sq8_path, d, n, faiss::METRIC_INNER_PRODUCT));
//   index->search(nq, queries, k, distances, labels);  // as a FastFlatIndex would answer
//
// Why it is exact. For a query q and a row x with 8-bit copy x~, |<q,x> - <q,x~>| <= B(q) =
// min(sum_j |q_j| err_j, |q| max_resid) (sq8_store.h), twice that for squared L2 (computed as
// |q|^2 - 2<q,x~> + |x|^2 with the stored |x|^2), plus a float rounding allowance. Per query:
//   1. scan the codes (SIMD, ScoreCodes) and keep the L = shortlist(k) best approximate keys;
//   2. score those L rows exactly (ComputeScores on their float32 vectors); t_k = the k-th best;
//   3. if every row was in the list, or the L-th approximate key + B < t_k, no row outside the
//      list can reach t_k: done (the "proven" case);
//   4. else scan the codes again and score exactly every row whose approximate key >= t_k - B
//      (a superset of the true top k, ties included): done (the "fallback" case).
// L = max(ceil(k * factor), k + extra) (Sq8Shortlist, bundle_options.h); docs/BENCHMARKS.md
// measures how often step 3 proves the answer on clustered and on uniform data.
//
//   call                                   behaviour
//   search(n, x, k, D, I, nullptr)         as above: IP scores or squared L2, best first, ties by
//                                          lower label, label -1 (score -inf / +inf) past ntotal
//   search(..., params with IDSelector)    the same over the selected rows only (a RowSetSelector's
//                                          rows are read directly, another is asked per row)
//   reconstruct(key, out)                  the float32 vector, read from the shard file
//   a read error of the shard file         faiss::FaissException naming it (Bundle turns it into
//                                          a status)
//   add()/reset()                          faiss::FaissException: a loaded bundle is read-only
//
// Memory: the codes (d bytes per vector) are mapped and faulted in at Open; the float32 vectors
// (4 d bytes per vector) stay in the file and are read with pread() row by row for the short list
// only, so they never count in the process's resident memory (a mapping would: each touched page
// and the pages the kernel maps around it stay resident, and the short lists of many queries touch
// most of the file). The page cache keeps the hot rows; the kernel may drop them under pressure.
//
// Lifetime: owns the codes' mapping and the shard's file descriptor; the files must not be
// rewritten in place (bundles never are).
// Threading: search() and reconstruct() are const and safe to call concurrently; each search uses
// up to options.exact.threads OpenMP threads.
#ifndef GEOLOC_CORE_INDEX_SQ8_FLAT_INDEX_H_
#define GEOLOC_CORE_INDEX_SQ8_FLAT_INDEX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/index/bundle_options.h"
#include "core/index/flat_kernel.h"
#include "core/index/sq8_store.h"
#include "faiss/Index.h"

namespace geoloc::index {

struct Sq8SearchOptions {
  ExactSearchOptions exact;  // threads and instruction set, for the scan and the re-ranking
  Sq8Shortlist shortlist;    // bundle_options.h; capped at the rows searched
};

// Counters since Open (relaxed atomics: exact totals once searches have returned).
struct Sq8SearchStats {
  int64_t queries = 0;
  int64_t fallbacks = 0;      // queries that needed the second scan (step 4)
  int64_t rows_reranked = 0;  // float32 vectors scored exactly
};

class Sq8FlatIndex : public faiss::Index {
 public:
  // Maps the flat shard written by faiss::write_index (an IndexFlat: "IxFI" or "IxF2") at
  // `flat_path` and its store at `sq8_path`; both must hold n vectors of dimension d and the
  // shard `metric` (METRIC_INNER_PRODUCT or METRIC_L2). DATA_LOSS naming the file otherwise.
  ~Sq8FlatIndex() override;
  static absl::StatusOr<std::unique_ptr<Sq8FlatIndex>> Open(const std::string& flat_path,
                                                            const std::string& sq8_path, int d,
                                                            int64_t n, faiss::MetricType metric,
                                                            Sq8SearchOptions options = {});

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
  void reconstruct(idx_t key, float* recons) const override;
  void add(idx_t n, const float* x) override;
  void reset() override;

  Sq8SearchStats stats() const;
  const Sq8Store& store() const { return store_; }
  const Sq8SearchOptions& options() const { return options_; }

 private:
  Sq8FlatIndex(int d, faiss::MetricType metric) : faiss::Index(d, metric) {}

  // Reads rows [row, row + 1) of the float32 vectors into out (d floats).
  void ReadRow(int64_t row, float* out) const;

  std::string flat_path_;
  int flat_fd_ = -1;
  int64_t vectors_offset_ = 0;  // of row 0's first float in the shard file
  Sq8Store store_;
  Sq8SearchOptions options_;
  mutable std::atomic<int64_t> queries_{0};
  mutable std::atomic<int64_t> fallbacks_{0};
  mutable std::atomic<int64_t> rows_reranked_{0};
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_SQ8_FLAT_INDEX_H_
