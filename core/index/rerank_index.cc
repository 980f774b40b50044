#include "core/index/rerank_index.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "faiss/IndexFlat.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {

RerankIndex::RerankIndex(faiss::Index* base, faiss::Index* refine, float k_factor)
    : faiss::IndexRefine(base, refine) {
  own_fields = true;
  own_refine_index = true;
  this->k_factor = k_factor;
  ntotal = base->ntotal;
}

absl::StatusOr<std::unique_ptr<RerankIndex>> RerankIndex::Adopt(
    std::unique_ptr<faiss::Index> index) {
  auto* refine = dynamic_cast<faiss::IndexRefine*>(index.get());
  if (refine == nullptr || refine->base_index == nullptr || refine->refine_index == nullptr) {
    return absl::InvalidArgumentError("not a Faiss IndexRefine with base and refine indexes");
  }
  if (refine->base_index->ntotal != refine->refine_index->ntotal) {
    return absl::InvalidArgumentError("IndexRefine: base and refine index sizes differ");
  }
  std::unique_ptr<RerankIndex> out;
  try {
    out = std::make_unique<RerankIndex>(refine->base_index, refine->refine_index,
                                        std::max(1.0f, refine->k_factor));
  } catch (const std::exception& e) {  // faiss::FaissException: inconsistent parts
    return absl::InvalidArgumentError(absl::StrCat("IndexRefine: ", e.what()));
  }
  // The parts now belong to `out`; the emptied shell is deleted without them.
  refine->own_fields = false;
  refine->own_refine_index = false;
  refine->base_index = nullptr;
  refine->refine_index = nullptr;
  return out;
}

void RerankIndex::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                         const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT(k > 0);
  const idx_t k_base = static_cast<idx_t>(std::ceil(static_cast<double>(k) * k_factor));
  std::vector<float> base_distances(static_cast<size_t>(n) * k_base);
  std::vector<idx_t> base_labels(static_cast<size_t>(n) * k_base);
  base_index->search(n, x, k_base, base_distances.data(), base_labels.data(), params);

  const bool l2 = metric_type == faiss::METRIC_L2;
  const auto* flat = dynamic_cast<const faiss::IndexFlat*>(refine_index);
  const size_t dim = static_cast<size_t>(d);

#pragma omp parallel for schedule(dynamic) if (n > 1)
  for (idx_t q = 0; q < n; ++q) {
    const float* query = x + q * dim;
    std::vector<float> decoded(flat != nullptr ? 0 : dim);
    std::vector<std::pair<float, idx_t>> scored;  // (score, label)
    scored.reserve(k_base);
    for (idx_t j = 0; j < k_base; ++j) {
      const idx_t label = base_labels[q * k_base + j];
      if (label < 0) continue;
      const float* v;
      if (flat != nullptr) {
        v = flat->get_xb() + label * dim;
      } else {
        refine_index->reconstruct(label, decoded.data());
        v = decoded.data();
      }
      double s = 0;
      for (size_t i = 0; i < dim; ++i) {
        const double a = query[i], b = v[i];
        s += l2 ? (a - b) * (a - b) : a * b;
      }
      scored.emplace_back(static_cast<float>(s), label);
    }
    auto better = [l2](const std::pair<float, idx_t>& a, const std::pair<float, idx_t>& b) {
      if (a.first != b.first) return l2 ? a.first < b.first : a.first > b.first;
      return a.second < b.second;
    };
    const size_t keep = std::min<size_t>(scored.size(), k);
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(), better);
    for (idx_t j = 0; j < k; ++j) {
      if (static_cast<size_t>(j) < keep) {
        distances[q * k + j] = scored[j].first;
        labels[q * k + j] = scored[j].second;
      } else {
        distances[q * k + j] =
            l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
        labels[q * k + j] = -1;
      }
    }
  }
}

}  // namespace geoloc::index
