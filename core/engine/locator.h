// The Locator: one immutable snapshot {encoder, bundle} that turns images into answers:
// encode -> search -> estimate (spherical KDE by default) -> peaks -> S2 cell confidences, and,
// when the bundle has a cell classifier (bundle_classifier.h), its cells and a fused answer.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto locator, Locator::Load(encoder, grad_cam, "/bundles/v1", {}));
//   GEOLOC_ASSIGN_OR_RETURN(auto results, locator->LocateImages(images, params));
//
// Lifetime and threading: a Locator is immutable and every method is const and safe to call from
// many threads at once. It shares the encoder and Grad-CAM model (they outlive bundle swaps) and
// owns its bundle. The server keeps the current Locator in a SnapshotManager; a request holds the
// shared_ptr from start to end, so a swap never changes the bundle under a request, and the old
// bundle is freed when its last request ends.
//
// The stage API (Encode, Search, Finish) exists for the server's dynamic batcher: a batch of
// images is encoded in one forward pass and searched in one batched search; each request then
// finishes (estimator, cells) on its own. LocateImages() chains the stages for in-process callers
// (geoloc-eval, tests) and gives the same answers.
#ifndef GEOLOC_CORE_ENGINE_LOCATOR_H_
#define GEOLOC_CORE_ENGINE_LOCATOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/engine/bundle_classifier.h"
#include "core/engine/cell_confidence.h"
#include "core/engine/locate_params.h"
#include "core/geo/peak.h"
#include "core/index/bundle.h"
#include "core/model/encoder.h"
#include "core/model/grad_cam.h"
#include "opencv2/core.hpp"

namespace geoloc::engine {

// One answer to "where": a point, how sure, how far off it may be.
struct LocationEstimate {
  geo::LatLon pos;
  double uncertainty_km = 0;  // radius holding the estimator's mass_share of the probability
  double confidence = 0;      // probability mass behind the estimate, [0, 1]
};

struct LocateResult {
  LocationEstimate best;       // the answer: fused with a classifier (fusion.h), else retrieval
  LocationEstimate retrieval;  // the top peak
  std::optional<LocationEstimate> classifier;  // the most probable leaf cell (with a classifier)
  std::vector<geo::Peak> peaks;  // most probable first, at most params.max_peaks
  std::vector<CellConfidence> cells;  // retrieval cell confidences, per requested level
  std::vector<index::Neighbor> neighbors;  // the k retrieved neighbours, best first
  std::vector<double> weights;             // their normalised estimator weights
  // With a classifier: its cells (leaves and ancestors), most probable first, at most
  // params.max_classifier_cells.
  std::vector<CellConfidence> classifier_cells;
  double estimate_ms = 0;
  double classify_ms = 0;
};

struct ExplainTarget {
  enum class Kind { kPeak, kNeighbor, kCell };
  Kind kind = Kind::kPeak;
  int peak_index = 0;       // kPeak
  int64_t neighbor_id = 0;  // kNeighbor: a database id
  std::string cell_token;   // kCell
};

struct ExplainResult {
  ExplainTarget::Kind kind = ExplainTarget::Kind::kPeak;
  std::string description;   // human-readable: what was explained
  double score = 0;          // the target score (similarity or probability)
  cv::Mat saliency;          // CV_32FC1 in [0, 1], model input size, aligned with the crop
  std::string overlay_png;   // colour map over the model's view of the photo (may be empty)
  LocateResult locate;       // the Locate run the target refers to
  std::optional<geo::Peak> peak;
  std::optional<index::Neighbor> neighbor;
  std::optional<CellConfidence> cell;
  double explain_ms = 0;
};

class Locator {
 public:
  // Loads and verifies the bundle at `bundle_path` for `encoder` (dimension, metric and model
  // fingerprint must match: FAILED_PRECONDITION otherwise). `grad_cam` may be null (no Explain).
  static absl::StatusOr<std::shared_ptr<const Locator>> Load(
      std::shared_ptr<const model::Encoder> encoder,
      std::shared_ptr<const model::GradCam> grad_cam, const std::string& bundle_path,
      const index::BundleLoadOptions& options);
  // Wraps an already loaded bundle (checked against the encoder the same way). A bundle with a
  // cell classifier head gets it loaded and checked too (BundleClassifier::Load's errors).
  static absl::StatusOr<std::shared_ptr<const Locator>> Create(
      std::shared_ptr<const model::Encoder> encoder,
      std::shared_ptr<const model::GradCam> grad_cam, std::shared_ptr<const index::Bundle> bundle);

