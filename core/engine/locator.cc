#include "core/engine/locator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/common/status_macros.h"
#include "core/engine/fusion.h"
#include "core/engine/place_names.h"
#include "core/geo/estimator.h"
#include "core/model/image_decoder.h"
#include "core/model/preprocess.h"

namespace geoloc::engine {
namespace {

double MsSince(absl::Time start) { return absl::ToDoubleMilliseconds(absl::Now() - start); }

// Images per forward pass for in-process callers (memory stays bounded for large query sets).
constexpr size_t kInProcessBatch = 16;

static_assert(kMaxK == index::kMaxSearchK,
              "LocateParams' largest k must be the most a bundle search returns");

constexpr bool SameDefaultLevels() {
  constexpr size_t n = sizeof(kDefaultRegionLevels) / sizeof(kDefaultRegionLevels[0]);
  if (n != sizeof(calibration::kDefaultLevels) / sizeof(calibration::kDefaultLevels[0])) {
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    if (kDefaultRegionLevels[i] != calibration::kDefaultLevels[i]) return false;
  }
  return true;
}
static_assert(SameDefaultLevels(), "LocateParams' region levels must be calibration's defaults");

}  // namespace

Locator::Locator(std::shared_ptr<const model::Encoder> encoder,
                 std::shared_ptr<const model::GradCam> grad_cam,
                 std::shared_ptr<const index::Bundle> bundle,
                 std::unique_ptr<const BundleClassifier> classifier,
                 std::unique_ptr<const BundleCalibration> calibration,
                 std::unique_ptr<const index::ThumbnailStore> thumbnails,
                 std::shared_ptr<const places::Gazetteer> gazetteer)
    : encoder_(std::move(encoder)),
      grad_cam_(std::move(grad_cam)),
      bundle_(std::move(bundle)),
      classifier_(std::move(classifier)),
      calibration_(std::move(calibration)),
      thumbnails_(std::move(thumbnails)),
      gazetteer_(std::move(gazetteer)) {
  const auto& info = encoder_->info();
  model_version_ = absl::StrCat(info.name, "@", info.fingerprint.substr(0, 12));
  const index::MetadataTable& metadata = bundle_->metadata();
  std::vector<geo::LatLon> positions(metadata.size());
  for (int64_t r = 0; r < metadata.size(); ++r) positions[r] = {metadata.lat(r), metadata.lon(r)};
  points_ = cells::PointCellIndex::Build(positions);
}

absl::StatusOr<std::shared_ptr<const Locator>> Locator::Load(const std::string& bundle_path,
                                                             const SnapshotOptions& options) {
  if (options.encoder == nullptr) return absl::InvalidArgumentError("a Locator needs an encoder");
  const model::ModelInfo& model = options.encoder->info();
  if (options.grad_cam != nullptr && options.grad_cam->info().fingerprint != model.fingerprint) {
    return absl::InvalidArgumentError("the Grad-CAM model is not the encoder's model");
  }
  index::BundleLoadOptions bundle_options = options.bundle;
  bundle_options.expected_model = &model;  // the model match: checked here, once
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const index::Bundle> bundle,
                          index::Bundle::Load(bundle_path, bundle_options));
  GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<const BundleClassifier> classifier,
                          BundleClassifier::Load(*bundle, model));
  std::unique_ptr<const index::ThumbnailStore> thumbnails;
  if (bundle->HasExtra(index::kThumbnailsExtraName)) {
    GEOLOC_ASSIGN_OR_RETURN(std::string path, bundle->ExtraPath(index::kThumbnailsExtraName));
    GEOLOC_ASSIGN_OR_RETURN(thumbnails, index::ThumbnailStore::Open(path, bundle->size()));
  }
  GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<const BundleCalibration> calibration,
                          BundleCalibration::Load(*bundle, model));
  return std::shared_ptr<const Locator>(new Locator(options.encoder, options.grad_cam,
                                                    std::move(bundle), std::move(classifier),
                                                    std::move(calibration), std::move(thumbnails),
                                                    options.gazetteer));
}

absl::StatusOr<std::shared_ptr<const Locator>> Locator::Load(
    std::shared_ptr<const model::Encoder> encoder, std::shared_ptr<const model::GradCam> grad_cam,
    const std::string& bundle_path, const index::BundleLoadOptions& bundle_options) {
  SnapshotOptions options;
  options.encoder = std::move(encoder);
  options.grad_cam = std::move(grad_cam);
  options.bundle = bundle_options;
  return Load(bundle_path, options);
}

