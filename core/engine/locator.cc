#include "core/engine/locator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/common/status_macros.h"
#include "core/engine/fusion.h"
#include "core/geo/estimator.h"
#include "core/model/preprocess.h"

namespace geoloc::engine {
namespace {

double MsSince(absl::Time start) { return absl::ToDoubleMilliseconds(absl::Now() - start); }

// Images per forward pass for in-process callers (memory stays bounded for large query sets).
constexpr int kInProcessBatch = 16;

}  // namespace

Locator::Locator(std::shared_ptr<const model::Encoder> encoder,
                 std::shared_ptr<const model::GradCam> grad_cam,
                 std::shared_ptr<const index::Bundle> bundle,
                 std::unique_ptr<const BundleClassifier> classifier)
    : encoder_(std::move(encoder)),
      grad_cam_(std::move(grad_cam)),
      bundle_(std::move(bundle)),
      classifier_(std::move(classifier)) {
  const auto& info = encoder_->info();
  model_version_ = absl::StrCat(info.name, "@", info.fingerprint.substr(0, 12));
}

absl::StatusOr<std::shared_ptr<const Locator>> Locator::Create(
    std::shared_ptr<const model::Encoder> encoder, std::shared_ptr<const model::GradCam> grad_cam,
    std::shared_ptr<const index::Bundle> bundle) {
  if (encoder == nullptr || bundle == nullptr) {
    return absl::InvalidArgumentError("a Locator needs an encoder and a bundle");
  }
  GEOLOC_RETURN_IF_ERROR(index::CheckModelMatches(bundle->manifest(), encoder->info()));
  if (grad_cam != nullptr && grad_cam->info().fingerprint != encoder->info().fingerprint) {
    return absl::InvalidArgumentError("the Grad-CAM model is not the encoder's model");
  }
  GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<const BundleClassifier> classifier,
                          BundleClassifier::Load(*bundle, encoder->info()));
  return std::shared_ptr<const Locator>(new Locator(std::move(encoder), std::move(grad_cam),
                                                    std::move(bundle), std::move(classifier)));
}

absl::StatusOr<std::shared_ptr<const Locator>> Locator::Load(
    std::shared_ptr<const model::Encoder> encoder, std::shared_ptr<const model::GradCam> grad_cam,
    const std::string& bundle_path, const index::BundleLoadOptions& options) {
  if (encoder == nullptr) return absl::InvalidArgumentError("a Locator needs an encoder");
  index::BundleLoadOptions opts = options;
  opts.expected_model = &encoder->info();
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const index::Bundle> bundle,
                          index::Bundle::Load(bundle_path, opts));
  return Create(std::move(encoder), std::move(grad_cam), std::move(bundle));
}

