#include "core/index/chunked_exact_search.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/index/flat_kernel.h"

namespace geoloc::index {

ChunkedExactSearch::ChunkedExactSearch(const float* queries, int64_t nq, int d,
                                       model::Metric metric, int k)
    : d_(d),
      metric_(metric),
      k_(k),
      nq_(nq),
      queries_(queries, queries + nq * d),
      scores_(static_cast<size_t>(nq) * k, metric == model::Metric::kL2
                                               ? std::numeric_limits<float>::infinity()
                                               : -std::numeric_limits<float>::infinity()),
      rows_(static_cast<size_t>(nq) * k, -1) {}

void ChunkedExactSearch::Add(const float* x, int64_t first, int64_t count) {
  if (count <= 0 || nq_ == 0) return;
  std::vector<float> scores(static_cast<size_t>(nq_) * k_);
  std::vector<int64_t> rows(scores.size());
  ExactSearch(x, count, d_, metric_, queries_.data(), nq_, k_, scores.data(), rows.data());
  const bool l2 = metric_ == model::Metric::kL2;
  auto better = [l2](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    if (a.first != b.first) return l2 ? a.first < b.first : a.first > b.first;
    return a.second < b.second;
  };
  std::vector<std::pair<float, int64_t>> merged;
  for (int64_t q = 0; q < nq_; ++q) {
    merged.clear();
    for (int i = 0; i < k_; ++i) {
      const size_t at = static_cast<size_t>(q) * k_ + i;
      if (rows_[at] >= 0) merged.emplace_back(scores_[at], rows_[at]);
      if (rows[at] >= 0) merged.emplace_back(scores[at], first + rows[at]);
    }
    const size_t keep = std::min<size_t>(merged.size(), k_);
    std::partial_sort(merged.begin(), merged.begin() + keep, merged.end(), better);
    for (size_t i = 0; i < keep; ++i) {
      scores_[static_cast<size_t>(q) * k_ + i] = merged[i].first;
      rows_[static_cast<size_t>(q) * k_ + i] = merged[i].second;
    }
  }
}

}  // namespace geoloc::index
