// A bundle's cell classifier at serving time: its adaptive cells ("cells" extra, cells.json) and
// the head trained on them ("head" extra, head.pt), loaded together and checked against each other
// and the served encoder (docs/CLASSIFIER.md "Serving").
//
//   GEOLOC_ASSIGN_OR_RETURN(auto classifier, BundleClassifier::Load(*bundle, encoder->info()));
//   if (classifier != nullptr) {  // null: the bundle has no head
//     std::vector<float> probs(classifier->num_classes());
//     GEOLOC_RETURN_IF_ERROR(classifier->Predict(descriptor.data(), 1, probs.data()));
//     std::vector<CellConfidence> top = classifier->TopCells(probs, 10, false, 8);
//   }
//
// Bundle extras -> result of Load:
//   | cells | head | result                                                                   |
//   | no    | no   | nullptr (retrieval only)                                                 |
//   | yes   | no   | nullptr (cells alone are for tools; nothing to serve)                    |
//   | no    | yes  | FAILED_PRECONDITION: the head's outputs mean nothing without its cells   |
//   | yes   | yes  | the classifier, or FAILED_PRECONDITION when CheckCellHeadInfo refuses    |
//   |       |      | (other cells, another encoder, another descriptor size)                  |
//
// Lifetime and threading: immutable after Load; every method is const and safe from many threads
// (DescriptorHead::Run is). A Locator owns one per bundle, so a hot-swap swaps vectors, cells and
// head together.
#ifndef GEOLOC_CORE_ENGINE_BUNDLE_CLASSIFIER_H_
#define GEOLOC_CORE_ENGINE_BUNDLE_CLASSIFIER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/cells/cell_hierarchy.h"
#include "core/engine/cell_confidence.h"
#include "core/geo/lat_lon.h"
#include "core/index/bundle.h"
#include "core/model/cell_head_info.h"
#include "core/model/descriptor_head.h"
#include "core/model/model_info.h"

namespace geoloc::engine {

inline constexpr char kCellsExtraName[] = "cells";
inline constexpr char kHeadExtraName[] = "head";

// The classifier's own answer: the most probable leaf cell.
struct ClassifierEstimate {
  geo::LatLon pos;             // the leaf's centre
  double radius_km = 0;        // centre to the farthest vertex (the cell's circumradius)
  double probability = 0;      // the leaf's probability
  int leaf_class = -1;
};

class BundleClassifier {
 public:
  // See the table above. Errors name the bundle and the extra.
  static absl::StatusOr<std::unique_ptr<const BundleClassifier>> Load(
      const index::Bundle& bundle, const model::ModelInfo& model);
  // From parts already checked against each other (Load runs CheckCellHeadInfo first), e.g. in a
  // benchmark. INVALID_ARGUMENT when the head's outputs are not one per leaf of `cells`.
  static absl::StatusOr<std::unique_ptr<const BundleClassifier>> Create(
      cells::CellHierarchy cells, std::unique_ptr<model::DescriptorHead> head,
      model::CellHeadInfo info);

  const cells::CellHierarchy& cells() const { return cells_; }
  const model::DescriptorHead& head() const { return *head_; }
  const model::CellHeadInfo& info() const { return info_; }
  int num_classes() const { return cells_.num_classes(); }

  // desc: n * input_dim floats; probs: n * num_classes() floats (rows sum to 1).
  absl::Status Predict(const float* desc, int n, float* probs) const;

  // Every cell of the hierarchy (leaves and internal nodes) with its marginal probability (the
  // sum over the leaves below it), the `max_cells` most probable first (ties: coarser level
  // first, then lower cell id). `probs` holds num_classes() floats.
  std::vector<CellConfidence> TopCells(absl::Span<const float> probs, int max_cells,
                                       bool with_polygons, int points_per_edge) const;
  ClassifierEstimate Estimate(absl::Span<const float> probs) const;

  // The probability `probs` gives the leaf holding `point` (0 outside every kept leaf).
  double LeafProbabilityAt(absl::Span<const float> probs, geo::LatLon point) const;
  // The output indices whose sum is the probability of `cell`: a leaf's own class, or all leaves
  // below an internal node. NOT_FOUND when `cell` is not a cell of the hierarchy.
  absl::StatusOr<std::vector<int>> LeafClassesOf(cells::CellId cell) const;

 private:
  BundleClassifier(cells::CellHierarchy cells, std::unique_ptr<model::DescriptorHead> head,
                   model::CellHeadInfo info);

  cells::CellHierarchy cells_;
  std::unique_ptr<model::DescriptorHead> head_;
  model::CellHeadInfo info_;
  std::vector<double> leaf_radius_km_;  // per leaf class
};

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_BUNDLE_CLASSIFIER_H_
