// Internal to core/index's exact searches (flat_kernel.cc, sq8_flat_index.cc): the bounded heap
// that keeps a query's best candidates. Nothing outside core/index may include this header.
#ifndef GEOLOC_CORE_INDEX_FLAT_KERNEL_TOPK_H_
#define GEOLOC_CORE_INDEX_FLAT_KERNEL_TOPK_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace geoloc::index::internal {

// One candidate: `key` is the score made "higher is better" (the inner product, or minus the
// squared distance), so one heap serves both metrics.
struct Candidate {
  float key;
  int64_t row;
};

// a is better than b: higher key, then lower row.
inline bool Better(const Candidate& a, const Candidate& b) {
  return a.key > b.key || (a.key == b.key && a.row < b.row);
}

// The k best candidates seen so far, as a heap whose front is the worst of them.
class TopK {
 public:
  void Reset(int k) {
    k_ = k;
    heap_.clear();
    heap_.reserve(k);
  }
  // Threshold below which (or at which, for later rows) a candidate cannot enter.
  bool Full() const { return static_cast<int>(heap_.size()) == k_; }
  float WorstKey() const { return heap_.front().key; }
  void Push(const Candidate& c) {
    if (!Full()) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), Better);
    } else if (Better(c, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }
  const std::vector<Candidate>& items() const { return heap_; }

 private:
  int k_ = 0;
  std::vector<Candidate> heap_;
};

}  // namespace geoloc::index::internal

#endif  // GEOLOC_CORE_INDEX_FLAT_KERNEL_TOPK_H_
