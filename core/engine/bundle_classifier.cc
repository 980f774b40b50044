#include "core/engine/bundle_classifier.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/cells/s2_cells.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"

namespace geoloc::engine {
namespace {

const index::ExtraEntry* FindExtra(const index::BundleManifest& manifest, absl::string_view name) {
  for (const index::ExtraEntry& e : manifest.extras()) {
    if (e.name() == name) return &e;
  }
  return nullptr;
}

double CircumradiusKm(cells::CellId id) {
  const geo::LatLon center = cells::CellCenter(id);
  double radius = 0;
  for (const geo::LatLon& v : cells::CellVertices(id)) {
    radius = std::max(radius, geo::HaversineKm(center, v));
  }
  return radius;
}

}  // namespace

BundleClassifier::BundleClassifier(cells::CellHierarchy cells,
                                   std::unique_ptr<model::DescriptorHead> head,
                                   model::CellHeadInfo info)
    : cells_(std::move(cells)), head_(std::move(head)), info_(std::move(info)) {
  leaf_radius_km_.resize(cells_.num_classes());
  for (int c = 0; c < cells_.num_classes(); ++c) {
    leaf_radius_km_[c] = CircumradiusKm(cells_.leaf_node(c).id);
  }
}

absl::StatusOr<std::unique_ptr<const BundleClassifier>> BundleClassifier::Load(
    const index::Bundle& bundle, const model::ModelInfo& model) {
  const index::ExtraEntry* cells_entry = FindExtra(bundle.manifest(), kCellsExtraName);
  const index::ExtraEntry* head_entry = FindExtra(bundle.manifest(), kHeadExtraName);
  if (head_entry == nullptr) return std::unique_ptr<const BundleClassifier>();
  const std::string where = absl::StrCat("bundle ", bundle.version());
  if (cells_entry == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " has a cell classifier head but no cells: its outputs cannot be "
                            "mapped to cells (run geoloc-cells generate and train again)"));
  }
  GEOLOC_ASSIGN_OR_RETURN(std::string cells_path, bundle.ExtraPath(kCellsExtraName));
  GEOLOC_ASSIGN_OR_RETURN(std::string head_path, bundle.ExtraPath(kHeadExtraName));
  GEOLOC_ASSIGN_OR_RETURN(std::string cells_json, ReadFileToString(cells_path));
  absl::StatusOr<cells::CellHierarchy> cells = cells::CellHierarchy::FromJson(cells_json);
  if (!cells.ok()) return Annotate(cells.status(), cells_path);
  absl::StatusOr<std::unique_ptr<model::DescriptorHead>> head =
      model::DescriptorHead::Load(head_path, model.dim);
  if (!head.ok()) return Annotate(head.status(), head_path);
  absl::StatusOr<model::CellHeadInfo> info = model::ParseCellHeadInfo((*head)->metadata());
  if (!info.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(head_path, ": not a cell classifier head: ", info.status().message()));
  }
  model::CellHeadContext context;
  context.cells = &*cells;
  context.cells_sha256 = cells_entry->sha256();
  context.model_fingerprint = model.fingerprint;
  context.descriptor_dim = model.dim;
  context.head_outputs = (*head)->num_outputs();
  absl::Status check = model::CheckCellHeadInfo(*info, context);
  if (!check.ok()) return Annotate(check, head_path);
  return Create(std::move(*cells), std::move(*head), std::move(*info));
}

absl::StatusOr<std::unique_ptr<const BundleClassifier>> BundleClassifier::Create(
    cells::CellHierarchy cells, std::unique_ptr<model::DescriptorHead> head,
    model::CellHeadInfo info) {
  if (head == nullptr || cells.num_classes() < 1 || head->num_outputs() != cells.num_classes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a cell classifier needs one head output per leaf cell: ", cells.num_classes(),
        " leaves, ", head == nullptr ? 0 : head->num_outputs(), " outputs"));
  }
  return std::unique_ptr<const BundleClassifier>(
      new BundleClassifier(std::move(cells), std::move(head), std::move(info)));
}

absl::Status BundleClassifier::Predict(const float* desc, int n, float* probs) const {
  return head_->Run(desc, n, probs);
}

std::vector<CellConfidence> BundleClassifier::TopCells(absl::Span<const float> probs,
                                                       int max_cells, bool with_polygons,
                                                       int points_per_edge) const {
  const std::vector<cells::CellNode>& nodes = cells_.nodes();
  // Parents precede children in nodes(), so one backward pass sums every subtree.
  std::vector<double> mass(nodes.size(), 0.0);
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    if (nodes[i].is_leaf()) mass[i] = probs[nodes[i].leaf_class];
    if (nodes[i].parent >= 0) mass[nodes[i].parent] += mass[i];
  }
  std::vector<int> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = std::min<size_t>(std::max(max_cells, 0), order.size());
  // nodes() is ordered by level then id, so the index breaks ties coarse-first, then by id.
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](int a, int b) {
    return mass[a] != mass[b] ? mass[a] > mass[b] : a < b;
  });
  std::vector<CellConfidence> top;
  top.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    top.push_back(DescribeCell(nodes[order[i]].id, mass[order[i]], with_polygons,
                               points_per_edge));
  }
  return top;
}

ClassifierEstimate BundleClassifier::Estimate(absl::Span<const float> probs) const {
  const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
  ClassifierEstimate estimate;
  estimate.leaf_class = best;
  estimate.pos = cells::CellCenter(cells_.leaf_node(best).id);
  estimate.radius_km = leaf_radius_km_[best];
  estimate.probability = probs[best];
  return estimate;
}

double BundleClassifier::LeafProbabilityAt(absl::Span<const float> probs,
                                           geo::LatLon point) const {
  const int leaf = cells_.LeafClassOf(point);
  return leaf < 0 ? 0.0 : probs[leaf];
}

absl::StatusOr<std::vector<int>> BundleClassifier::LeafClassesOf(cells::CellId cell) const {
  const int node = cells_.NodeIndex(cell);
  if (node < 0) {
    return absl::NotFoundError(absl::StrCat("cell ", cells::CellToken(cell),
                                            " is not one of the classifier's ",
                                            cells_.num_nodes(), " cells"));
  }
  std::vector<int> leaves;
  std::vector<int> stack = {node};
  while (!stack.empty()) {
    const cells::CellNode& n = cells_.nodes()[stack.back()];
    stack.pop_back();
    if (n.is_leaf()) leaves.push_back(n.leaf_class);
    stack.insert(stack.end(), n.children.begin(), n.children.end());
  }
  std::sort(leaves.begin(), leaves.end());
  return leaves;
}

}  // namespace geoloc::engine
