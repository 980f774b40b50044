#include "core/index/row_set_selector.h"

#include <typeinfo>

#include "faiss/IndexHNSW.h"
#include "faiss/IndexIVF.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {

std::vector<int64_t> SelectedLabels(const faiss::IDSelector& sel, int64_t ntotal) {
  std::vector<int64_t> out;
  if (const auto* rs = dynamic_cast<const RowSetSelector*>(&sel)) {
    for (int64_t row : rs->set->RowsIn(rs->offset, rs->offset + ntotal)) {
      out.push_back(row - rs->offset);
    }
    return out;
  }
  for (int64_t i = 0; i < ntotal; ++i) {
    if (sel.is_member(i)) out.push_back(i);
  }
  return out;
}

std::unique_ptr<faiss::SearchParameters> WithSelector(const faiss::SearchParameters* params,
                                                      const faiss::IDSelector* sel) {
  std::unique_ptr<faiss::SearchParameters> out;
  if (params == nullptr) {
    out = std::make_unique<faiss::SearchParameters>();
  } else if (const auto* ivf = dynamic_cast<const faiss::SearchParametersIVF*>(params)) {
    out = std::make_unique<faiss::SearchParametersIVF>(*ivf);
  } else if (const auto* hnsw = dynamic_cast<const faiss::SearchParametersHNSW*>(params)) {
    out = std::make_unique<faiss::SearchParametersHNSW>(*hnsw);
  } else {
    FAISS_THROW_IF_NOT_MSG(typeid(*params) == typeid(faiss::SearchParameters),
                           "WithSelector: unsupported SearchParameters type");
    out = std::make_unique<faiss::SearchParameters>(*params);
  }
  out->sel = const_cast<faiss::IDSelector*>(sel);  // Faiss 1.7.3 holds it non-const; never written
  return out;
}

}  // namespace geoloc::index