absl::StatusOr<cv::Mat> Locator::DecodeImage(absl::string_view bytes, int64_t max_pixels) const {
  const model::ModelInfo& info = encoder_->info();
  model::DecodeOptions options;
  options.max_pixels = max_pixels;
  options.target_min_side = std::min(info.input_height, info.input_width);
  absl::StatusOr<cv::Mat> bgr = model::DecodeImage(bytes, options);
  // Formats geoloc cannot decode (e.g. GIF) are the caller's input problem.
  if (bgr.status().code() == absl::StatusCode::kUnimplemented) {
    return absl::InvalidArgumentError(bgr.status().message());
  }
  return bgr;
}

absl::StatusOr<std::vector<float>> Locator::PrepareImage(absl::string_view bytes,
                                                         int64_t max_pixels) const {
  GEOLOC_ASSIGN_OR_RETURN(cv::Mat bgr, DecodeImage(bytes, max_pixels));
  const model::ModelInfo& info = encoder_->info();
  std::vector<float> pixels(model::PreprocessedSize(info));
  if (absl::Status st = model::PreprocessInto(bgr, info, pixels.data()); !st.ok()) {
    return absl::InvalidArgumentError(st.message());
  }
  return pixels;
}

absl::Status Locator::Encode(const float* images, int n, float* descriptors) const {
  return encoder_->Encode(images, n, descriptors);
}

absl::StatusOr<std::vector<std::vector<index::Neighbor>>> Locator::Search(
    absl::Span<const float> descriptors, int k, int nprobe, int ef_search,
    const index::RowSet* filter) const {
  index::SearchParams sp;
  sp.k = k;
  sp.nprobe = nprobe;
  sp.ef_search = ef_search;
  sp.filter = filter;
  return bundle_->Search(descriptors, sp);
}

absl::StatusOr<index::RowSet> Locator::AreaRows(const geo::SearchArea& area) const {
  absl::StatusOr<cells::AreaRegion> region = cells::AreaRegion::Build(area);
  if (!region.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("options: ", region.status().message()));
  }
  std::vector<int64_t> rows = points_.Select(*region);
  if (rows.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "options: area: no database photo lies inside the search area (%s, %.4g km2) in bundle "
        "%s; nothing outside it was searched",
        geo::DescribeSearchArea(area), region->AreaKm2(), bundle_->version()));
  }
  return index::RowSet(std::move(rows), bundle_->size());
}

absl::StatusOr<std::vector<index::Neighbor>> Locator::WithPriorSupport(
    absl::Span<const float> descriptor, std::vector<index::Neighbor> global,
    const LocateParams& params) const {
  if (static_cast<int>(global.size()) > params.k) global.resize(params.k);
  geo::SearchArea support = params.area;
  support.mode = geo::AreaMode::kHard;
  support.radius_km =
      std::min(geo::SoftPriorSupportKm(params.area.radius_km), geo::kAreaRadiusKmRange.max);
  absl::StatusOr<index::RowSet> rows = AreaRows(support);
  if (!rows.ok()) {
    if (rows.status().code() == absl::StatusCode::kFailedPrecondition) return global;
    return rows.status();
  }
  GEOLOC_ASSIGN_OR_RETURN(auto inside,
                          Search(descriptor, params.k, params.nprobe, params.ef_search, &*rows));
  std::vector<index::Neighbor> out = std::move(global);
  for (index::Neighbor& nb : inside.front()) {
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const index::Neighbor& o) { return o.row == nb.row; });
    if (!seen) out.push_back(std::move(nb));
  }
  const bool distance = bundle_->score_kind() == geo::ScoreKind::kDistance;
  std::stable_sort(out.begin(), out.end(),
                   [distance](const index::Neighbor& a, const index::Neighbor& b) {
                     return distance ? a.score < b.score : a.score > b.score;
                   });
  return out;
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
  const int keep = params.area.soft() ? 2 * params.k : params.k;  // WithPriorSupport's union
  if (static_cast<int>(neighbors.size()) > keep) neighbors.resize(keep);
  if (neighbors.empty()) {
    return absl::FailedPreconditionError("the index returned no neighbours (is the bundle empty?)");
  }
  std::vector<geo::Neighbor> geo_neighbors(neighbors.size());
  std::vector<geo::LatLon> positions(neighbors.size());
  std::vector<double> log_prior;  // a soft search area's density at each neighbour
  for (size_t i = 0; i < neighbors.size(); ++i) {
    positions[i] = geo::LatLon{neighbors[i].lat, neighbors[i].lon};
    geo_neighbors[i] = geo::Neighbor{positions[i], neighbors[i].score};
    if (params.area.soft()) log_prior.push_back(geo::SoftPriorLogWeight(params.area, positions[i]));
  }
  GEOLOC_ASSIGN_OR_RETURN(
      geo::Estimate estimate,
      geo::EstimateLocation(geo_neighbors, bundle_->score_kind(), params.estimator, log_prior));

  // A peak's mass is a sum of weights: one peak holding every neighbour (common under a small
  // hard area) can round to 1 + 2e-16, which is no probability and which calibration refuses.
  for (geo::Peak& p : estimate.peaks) p.mass = std::clamp(p.mass, 0.0, 1.0);
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
  result.peak_masses.reserve(result.peaks.size());
  for (const geo::Peak& p : result.peaks) result.peak_masses.push_back(p.mass);
  if (static_cast<int>(result.peaks.size()) > params.max_peaks) {
    result.peaks.resize(params.max_peaks);
  }
  result.weights = std::move(estimate.weights);
  if (params.neighbor_thumbnails && thumbnails_ != nullptr) {
    result.neighbor_thumbnails.reserve(neighbors.size());
    for (const index::Neighbor& n : neighbors) {
      result.neighbor_thumbnails.emplace_back(thumbnails_->Get(n.row));
    }
  }
  result.neighbors = std::move(neighbors);
  result.estimate_ms = MsSince(start);
  if (classifier_ != nullptr) {
    GEOLOC_RETURN_IF_ERROR(Classify(descriptor, params, &result));
  }
  GEOLOC_RETURN_IF_ERROR(Calibrate(params, &result));
  // Naming costs about 0.1 ms per answer (docs/BENCHMARKS.md "Place names"): no stage of its own.
  if (gazetteer_ != nullptr) NamePlaces(*gazetteer_, &result);
  return result;
}