absl::Status Locator::Encode(const float* images, int n, float* descriptors) const {
  return encoder_->Encode(images, n, descriptors);
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> Locator::Search(
    absl::Span<const float> descriptors, int k, int nprobe, int ef_search) const {
  index::SearchParams sp;
  sp.k = k;
  sp.nprobe = nprobe;
  sp.ef_search = ef_search;
  return bundle_->Search(descriptors, sp);
}

absl::StatusOr<LocateResult> Locator::Finish(absl::Span<const float> descriptor,
                                             std::vector<index::Neighbor> neighbors,
                                             const LocateParams& params) const {
  const absl::Time start = absl::Now();
  neighbors.erase(std::remove_if(neighbors.begin(), neighbors.end(),
                                 [](const index::Neighbor& n) {
                                   return n.row < 0 || !std::isfinite(n.score);
                                 }),
                  neighbors.end());
  if (static_cast<int>(neighbors.size()) > params.k) neighbors.resize(params.k);
  if (neighbors.empty()) {
    return absl::FailedPreconditionError("the index returned no neighbours (is the bundle empty?)");
  }
  std::vector<geo::Neighbor> geo_neighbors(neighbors.size());
  std::vector<geo::LatLon> positions(neighbors.size());
  for (size_t i = 0; i < neighbors.size(); ++i) {
    positions[i] = geo::LatLon{neighbors[i].lat, neighbors[i].lon};
    geo_neighbors[i] = geo::Neighbor{positions[i], neighbors[i].score};
  }
  GEOLOC_ASSIGN_OR_RETURN(
      geo::Estimate estimate,
      geo::EstimateLocation(geo_neighbors, bundle_->score_kind(), params.estimator));

  LocateResult result;
  const geo::Peak& top = estimate.peaks.front();
  result.retrieval = LocationEstimate{top.pos, top.radius_km, top.mass};
  result.best = result.retrieval;
  GEOLOC_ASSIGN_OR_RETURN(result.cells,
                          RetrievalCellConfidences(positions, estimate.weights, params.cell_levels,
                                                   params.max_cells_per_level,
                                                   params.cell_polygons,
                                                   params.polygon_points_per_edge));
  result.peaks = std::move(estimate.peaks);
  if (static_cast<int>(result.peaks.size()) > params.max_peaks) {
    result.peaks.resize(params.max_peaks);
  }
  result.weights = std::move(estimate.weights);
  result.neighbors = std::move(neighbors);
  result.estimate_ms = MsSince(start);
  if (classifier_ != nullptr) {
    GEOLOC_RETURN_IF_ERROR(Classify(descriptor, params, &result));
  }
  return result;
}

absl::Status Locator::Classify(absl::Span<const float> descriptor, const LocateParams& params,
                               LocateResult* result) const {
  const absl::Time start = absl::Now();
  if (descriptor.size() != static_cast<size_t>(encoder_->info().dim)) {
    return absl::InvalidArgumentError(absl::StrCat("the classifier needs a ",
                                                   encoder_->info().dim, "-d descriptor, got ",
                                                   descriptor.size(), " floats"));
  }
  std::vector<float> probs(classifier_->num_classes());
  GEOLOC_RETURN_IF_ERROR(classifier_->Predict(descriptor.data(), 1, probs.data()));
  const ClassifierEstimate top = classifier_->Estimate(probs);
  result->classifier = LocationEstimate{top.pos, top.radius_km, top.probability};
  result->classifier_cells = classifier_->TopCells(probs, params.max_classifier_cells,
                                                   params.cell_polygons,
                                                   params.polygon_points_per_edge);
  // The fused answer (fusion.h): the peaks re-ranked by the classifier's leaf probabilities.
  std::vector<double> leaf_probability(result->peaks.size());
  for (size_t i = 0; i < result->peaks.size(); ++i) {
    leaf_probability[i] = classifier_->LeafProbabilityAt(probs, result->peaks[i].pos);
  }
  const FusedChoice fused =
      FusePeaks(result->peaks, leaf_probability, classifier_->num_classes());
  if (fused.peak >= 0) {
    const geo::Peak& p = result->peaks[fused.peak];
    result->best = LocationEstimate{p.pos, p.radius_km, fused.confidence};
  }
  result->classify_ms = MsSince(start);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LocateResult>> Locator::LocateImages(absl::Span<const cv::Mat> images,
                                                                const LocateParams& params) const {
  const model::ModelInfo& info = encoder_->info();
  const size_t image_floats = model::PreprocessedSize(info);
  std::vector<LocateResult> results;
  results.reserve(images.size());
  std::vector<float> batch;
  std::vector<float> descriptors;
  for (size_t begin = 0; begin < images.size(); begin += kInProcessBatch) {
    const int n = static_cast<int>(std::min<size_t>(kInProcessBatch, images.size() - begin));
    batch.resize(n * image_floats);
    for (int i = 0; i < n; ++i) {
      GEOLOC_RETURN_IF_ERROR(Annotate(
          model::PreprocessInto(images[begin + i], info, batch.data() + i * image_floats),
          absl::StrCat("image ", begin + i)));
    }
    descriptors.resize(static_cast<size_t>(n) * info.dim);
    GEOLOC_RETURN_IF_ERROR(Encode(batch.data(), n, descriptors.data()));
    GEOLOC_ASSIGN_OR_RETURN(auto hits, Search(descriptors, params.k, params.nprobe,
                                              params.ef_search));
    for (int i = 0; i < n; ++i) {
      GEOLOC_ASSIGN_OR_RETURN(
          LocateResult r,
          Finish(absl::MakeConstSpan(descriptors).subspan(static_cast<size_t>(i) * info.dim,
                                                          info.dim),
                 std::move(hits[i]), params));
      results.push_back(std::move(r));
    }
  }
  return results;
}

absl::StatusOr<std::vector<float>> Locator::RowDescriptors(absl::Span<const int64_t> rows) const {
  return bundle_->Reconstruct(rows);
}

}  // namespace geoloc::engine
