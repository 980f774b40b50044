// The Locator: one immutable snapshot {model, bundle, cells, head} that owns a Locate:
// decode -> preprocess -> encode -> search -> estimate (spherical KDE by default) -> peaks -> S2
// cell confidences, and, when the bundle has a cell classifier (bundle_classifier.h), its cells
// and a fused answer.
//
//   SnapshotOptions options;  options.encoder = encoder;  options.grad_cam = grad_cam;
//   GEOLOC_ASSIGN_OR_RETURN(auto locator, Locator::Load("/bundles/v1", options));
//   GEOLOC_ASSIGN_OR_RETURN(auto results, locator->LocateImages(images, params));
//
// One way in for each job:
//   Load()          the one loader: options -> verified snapshot (the case table at Load)
//   DecodeImage()   uploaded bytes -> this model's decoded image (the server's Locate and Explain)
//   PrepareImage()  uploaded bytes -> this model's input (decode + preprocess)
//   LocateBatch()   the one encode -> search -> finish chain: a batch of prepared images in one
//                   forward pass and one batched search, then each image's estimate, cells,
//                   classifier and fusion. The server's pipeline runs it per batch (finishing on
//                   its estimate pool); LocateImages() and Explain() run it in-process.
//   Encode(), Search(), Finish()  its stages, for tools that search once and estimate many
//                   times (geoloc-eval's tuning)
//
// Lifetime and threading: a Locator is immutable and every method is const and safe to call from
// many threads at once. It shares the encoder and Grad-CAM model (they outlive bundle swaps) and
// owns its bundle and classifier. The server keeps the current Locator in a SnapshotManager; a
// request holds the shared_ptr from start to end, so a swap never changes the bundle under a
// request, and the old bundle is freed when its last request ends.
#ifndef GEOLOC_CORE_ENGINE_LOCATOR_H_
#define GEOLOC_CORE_ENGINE_LOCATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/calibration/calibrator.h"
#include "core/cells/area_region.h"
#include "core/engine/bundle_calibration.h"
#include "core/engine/bundle_classifier.h"
#include "core/engine/cell_confidence.h"
#include "core/engine/locate_params.h"
#include "core/geo/peak.h"
#include "core/index/bundle.h"
#include "core/index/thumbnails.h"
#include "core/model/encoder.h"
#include "core/model/grad_cam.h"
#include "core/places/gazetteer.h"
#include "core/places/place_description.h"
#include "opencv2/core.hpp"

