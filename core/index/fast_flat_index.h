// A faiss::IndexFlat whose search runs geoloc's exact kernel (flat_kernel.h) instead of Faiss's.
//
//   std::unique_ptr<faiss::Index> loaded(faiss::read_index(path));
//   GEOLOC_ASSIGN_OR_RETURN(auto flat, FastFlatIndex::Adopt(std::move(loaded), /*threads=*/2));
//
// It is still an IndexFlat (same storage, same file format: write_index writes "IxFI"/"IxF2"),
// so any Faiss tool reads what it writes and the GPU cloner accepts it. Only search() differs:
//
//   call                                   behaviour
//   search(n, x, k, D, I, nullptr)         ExactSearch: IP scores or squared L2, best first,
//                                          ties by lower label, label -1 past ntotal
//   search(..., params) without selector   params ignored (flat has nothing to tune)
//   search(..., params with IDSelector)    exact search over the selected rows only
//                                          (ExactSearchRows; a RowSetSelector's rows are
//                                          read directly, another selector is asked per row)
//   add()/reset()/remove_ids()             as faiss::IndexFlat (the loader never calls them)
//   get_FlatCodesDistanceComputer()         one-vector distances with the kernel's instructions
//                                          (IP, or squared L2, as Faiss's): what HNSW graphs
//                                          use when built over this storage
//
// Threading: const methods (search, reconstruct) are safe to call concurrently; each search uses
// up to `threads()` OpenMP threads.
#ifndef GEOLOC_CORE_INDEX_FAST_FLAT_INDEX_H_
#define GEOLOC_CORE_INDEX_FAST_FLAT_INDEX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/index/flat_kernel.h"
#include "faiss/IndexFlat.h"

namespace geoloc::index {

class FastFlatIndex : public faiss::IndexFlat {
 public:
  // metric: faiss::METRIC_INNER_PRODUCT or faiss::METRIC_L2.
  FastFlatIndex(int d, faiss::MetricType metric, ExactSearchOptions options = {});

  // Takes over the vectors of a loaded IndexFlat (no copy). INVALID_ARGUMENT when `index` is not
  // an IndexFlat with an inner-product or L2 metric.
  static absl::StatusOr<std::unique_ptr<FastFlatIndex>> Adopt(std::unique_ptr<faiss::Index> index,
                                                              ExactSearchOptions options = {});

  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override;

  const ExactSearchOptions& options() const { return options_; }

 private:
  ExactSearchOptions options_;
};

// Replaces the flat coarse quantizer of an IVF index (or of the IVF base of an IndexRefine) with a
// FastFlatIndex holding the same centroids, so that assigning queries to lists runs the fast
// kernel too. Other indexes, quantizers that are not flat and quantizers the IVF does not own are
// left alone. Not thread-safe:
// call before the index is shared.
absl::Status UseFastQuantizer(faiss::Index* index);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_FAST_FLAT_INDEX_H_
