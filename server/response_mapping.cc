#include "server/response_mapping.h"

#include <optional>
#include <string>

#include "core/calibration/record.h"
#include "core/cells/s2_cells.h"
#include "core/common/json_proto.h"
#include "proto/estimator_mapping.h"
#include "server/request_options.h"

namespace geoloc::server {
namespace {

void SetLatLng(const geo::LatLon& p, geoloc::v1::LatLng* out) {
  out->set_latitude(p.lat);
  out->set_longitude(p.lon);
}

// Leaves `out` unset when the point has no name (no gazetteer).
void SetPlace(const std::optional<places::NamedPlace>& place, geoloc::v1::Place* out) {
  if (!place.has_value()) return;
  out->set_description(place->description);
  out->set_name(place->name);
  out->set_region(place->region);
  out->set_country(place->country);
  out->set_country_code(place->country_code);
  SetLatLng(place->location, out->mutable_location());
  out->set_distance_km(place->distance_km);
  out->set_bearing_deg(place->bearing_deg);
  out->set_population(place->population);
}

void SetEstimate(const engine::LocationEstimate& e, geoloc::v1::LocationEstimate* out) {
  SetLatLng(e.pos, out->mutable_location());
  out->set_uncertainty_km(e.uncertainty_km);
  out->set_weight_share(e.weight_share);
  if (e.place.has_value()) SetPlace(e.place, out->mutable_place());
}

void SetPeak(const geo::Peak& p, const std::optional<places::NamedPlace>& place,
             geoloc::v1::Peak* out) {
  SetLatLng(p.pos, out->mutable_location());
  out->set_mass(p.mass);
  out->set_density(p.density);
  out->set_support(static_cast<uint32_t>(p.support));
  out->set_radius_km(p.radius_km);
  if (place.has_value()) SetPlace(place, out->mutable_place());
}

void SetCell(const engine::CellConfidence& c, geoloc::v1::CellConfidence* out) {
  out->set_token(c.token);
  out->set_level(c.level);
  out->set_weight_share(c.weight_share);
  SetLatLng(c.center, out->mutable_center());
  for (const auto& v : c.polygon) SetLatLng(v, out->add_polygon());
  if (c.place.has_value()) SetPlace(c.place, out->mutable_place());
}

void SetRing(absl::Span<const geo::LatLon> ring, geoloc::v1::Ring* out) {
  for (const geo::LatLon& v : ring) SetLatLng(v, out->add_vertices());
}

void SetRegion(const calibration::ConfidenceRegion& r, bool with_cells,
               geoloc::v1::ConfidenceRegion* out) {
  out->set_level(r.level);
  out->set_guaranteed_coverage(r.guaranteed_coverage);
  out->set_whole_sphere(r.whole_sphere);
  out->set_area_km2(r.area_km2);
  out->set_boundary_area_km2(r.boundary_area_km2);
  for (const cells::CellUnionPiece& piece : r.pieces) {
    auto* p = out->add_pieces();
    p->set_area_km2(piece.area_km2);
    SetRing(piece.exterior, p->mutable_exterior());
    for (const auto& hole : piece.holes) SetRing(hole, p->add_holes());
  }
  if (with_cells) {
    for (cells::CellId id : r.cells) out->add_cell_tokens(cells::CellToken(id));
  }
}

// The calibrated part of an answer (docs/CALIBRATION.md). Uncalibrated answers carry only
// calibrated = false: no region, no probability.
void SetCalibration(const engine::LocateResult& r, const engine::LocateParams& params,
                    geoloc::v1::LocateResponse* out) {
  out->set_abstain_below(params.abstain_below);
  if (!r.calibration.has_value()) {
    out->set_calibrated(false);
    return;
  }
  const calibration::CalibratedAnswer& c = *r.calibration;
  out->set_calibrated(c.calibrated);
  for (const calibration::ConfidenceRegion& region : c.regions) {
    SetRegion(region, params.region_cells, out->add_regions());
  }
  for (const calibration::WithinProbability& w : c.within) {
    auto* p = out->add_within();
    p->set_threshold_km(w.threshold_km);
    p->set_probability(w.probability);
    p->set_predictive_mass(w.raw_mass);
  }
  out->set_localizable_probability(c.p_localizable);
  out->set_abstained(r.abstained);
  out->set_score_group(static_cast<uint32_t>(c.score_group));
}

void SetCalibrationSplit(const calibration::proto::SplitInfo& s,
                         geoloc::v1::CalibrationSplit* out) {
  out->set_name(s.name());
  out->set_photos(static_cast<uint32_t>(s.photos()));
  out->set_photos_with_place(static_cast<uint32_t>(s.with_truth()));
}

// What GetStatus says about the served bundle's calibration, and whether the server's default
// options are calibrated.
void SetCalibrationStatus(const engine::Locator& locator, const engine::LocateParams& defaults,
                          geoloc::v1::CalibrationStatus* out) {
  const engine::BundleCalibration& bc = locator.calibration();
  for (double level : defaults.region_levels) out->add_region_levels(level);
  out->set_abstain_below(defaults.abstain_below);
  out->set_region_cells_per_level(static_cast<uint32_t>(defaults.region_cells_per_level));
  out->set_present(bc.present());
  const calibration::EstimatorSettings served = locator.AnswerSettingsFor(defaults);
  if (absl::Status st = bc.CheckServes(served); !st.ok()) {
    out->set_problem(std::string(st.message()));
  }
  if (!bc.present()) return;
  out->set_created_by(bc.file().created_by());
  for (const calibration::proto::CalibrationEntry& entry : bc.file().entries()) {
    auto* e = out->add_entries();
    absl::StatusOr<calibration::EstimatorSettings> s =
        calibration::SettingsFromProto(entry.settings());
    e->set_settings(s.ok() ? calibration::DescribeSettings(*s) : "(unreadable settings)");
    SetCalibrationSplit(entry.fit_split(), e->mutable_fit_split());
    SetCalibrationSplit(entry.calibration_split(), e->mutable_calibration_split());
    for (const auto& group : entry.score_groups()) {
      e->add_score_group_sizes(static_cast<uint32_t>(group.scores_size()));
    }
    e->set_serves_defaults(bc.problem().empty() &&
                           calibration::CheckSettings(entry.settings(), served).ok());
  }
}

void SetTimings(const StageTimes& t, double total_ms, geoloc::v1::StageTimings* out) {
  out->set_decode_ms(t.decode_ms);
  out->set_queue_ms(t.queue_ms);
  out->set_encode_ms(t.encode_ms);
  out->set_search_ms(t.search_ms);
  out->set_estimate_ms(t.estimate_ms);
  out->set_classify_ms(t.classify_ms);
  out->set_calibrate_ms(t.calibrate_ms);
  out->set_batch_size(static_cast<uint32_t>(t.batch_size));
  out->set_total_ms(total_ms);
}

void SetNeighbor(const index::Neighbor& n, geo::ScoreKind kind, absl::string_view thumbnail,
                 geoloc::v1::Neighbor* out) {
  out->set_id(n.id);
  SetLatLng(geo::LatLon{n.lat, n.lon}, out->mutable_location());
  // The API speaks of similarity: L2 bundles report the negated distance (higher is better).
  out->set_similarity(kind == geo::ScoreKind::kDistance ? -n.score : n.score);
  out->set_source(n.source);
  out->set_group(n.group);
  if (!thumbnail.empty()) out->set_thumbnail_jpeg(std::string(thumbnail));
}

}  // namespace

void ToLocateResponse(const engine::LocateResult& r, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      const StageTimes& times, double total_ms, geoloc::v1::LocateResponse* out) {
  SetEstimate(r.best, out->mutable_best());
  SetEstimate(r.retrieval, out->mutable_retrieval());
  if (r.classifier.has_value()) SetEstimate(*r.classifier, out->mutable_classifier());
  for (size_t i = 0; i < r.peaks.size(); ++i) {
    SetPeak(r.peaks[i], i < r.peak_places.size() ? r.peak_places[i] : std::nullopt,
            out->add_peaks());
  }
  for (const auto& c : r.cells) SetCell(c, out->add_cells());
  for (const auto& c : r.classifier_cells) SetCell(c, out->add_classifier_cells());
  if (return_neighbors) {
    const geo::ScoreKind kind = locator.bundle().score_kind();
    for (size_t i = 0; i < r.neighbors.size(); ++i) {
      SetNeighbor(r.neighbors[i], kind,
                  i < r.neighbor_thumbnails.size() ? r.neighbor_thumbnails[i] : "",
                  out->add_neighbors());
    }
  }
  out->set_model_version(locator.model_version());
  out->set_bundle_version(locator.bundle_version());
  out->set_estimator(api::EstimatorToProto(params.estimator.kind));
  SetCalibration(r, params, out);
  SetTimings(times, total_ms, out->mutable_timings());
}

void ToExplainResponse(const engine::ExplainResult& r, const engine::Locator& locator,
                       double decode_ms, double total_ms, geoloc::v1::ExplainResponse* out) {
  using geoloc::v1::ExplainResponse;
  switch (r.kind) {
    case engine::ExplainTarget::Kind::kPeak:
      out->set_target_kind(ExplainResponse::TARGET_KIND_PEAK);
      break;
    case engine::ExplainTarget::Kind::kNeighbor:
      out->set_target_kind(ExplainResponse::TARGET_KIND_NEIGHBOR);
      break;
    case engine::ExplainTarget::Kind::kCell:
      out->set_target_kind(ExplainResponse::TARGET_KIND_CELL);
      break;
  }
  out->set_target_description(r.description);
  out->set_target_score(r.score);
  const cv::Mat& map = r.saliency;
  out->set_width(static_cast<uint32_t>(map.cols));
  out->set_height(static_cast<uint32_t>(map.rows));
  auto* values = out->mutable_saliency();
  values->Reserve(map.rows * map.cols);
  for (int y = 0; y < map.rows; ++y) {
    const float* row = map.ptr<float>(y);
    values->Add(row, row + map.cols);
  }
  out->set_overlay_png(r.overlay_png);
  if (r.peak) SetPeak(*r.peak, r.peak_place, out->mutable_peak());
  if (r.neighbor) {
    SetNeighbor(*r.neighbor, locator.bundle().score_kind(), "", out->mutable_neighbor());
  }
  if (r.cell) SetCell(*r.cell, out->mutable_cell());
  out->set_model_version(locator.model_version());
  out->set_bundle_version(locator.bundle_version());
  auto* t = out->mutable_timings();
  t->set_decode_ms(decode_ms);
  t->set_explain_ms(r.explain_ms);
  t->set_total_ms(total_ms);
}

void SetItemStatus(const absl::Status& status, geoloc::v1::LocateStreamResponse* out) {
  out->mutable_status()->set_code(static_cast<int>(status.code()));
  out->mutable_status()->set_message(std::string(status.message()));
}

void ToSwapIndexResponse(const SnapshotManager<engine::Locator>::SwapResult& swap,
                         geoloc::v1::SwapIndexResponse* out) {
  const engine::Locator& current = *swap.current;
  out->set_bundle_version(current.bundle_version());
  if (swap.previous) out->set_previous_bundle_version(swap.previous->bundle_version());
  out->set_vector_count(current.bundle().size());
  out->set_load_seconds(swap.load_seconds);
}

void ToStatusResponse(const ServerState& state, geoloc::v1::GetStatusResponse* out) {
  const ServerConfig& config = *state.config;
  out->set_serving(state.serving);
  out->set_server_version(kServerVersion);
  out->set_uptime_seconds(state.uptime_seconds);
  if (state.encoder != nullptr) {
    const model::ModelInfo& info = state.encoder->info();
    auto* m = out->mutable_model();
    m->set_name(info.name);
    m->set_backbone(info.backbone);
    m->set_head(info.head);
    m->set_dim(static_cast<uint32_t>(info.dim));
    m->set_metric(std::string(model::MetricName(info.metric)));
    m->set_fingerprint(info.fingerprint);
    m->set_input_height(static_cast<uint32_t>(info.input_height));
    m->set_input_width(static_cast<uint32_t>(info.input_width));
    m->set_precision(std::string(model::PrecisionName(state.encoder->precision())));
    m->set_device(state.encoder->device());
  }
  if (state.snapshot != nullptr) {
    const index::Bundle& bundle = state.snapshot->bundle();
    auto* b = out->mutable_bundle();
    b->set_path(bundle.path());
    b->set_version(bundle.version());
    b->set_vector_count(bundle.size());
    b->set_shard_count(static_cast<uint32_t>(bundle.num_shards()));
    b->set_index_type(bundle.manifest().index().type());
    b->set_created_at(bundle.manifest().created_at());
    b->set_has_cells(bundle.HasExtra(engine::kCellsExtraName));
    b->set_has_classifier(bundle.HasExtra(engine::kHeadExtraName));
    if (const index::ThumbnailStore* thumbnails = state.snapshot->thumbnails()) {
      b->set_has_thumbnails(true);
      b->set_thumbnail_max_side(static_cast<uint32_t>(thumbnails->max_side()));
    }
    if (auto json = ToJsonString(bundle.manifest()); json.ok()) b->set_manifest_json(*json);
    SetCalibrationStatus(*state.snapshot, config.defaults, b->mutable_calibration());
  }
  if (state.gazetteer != nullptr) {
    auto* g = out->mutable_gazetteer();
    g->set_loaded(true);
    g->set_path(config.gazetteer_path);
    g->set_places(static_cast<uint32_t>(state.gazetteer->size()));
    g->set_source(state.gazetteer->source());
    g->set_attribution(state.gazetteer->attribution());
    g->set_license(state.gazetteer->license());
  } else {
    out->mutable_gazetteer()->set_loaded(false);
  }
  const SwapRecord& swap = state.last_swap;
  if (swap.attempted) {
    auto* s = out->mutable_last_swap();
    s->set_bundle_path(swap.path);
    s->set_ok(swap.status.ok());
    s->set_message(swap.status.ok() ? "ok" : std::string(swap.status.message()));
    s->set_unix_time(absl::ToDoubleSeconds(swap.time - absl::UnixEpoch()));
    s->set_load_seconds(swap.load_seconds);
    s->set_trigger(swap.trigger);
  }
  *out->mutable_defaults() = ToLocateOptions(config.defaults);
  out->set_max_batch(static_cast<uint32_t>(config.max_batch));
  out->set_max_batch_wait_ms(config.max_batch_wait_ms);
  out->set_queue_capacity(static_cast<uint32_t>(config.queue_capacity));
  out->set_queue_depth(static_cast<uint32_t>(state.queue_depth));
  out->set_in_flight(static_cast<uint32_t>(state.in_flight));
}

}  // namespace geoloc::server