namespace geoloc::engine {

struct IncidentOptions;  // incident.h
struct IncidentResult;   // incident.h

// One answer to "where": a point, how sure, how far off it may be.
struct LocationEstimate {
  geo::LatLon pos;
  double uncertainty_km = 0;  // radius holding the estimator's mass_share of the probability
  // The share of the evidence behind the estimate, [0, 1]: a peak's share of the neighbour weight
  // (or of the fused scores), the classifier's output for a leaf. Not a calibrated probability.
  double weight_share = 0;
  // The named place nearest to `pos`; unset without a gazetteer (place_names.h).
  std::optional<places::NamedPlace> place;
};

struct LocateResult {
  LocationEstimate best;       // the answer: fused with a classifier (fusion.h), else retrieval
  LocationEstimate retrieval;  // the top peak
  std::optional<LocationEstimate> classifier;  // the most probable leaf cell (with a classifier)
  std::vector<geo::Peak> peaks;  // most probable first, at most params.max_peaks
  // With a gazetteer: the named place nearest to each peak, parallel to `peaks`; else empty.
  std::vector<std::optional<places::NamedPlace>> peak_places;
  std::vector<CellConfidence> cells;  // retrieval cell confidences, per requested level
  std::vector<index::Neighbor> neighbors;  // the k retrieved neighbours, best first
  std::vector<double> weights;             // their normalised estimator weights
  // With params.neighbor_thumbnails and a bundle with thumbnails: each neighbour's JPEG,
  // parallel to `neighbors` (empty for a row without one); else empty.
  std::vector<std::string> neighbor_thumbnails;
  // With a classifier: its cells (leaves and ancestors), most probable first, at most
  // params.max_classifier_cells.
  std::vector<CellConfidence> classifier_cells;
  // What calibration reads besides the above: every peak's mass (before max_peaks), heaviest
  // first, and with a classifier every leaf cell and its probability.
  std::vector<double> peak_masses;
  std::vector<cells::CellId> classifier_leaves;
  std::vector<double> classifier_leaf_probabilities;
  // Set when the bundle's calibration has an entry for this answer's settings
  // (bundle_calibration.h): the confidence regions at params.region_levels, P(within t),
  // P(localizable). Unset: the answer is uncalibrated and claims no coverage.
  std::optional<calibration::CalibratedAnswer> calibration;
  // Calibrated and P(localizable) < params.abstain_below: the photo is declared not locatable
  // (everything else is still filled).
  bool abstained = false;
  // Stage times: the forward pass and the search of the image's batch, then its own finish.
  double encode_ms = 0;
  double search_ms = 0;
  double estimate_ms = 0;
  double classify_ms = 0;  // 0 without a classifier
  double calibrate_ms = 0;  // 0 when uncalibrated
};

// What Load() turns into a snapshot.
struct SnapshotOptions {
  std::shared_ptr<const model::Encoder> encoder;   // required; the model the bundle must match
  std::shared_ptr<const model::GradCam> grad_cam;  // of the same model; null: no Explain
  // How to read the bundle (checksums, mmap, threads, GPU placement). expected_model is ignored:
  // Load() sets it to the encoder's model.
  index::BundleLoadOptions bundle;
  // Names places in answers (place_names.h); null: answers carry no names. Shared by every
  // snapshot (it does not change on a bundle swap).
  std::shared_ptr<const places::Gazetteer> gazetteer;
};

// The forward pass and search times of one LocateBatch.
struct BatchTimes {
  double encode_ms = 0;
  double search_ms = 0;
};

// Told the batch's times once it is encoded and searched, before any image is finished (the
// server records its encode and search metrics here). May be empty.
using BatchSearched = std::function<void(const BatchTimes& times)>;
// Runs one image's finish. The server passes its estimate pool's Schedule; an empty runner
// finishes every image on the calling thread, in order, before LocateBatch returns.
using FinishRunner = std::function<void(std::function<void()> finish)>;
using ImageDone = std::function<void(size_t i, absl::StatusOr<LocateResult> result)>;

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
  std::optional<places::NamedPlace> peak_place;  // the peak's named place (with a gazetteer)
  std::optional<index::Neighbor> neighbor;
  std::optional<CellConfidence> cell;
  double explain_ms = 0;
};

class Locator {
 public:
  // The one loader. Checks, in order (the first failure is returned; nothing is served):
  //   problem                                       status
  //   no encoder                                    INVALID_ARGUMENT
  //   grad_cam of another model (fingerprint)       INVALID_ARGUMENT
  //   the bundle's own checks (index/bundle.h's     NOT_FOUND, DATA_LOSS, FAILED_PRECONDITION,
  //     table: manifest, files, SHA-256, shards,    INVALID_ARGUMENT as listed there
  //     metadata)
  //   the bundle was built with another model       FAILED_PRECONDITION naming both values
  //     (dim, metric, fingerprint): checked once,
  //     here, as Bundle::Load's expected_model,
  //     right after the manifest is read and
  //     before any file is hashed
  //   the cell classifier's cells and head          FAILED_PRECONDITION (bundle_classifier.h's
  //                                                 table)
  //   the thumbnails extra (thumbnails.h): another   FAILED_PRECONDITION, DATA_LOSS
  //     row count, a damaged table
  //   the calibration (calibration.json)            FAILED_PRECONDITION when unusable; fitted
  //                                                 for another model: loaded, uncalibrated,
  //                                                 logged (bundle_calibration.h's table)
  static absl::StatusOr<std::shared_ptr<const Locator>> Load(const std::string& bundle_path,
                                                             const SnapshotOptions& options);
  // The same, spelled out: Load(bundle_path, {encoder, grad_cam, bundle_options}).
  static absl::StatusOr<std::shared_ptr<const Locator>> Load(
      std::shared_ptr<const model::Encoder> encoder, std::shared_ptr<const model::GradCam> grad_cam,
      const std::string& bundle_path, const index::BundleLoadOptions& bundle_options);