calibration::EstimatorSettings Locator::AnswerSettingsFor(const LocateParams& params) const {
  return AnswerSettings(params, bundle_->score_kind(), classifier_ != nullptr);
}

absl::Status Locator::Calibrate(const LocateParams& params, LocateResult* result,
                                int incident_photos) const {
  const calibration::Calibrator* calibrator =
      calibration_->FindIncident(AnswerSettingsFor(params), incident_photos);
  if (calibrator == nullptr) return absl::OkStatus();
  const absl::Time start = absl::Now();
  absl::StatusOr<calibration::CalibratedAnswer> calibrated =
      CalibrateAnswer(*calibrator, *result, params);
  if (!calibrated.ok()) {
    return absl::InternalError(absl::StrCat("calibration: ", calibrated.status().message()));
  }
  result->abstained = calibrated->p_localizable < params.abstain_below;
  result->calibration = *std::move(calibrated);
  result->calibrate_ms = MsSince(start);
  return absl::OkStatus();
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
  ApplyClassifier(probs, params, result);
  result->classify_ms = MsSince(start);
  return absl::OkStatus();
}

void Locator::ApplyClassifier(const std::vector<float>& probs, const LocateParams& params,
                              LocateResult* result) const {
  const ClassifierEstimate top = classifier_->Estimate(probs);
  const int leaves = classifier_->num_classes();
  result->classifier_leaves.resize(leaves);
  result->classifier_leaf_probabilities.resize(leaves);
  for (int c = 0; c < leaves; ++c) {
    result->classifier_leaves[c] = classifier_->cells().leaf_node(c).id;
    result->classifier_leaf_probabilities[c] = probs[c];
  }
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
    result->best = LocationEstimate{p.pos, p.radius_km, fused.weight_share};
  }
}

