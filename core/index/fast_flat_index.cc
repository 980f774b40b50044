#include "core/index/fast_flat_index.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index/row_set_selector.h"
#include "faiss/IndexIVF.h"
#include "faiss/IndexRefine.h"
#include "faiss/impl/FaissAssert.h"

namespace geoloc::index {

FastFlatIndex::FastFlatIndex(int d, faiss::MetricType metric, ExactSearchOptions options)
    : faiss::IndexFlat(d, metric), options_(options) {}

absl::StatusOr<std::unique_ptr<FastFlatIndex>> FastFlatIndex::Adopt(
    std::unique_ptr<faiss::Index> index, ExactSearchOptions options) {
  auto* flat = dynamic_cast<faiss::IndexFlat*>(index.get());
  if (flat == nullptr) {
    return absl::InvalidArgumentError("not a flat Faiss index (IndexFlat expected)");
  }
  if (flat->metric_type != faiss::METRIC_INNER_PRODUCT && flat->metric_type != faiss::METRIC_L2) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported flat index metric ", static_cast<int>(flat->metric_type)));
  }
  auto fast =
      std::make_unique<FastFlatIndex>(static_cast<int>(flat->d), flat->metric_type, options);
  fast->codes.swap(flat->codes);
  fast->ntotal = flat->ntotal;
  return fast;
}

namespace {

// Distances from one query to stored vectors, one vector at a time (graph searches).
class FastFlatDistanceComputer : public faiss::FlatCodesDistanceComputer {
 public:
  FastFlatDistanceComputer(const FastFlatIndex& index)
      : faiss::FlatCodesDistanceComputer(index.codes.data(), index.code_size),
        xb_(index.get_xb()),
        d_(static_cast<int>(index.d)),
        metric_(index.metric_type == faiss::METRIC_L2 ? model::Metric::kL2
                                                      : model::Metric::kInnerProduct),
        isa_(DetectKernelIsa()) {}

  void set_query(const float* x) override { query_ = x; }
  float distance_to_code(const uint8_t* code) override {
    float out;
    ComputeScores(reinterpret_cast<const float*>(code), 1, d_, metric_, query_, 1, &out, 1, isa_);
    return out;
  }
  float symmetric_dis(idx_t i, idx_t j) override {
    float out;
    ComputeScores(xb_ + i * d_, 1, d_, metric_, xb_ + j * d_, 1, &out, 1, isa_);
    return out;
  }

 private:
  const float* xb_;
  const float* query_ = nullptr;
  int d_;
  model::Metric metric_;
  KernelIsa isa_;
};

}  // namespace

faiss::FlatCodesDistanceComputer* FastFlatIndex::get_FlatCodesDistanceComputer() const {
  return new FastFlatDistanceComputer(*this);
}

void FastFlatIndex::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                           const faiss::SearchParameters* params) const {
  FAISS_THROW_IF_NOT(k > 0);
  static_assert(sizeof(idx_t) == sizeof(int64_t), "Faiss labels are 64-bit");
  if (params != nullptr && params->sel != nullptr) {
    const std::vector<int64_t> selected = SelectedLabels(*params->sel, ntotal);
    ExactSearchRows(
        get_xb(), selected.data(), static_cast<int64_t>(selected.size()), static_cast<int>(d),
        metric_type == faiss::METRIC_L2 ? model::Metric::kL2 : model::Metric::kInnerProduct, x, n,
        static_cast<int>(k), distances, reinterpret_cast<int64_t*>(labels), options_);
    return;
  }
  ExactSearch(get_xb(), ntotal, static_cast<int>(d),
              metric_type == faiss::METRIC_L2 ? model::Metric::kL2 : model::Metric::kInnerProduct,
              x, n, static_cast<int>(k), distances, reinterpret_cast<int64_t*>(labels), options_);
}

absl::Status UseFastQuantizer(faiss::Index* index) {
  if (auto* refine = dynamic_cast<faiss::IndexRefine*>(index)) index = refine->base_index;
  auto* ivf = dynamic_cast<faiss::IndexIVF*>(index);
  // Only a quantizer the IVF owns (always so after read_index) can be replaced.
  if (ivf == nullptr || !ivf->own_fields ||
      dynamic_cast<FastFlatIndex*>(ivf->quantizer) != nullptr ||
      dynamic_cast<faiss::IndexFlat*>(ivf->quantizer) == nullptr ||
      (ivf->quantizer->metric_type != faiss::METRIC_INNER_PRODUCT &&
       ivf->quantizer->metric_type != faiss::METRIC_L2)) {
    return absl::OkStatus();
  }
  std::unique_ptr<faiss::Index> quantizer(ivf->quantizer);
  ivf->quantizer = nullptr;
  absl::StatusOr<std::unique_ptr<FastFlatIndex>> fast = FastFlatIndex::Adopt(std::move(quantizer));
  if (!fast.ok()) return fast.status();  // unreachable: the guard above excludes what Adopt rejects
  ivf->quantizer = fast->release();
  return absl::OkStatus();
}

}  // namespace geoloc::index