  const model::ModelInfo& model_info() const { return encoder_->info(); }
  const model::Encoder& encoder() const { return *encoder_; }
  const index::Bundle& bundle() const { return *bundle_; }
  std::shared_ptr<const index::Bundle> shared_bundle() const { return bundle_; }
  // "<name>@<first 12 hex digits of the fingerprint>".
  const std::string& model_version() const { return model_version_; }
  const std::string& bundle_version() const { return bundle_->version(); }
  bool can_explain() const { return grad_cam_ != nullptr; }
  // The bundle's cell classifier; null when the bundle has none.
  const BundleClassifier* classifier() const { return classifier_.get(); }

  // --- Stage API (the server's batcher) ---
  // images: n preprocessed images (model::PreprocessedSize floats each); out: n * dim floats.
  absl::Status Encode(const float* images, int n, float* descriptors) const;
  // One batched search for n descriptors: top `k` neighbours of each.
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> Search(
      absl::Span<const float> descriptors, int k, int nprobe, int ef_search) const;
  // Estimator, peaks and cells for one query. `neighbors` are its search results (at least
  // params.k of them are used when more were retrieved for the batch).
  absl::StatusOr<LocateResult> Finish(absl::Span<const float> descriptor,
                                      std::vector<index::Neighbor> neighbors,
                                      const LocateParams& params) const;

  // --- Whole pipeline, in-process ---
  absl::StatusOr<std::vector<LocateResult>> LocateImages(absl::Span<const cv::Mat> images,
                                                         const LocateParams& params) const;
  // Grad-CAM of what in `bgr` drove the target (see ExplainTarget). A cell of the bundle's
  // classifier is explained through the head (the cell's probability: its leaf's output, or the
  // sum over the leaves below it); any other cell, or every cell without a classifier, through
  // the mean similarity to the retrieved neighbours inside it. Errors: FAILED_PRECONDITION
  // without a Grad-CAM model; INVALID_ARGUMENT for a peak index beyond the peaks found or a
  // malformed cell token; NOT_FOUND for a neighbour id not in the bundle or a cell that is
  // neither a classifier cell nor holds a retrieved neighbour.
  absl::StatusOr<ExplainResult> Explain(const cv::Mat& bgr, const ExplainTarget& target,
                                        const LocateParams& params, bool render_overlay) const;

 private:
  Locator(std::shared_ptr<const model::Encoder> encoder,
          std::shared_ptr<const model::GradCam> grad_cam,
          std::shared_ptr<const index::Bundle> bundle,
          std::unique_ptr<const BundleClassifier> classifier);

  // The classifier's part of Finish: probabilities, cells, its estimate and the fused best.
  absl::Status Classify(absl::Span<const float> descriptor, const LocateParams& params,
                        LocateResult* result) const;
  // Explain for a cell of the classifier: Grad-CAM of the cell's probability through the head.
  absl::StatusOr<ExplainResult> ExplainClassifierCell(cells::CellId cell,
                                                      const std::vector<float>& image,
                                                      const cv::Mat& bgr,
                                                      const LocateParams& params,
                                                      bool render_overlay, absl::Time start,
                                                      ExplainResult result) const;
  // Grad-CAM of `target` for the preprocessed `image`; fills score, saliency and the overlay.
  absl::Status RunGradCam(const std::vector<float>& image, const cv::Mat& bgr,
                          const model::GradCamTarget& target, bool render_overlay,
                          ExplainResult* result) const;
  // Descriptors of bundle rows (exact for flat, approximate for PQ), rows.size() * dim floats.
  absl::StatusOr<std::vector<float>> RowDescriptors(absl::Span<const int64_t> rows) const;

  std::shared_ptr<const model::Encoder> encoder_;
  std::shared_ptr<const model::GradCam> grad_cam_;
  std::shared_ptr<const index::Bundle> bundle_;
  std::unique_ptr<const BundleClassifier> classifier_;
  std::string model_version_;
};

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_LOCATOR_H_