absl::Status Locator::LocateBatch(absl::Span<const float> images, std::vector<LocateParams> params,
                                  const BatchSearched& searched, const FinishRunner& run_finish,
                                  ImageDone done) const {
  const model::ModelInfo& info = encoder_->info();
  const size_t n = params.size();
  if (n == 0 || images.size() != n * model::PreprocessedSize(info)) {
    return absl::InvalidArgumentError(absl::StrCat("LocateBatch: ", images.size(),
                                                   " floats are not ", n, " prepared images of ",
                                                   model::PreprocessedSize(info)));
  }
  // Shared by the finishes, which may run on other threads after this returns.
  struct Batch {
    std::vector<LocateParams> params;
    std::vector<float> descriptors;
    std::vector<std::vector<index::Neighbor>> hits;
    std::vector<absl::Status> area_errors;  // per image: AreaRows' error, else OK
    ImageDone done;
    BatchTimes times;
  };
  auto batch = std::make_shared<Batch>();
  int k = 1, nprobe = 0, ef_search = 0;
  for (const LocateParams& p : params) {
    if (p.area.hard()) continue;  // searched alone
    k = std::max(k, p.k);
    nprobe = std::max(nprobe, p.nprobe);
    ef_search = std::max(ef_search, p.ef_search);
  }
  batch->params = std::move(params);
  batch->done = std::move(done);
  batch->descriptors.resize(n * static_cast<size_t>(info.dim));

  const absl::Time t0 = absl::Now();
  if (absl::Status st = Encode(images.data(), static_cast<int>(n), batch->descriptors.data());
      !st.ok()) {
    return absl::InternalError(absl::StrCat("encoder: ", st.message()));
  }
  const absl::Time t1 = absl::Now();
  const size_t dim = static_cast<size_t>(info.dim);
  batch->hits.resize(n);
  batch->area_errors.assign(n, absl::OkStatus());
  std::vector<float> global_descriptors;  // the images without a hard area, searched together
  std::vector<size_t> global_images;
  for (size_t i = 0; i < n; ++i) {
    const LocateParams& p = batch->params[i];
    const auto descriptor = absl::MakeConstSpan(batch->descriptors).subspan(i * dim, dim);
    if (!p.area.hard()) {
      global_descriptors.insert(global_descriptors.end(), descriptor.begin(), descriptor.end());
      global_images.push_back(i);
      continue;
    }
    absl::StatusOr<index::RowSet> rows = AreaRows(p.area);
    if (!rows.ok()) {
      batch->area_errors[i] = rows.status();
      continue;
    }
    absl::StatusOr<std::vector<std::vector<index::Neighbor>>> hits =
        Search(descriptor, p.k, p.nprobe, p.ef_search, &*rows);
    if (!hits.ok()) return absl::InternalError(absl::StrCat("search: ", hits.status().message()));
    batch->hits[i] = std::move(hits->front());
  }
  if (!global_images.empty()) {
    absl::StatusOr<std::vector<std::vector<index::Neighbor>>> hits =
        Search(global_descriptors, k, nprobe, ef_search);
    if (!hits.ok()) return absl::InternalError(absl::StrCat("search: ", hits.status().message()));
    for (size_t j = 0; j < global_images.size(); ++j) {
      const size_t i = global_images[j];
      batch->hits[i] = std::move((*hits)[j]);
      if (!batch->params[i].area.soft()) continue;
      absl::StatusOr<std::vector<index::Neighbor>> joined =
          WithPriorSupport(absl::MakeConstSpan(batch->descriptors).subspan(i * dim, dim),
                           std::move(batch->hits[i]), batch->params[i]);
      if (!joined.ok()) {
        batch->area_errors[i] = joined.status();
        continue;
      }
      batch->hits[i] = *std::move(joined);
    }
  }
  batch->times.encode_ms = absl::ToDoubleMilliseconds(t1 - t0);
  batch->times.search_ms = MsSince(t1);
  if (searched) searched(batch->times);

  for (size_t i = 0; i < n; ++i) {
    std::function<void()> finish = [this, batch, i, dim] {
      if (!batch->area_errors[i].ok()) {
        batch->done(i, batch->area_errors[i]);
        return;
      }
      absl::StatusOr<LocateResult> result =
          Finish(absl::MakeConstSpan(batch->descriptors).subspan(i * dim, dim),
                 std::move(batch->hits[i]), batch->params[i]);
      if (result.ok()) {
        result->encode_ms = batch->times.encode_ms;
        result->search_ms = batch->times.search_ms;
      }
      batch->done(i, std::move(result));
    };
    if (run_finish) {
      run_finish(std::move(finish));
    } else {
      finish();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LocateResult>> Locator::LocateImages(absl::Span<const cv::Mat> images,
                                                                const LocateParams& params) const {
  const model::ModelInfo& info = encoder_->info();
  const size_t image_floats = model::PreprocessedSize(info);
  std::vector<LocateResult> results;
  results.reserve(images.size());
  std::vector<float> batch;
  std::vector<absl::StatusOr<LocateResult>> answers;
  for (size_t begin = 0; begin < images.size(); begin += kInProcessBatch) {
    const size_t n = std::min<size_t>(kInProcessBatch, images.size() - begin);
    batch.resize(n * image_floats);
    for (size_t i = 0; i < n; ++i) {
      GEOLOC_RETURN_IF_ERROR(Annotate(
          model::PreprocessInto(images[begin + i], info, batch.data() + i * image_floats),
          absl::StrCat("image ", begin + i)));
    }
    answers.assign(n, absl::UnknownError("not located"));
    GEOLOC_RETURN_IF_ERROR(LocateBatch(
        batch, std::vector<LocateParams>(n, params),
        /*searched=*/nullptr, /*run_finish=*/nullptr,
        [&answers](size_t i, absl::StatusOr<LocateResult> r) { answers[i] = std::move(r); }));
    for (absl::StatusOr<LocateResult>& answer : answers) {
      if (!answer.ok()) return answer.status();
      results.push_back(*std::move(answer));
    }
  }
  return results;
}

absl::StatusOr<std::vector<float>> Locator::RowDescriptors(absl::Span<const int64_t> rows) const {
  return bundle_->Reconstruct(rows);
}

}  // namespace geoloc::engine
