#include "core/index/row_set.h"

#include <algorithm>
#include <utility>

namespace geoloc::index {

RowSet::RowSet(std::vector<int64_t> rows, int64_t universe)
    : rows_(std::move(rows)), universe_(std::max<int64_t>(universe, 0)) {
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(),
                             [this](int64_t r) { return r < 0 || r >= universe_; }),
              rows_.end());
  rows_.erase(std::unique(rows_.begin(), rows_.end()), rows_.end());
  bits_.assign(static_cast<size_t>((universe_ + 63) / 64), 0);
  for (int64_t r : rows_) bits_[r >> 6] |= uint64_t{1} << (r & 63);
}

absl::Span<const int64_t> RowSet::RowsIn(int64_t begin, int64_t end) const {
  const auto lo = std::lower_bound(rows_.begin(), rows_.end(), begin);
  const auto hi = std::lower_bound(lo, rows_.end(), end);
  return absl::MakeConstSpan(rows_).subspan(lo - rows_.begin(), hi - lo);
}

}  // namespace geoloc::index