  const model::ModelInfo& model_info() const { return encoder_->info(); }
  const model::Encoder& encoder() const { return *encoder_; }
  const index::Bundle& bundle() const { return *bundle_; }
  std::shared_ptr<const index::Bundle> shared_bundle() const { return bundle_; }
  // "<name>@<first 12 hex digits of the fingerprint>".
  const std::string& model_version() const { return model_version_; }
  const std::string& bundle_version() const { return bundle_->version(); }
  bool can_explain() const { return grad_cam_ != nullptr; }
  // The bundle's neighbour thumbnails; null when it has none (`geoloc-index build --thumbnails`).
  const index::ThumbnailStore* thumbnails() const { return thumbnails_.get(); }
  // The gazetteer naming places in answers; null when there is none.
  const places::Gazetteer* gazetteer() const { return gazetteer_.get(); }
  // The bundle's cell classifier; null when the bundle has none.
  const BundleClassifier* classifier() const { return classifier_.get(); }
  // The bundle's calibration (never null; empty when the bundle has none).
  const BundleCalibration& calibration() const { return *calibration_; }
  // The settings of an answer with `params` on this snapshot (bundle_calibration.h).
  calibration::EstimatorSettings AnswerSettingsFor(const LocateParams& params) const;

  // --- Image input ---
  // Decodes uploaded bytes for this model: reduced JPEG decoding down to the model's input size,
  // EXIF orientation, `max_pixels` checked on the header first (model/image_decoder.h).
  // INVALID_ARGUMENT for a broken image or a format geoloc cannot decode (DecodeImage's
  // UNIMPLEMENTED: the caller's input problem), RESOURCE_EXHAUSTED beyond the size limits.
  absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, int64_t max_pixels) const;
  // DecodeImage, then the model's preprocessing: model::PreprocessedSize(model_info()) floats,
  // the input of LocateBatch. Errors as DecodeImage's (preprocessing failures: INVALID_ARGUMENT).
  absl::StatusOr<std::vector<float>> PrepareImage(absl::string_view bytes,
                                                  int64_t max_pixels) const;

  // --- The Locate of a batch ---
  // `images` holds n = params.size() prepared images back to back. One forward pass and one
  // batched search (k, nprobe and ef_search: the largest any image asks for) of the images
  // without a hard search area; each image with one is searched alone among its area's rows
  // (AreaRows' errors become that image's result), and each with a soft area also inside its
  // prior's support (WithPriorSupport). Then `searched`
  // with their times, then each image's Finish with its own params through `run_finish`, and
  // done(i, result) once per image. INTERNAL ("encoder: ...", "search: ...") when the batch
  // cannot be encoded or searched, INVALID_ARGUMENT when `images` does not hold n prepared
  // images: then neither `searched` nor `done` is called. `params` must have passed
  // ValidateLocateParams. The Locator must outlive every finish (the server's jobs hold their
  // snapshot).
  absl::Status LocateBatch(absl::Span<const float> images, std::vector<LocateParams> params,
                           const BatchSearched& searched, const FinishRunner& run_finish,
                           ImageDone done) const;

  // --- Stages of LocateBatch ---
  // images: n prepared images (model::PreprocessedSize floats each); out: n * dim floats.
  absl::Status Encode(const float* images, int n, float* descriptors) const;
  // One batched search for n descriptors: top `k` neighbours of each, among `filter`'s rows
  // when given (a hard search area's, AreaRows).
  absl::StatusOr<std::vector<std::vector<index::Neighbor>>> Search(
      absl::Span<const float> descriptors, int k, int nprobe, int ef_search,
      const index::RowSet* filter = nullptr) const;
  // The bundle rows inside a search area (for a hard filter): INVALID_ARGUMENT
  // ("options: area.polygon: ...") for a shape cells::AreaRegion rejects, FAILED_PRECONDITION
  // ("options: area: no database photo lies inside ...") when the area holds none of the
  // bundle's photos: the answer is then this status, never a search outside the area.
  absl::StatusOr<index::RowSet> AreaRows(const geo::SearchArea& area) const;
  // The candidates of a soft area's answer: `global` (the query's search results; its first
  // params.k are kept) joined with the query's best params.k inside the prior's support
  // (geo::SoftPriorSupportKm), without duplicates, best score first. A support holding no photo
  // adds nothing. Requires params.area.soft().
  absl::StatusOr<std::vector<index::Neighbor>> WithPriorSupport(
      absl::Span<const float> descriptor, std::vector<index::Neighbor> global,
      const LocateParams& params) const;
  // Estimator, peaks, cells, classifier, fusion, calibration and place names for one query. `neighbors` are
  // its search results (at most params.k of them are used when more were retrieved for the
  // batch; up to 2 params.k for a soft area, WithPriorSupport's). A soft params.area multiplies
  // each neighbour's weight by its prior density (the peaks, cells and calibration then read the
  // weighted answer); a hard one was applied by the search (the neighbours are all inside it).
  absl::StatusOr<LocateResult> Finish(absl::Span<const float> descriptor,
                                      std::vector<index::Neighbor> neighbors,
                                      const LocateParams& params) const;

  // --- Whole pipeline, in-process ---
  // Decoded images, preprocessed and located in batches of 16 through LocateBatch; the first
  // failure is returned (a preprocessing failure names the image).
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

  // --- Incidents (incident.h, incident_locator.cc) ---
  // One answer for photos believed to show one place: `photos` are their own answers from this
  // snapshot with `params` (LocateBatch / LocateImages). Pools their evidence, then peaks, cells,
  // classifier fusion and calibration as Finish does, and each photo's support of each peak.
  // INVALID_ARGUMENT: an estimator other than the spherical KDE (only it has a density to pool),
  // or PoolIncidentEvidence's errors.
  absl::StatusOr<IncidentResult> CombineIncident(absl::Span<const LocateResult> photos,
                                                 const LocateParams& params,
                                                 const IncidentOptions& options) const;

 private:
  Locator(std::shared_ptr<const model::Encoder> encoder,
          std::shared_ptr<const model::GradCam> grad_cam,
          std::shared_ptr<const index::Bundle> bundle,
          std::unique_ptr<const BundleClassifier> classifier,
          std::unique_ptr<const BundleCalibration> calibration,
          std::unique_ptr<const index::ThumbnailStore> thumbnails,
          std::shared_ptr<const places::Gazetteer> gazetteer);

  // The classifier's part of Finish: probabilities, cells, its estimate and the fused best.
  absl::Status Classify(absl::Span<const float> descriptor, const LocateParams& params,
                        LocateResult* result) const;
  // The classifier's cells, estimate and fused best from its leaf probabilities.
  void ApplyClassifier(const std::vector<float>& probs, const LocateParams& params,
                       LocateResult* result) const;
  // Calibration's part of Finish, when the bundle has an entry for these params' settings; for an
  // incident's pooled answer (incident_photos >= 2), the entry's incident calibration for that
  // many photos (BundleCalibration::FindIncident), else none.
  absl::Status Calibrate(const LocateParams& params, LocateResult* result,
                         int incident_photos = 1) const;
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
  std::unique_ptr<const BundleCalibration> calibration_;
  std::unique_ptr<const index::ThumbnailStore> thumbnails_;
  std::shared_ptr<const places::Gazetteer> gazetteer_;
  cells::PointCellIndex points_;  // the bundle's photos by S2 leaf cell, for search areas
  std::string model_version_;
};

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_LOCATOR_H_
