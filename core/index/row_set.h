// A set of bundle rows a search is restricted to (a search area's photos, core/cells'
// PointCellIndex::Select): the sorted rows and a bitmap over [0, universe), so that both a scan
// ("is row r in?") and a gather ("score only these rows") are cheap.
//
//   index::RowSet in_area(std::move(sorted_rows), bundle->size());
//   index::SearchParams sp;  sp.k = 60;  sp.filter = &in_area;  // bundle.h's filtered search
//
// Immutable after construction; safe to share between threads. The search only borrows it: keep
// it alive until the search returns.
#ifndef GEOLOC_CORE_INDEX_ROW_SET_H_
#define GEOLOC_CORE_INDEX_ROW_SET_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace geoloc::index {

class RowSet {
 public:
  RowSet() = default;
  // `rows` ascending, unique, each in [0, universe) (rows outside are dropped).
  RowSet(std::vector<int64_t> rows, int64_t universe);

  bool Contains(int64_t row) const {
    return row >= 0 && row < universe_ && ((bits_[row >> 6] >> (row & 63)) & 1) != 0;
  }
  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  bool empty() const { return rows_.empty(); }
  int64_t universe() const { return universe_; }
  // The rows in [begin, end), ascending.
  absl::Span<const int64_t> RowsIn(int64_t begin, int64_t end) const;
  const std::vector<int64_t>& rows() const { return rows_; }

 private:
  std::vector<int64_t> rows_;
  std::vector<uint64_t> bits_;
  int64_t universe_ = 0;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_ROW_SET_H_
