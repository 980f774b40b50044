// The Faiss face of a RowSet (row_set.h): an IDSelector over one index's local labels, which are
// the set's rows minus `offset` (a shard's first global row). Internal to core/index's .cc files.
//
//   RowSetSelector sel(&rows, /*offset=*/0);
//   faiss::SearchParametersIVF p;  p.sel = &sel;  ivf->search(n, x, k, D, I, &p);
//
// Who honours it. Faiss 1.7.3's own indexes, checked with a one-off program against Debian's
// libfaiss (5,000 x 16 vectors, a selector of every 50th row, k 10):
//   index                         behaviour with params->sel
//   faiss::IndexFlat              honoured: 10 results, all members
//   faiss::IndexIVFFlat           honoured in the probed lists: 10 members at nprobe 4 and 32
//                                 (a small set needs many lists: Bundle's rule, bundle.h)
//   faiss::IndexHNSWFlat          honoured on the graph walk's results only: 7 results (all
//                                 members) at efSearch 16 and 256, so a small set loses rows
// geoloc's index classes (tests/index/filtered_search_test.cc):
//   FastFlatIndex                 RowSetSelector: scores only the set's rows (a gather);
//                                 another IDSelector: scans every row, tests is_member
//   FastHnswIndex                 exact search over the selected rows (its flat storage)
//   ShardedIndex                  RowSetSelector: each shard gets the set with its own offset;
//                                 another IDSelector: faiss::FaissException
//   RerankIndex                   passed to its base index (re-ranking keeps only its results)
//
// Lifetime: borrows the RowSet. Threading: const, shareable.
#ifndef GEOLOC_CORE_INDEX_ROW_SET_SELECTOR_H_
#define GEOLOC_CORE_INDEX_ROW_SET_SELECTOR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/index/row_set.h"
#include "faiss/Index.h"
#include "faiss/impl/IDSelector.h"

namespace geoloc::index {

struct RowSetSelector : faiss::IDSelector {
  RowSetSelector(const RowSet* set, int64_t offset) : set(set), offset(offset) {}
  bool is_member(faiss::Index::idx_t id) const final { return set->Contains(id + offset); }

  const RowSet* set;
  int64_t offset;
};

// The local labels in [0, ntotal) that `sel` admits, ascending: from the set's sorted rows for a
// RowSetSelector, else by asking is_member of every label.
std::vector<int64_t> SelectedLabels(const faiss::IDSelector& sel, int64_t ntotal);

// A copy of `params` (SearchParameters, SearchParametersIVF or SearchParametersHNSW; null: plain
// SearchParameters) with `sel` in place of its selector. faiss::FaissException for another type.
std::unique_ptr<faiss::SearchParameters> WithSelector(const faiss::SearchParameters* params,
                                                      const faiss::IDSelector* sel);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_ROW_SET_SELECTOR_H_
