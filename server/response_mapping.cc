#include "server/response_mapping.h"

#include "server/request_options.h"

namespace geoloc::server {
namespace {

void SetLatLng(const geo::LatLon& p, geoloc::v1::LatLng* out) {
  out->set_latitude(p.lat);
  out->set_longitude(p.lon);
}

void SetEstimate(const engine::LocationEstimate& e, geoloc::v1::LocationEstimate* out) {
  SetLatLng(e.pos, out->mutable_location());
  out->set_uncertainty_km(e.uncertainty_km);
  out->set_confidence(e.confidence);
}

void SetPeak(const geo::Peak& p, geoloc::v1::Peak* out) {
  SetLatLng(p.pos, out->mutable_location());
  out->set_mass(p.mass);
  out->set_density(p.density);
  out->set_support(static_cast<uint32_t>(p.support));
  out->set_radius_km(p.radius_km);
}

void SetCell(const engine::CellConfidence& c, geoloc::v1::CellConfidence* out) {
  out->set_token(c.token);
  out->set_level(c.level);
  out->set_probability(c.probability);
  SetLatLng(c.center, out->mutable_center());
  for (const auto& v : c.polygon) SetLatLng(v, out->add_polygon());
}

void SetNeighbor(const index::Neighbor& n, geo::ScoreKind kind, geoloc::v1::Neighbor* out) {
  out->set_id(n.id);
  SetLatLng(geo::LatLon{n.lat, n.lon}, out->mutable_location());
  // The API speaks of similarity: L2 bundles report the negated distance (higher is better).
  out->set_similarity(kind == geo::ScoreKind::kDistance ? -n.score : n.score);
  out->set_source(n.source);
  out->set_group(n.group);
}

}  // namespace

void ToLocateResponse(const engine::LocateResult& r, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      geoloc::v1::LocateResponse* out) {
  SetEstimate(r.best, out->mutable_best());
  SetEstimate(r.retrieval, out->mutable_retrieval());
  if (r.classifier.has_value()) SetEstimate(*r.classifier, out->mutable_classifier());
  for (const auto& p : r.peaks) SetPeak(p, out->add_peaks());
  for (const auto& c : r.cells) SetCell(c, out->add_cells());
  for (const auto& c : r.classifier_cells) SetCell(c, out->add_classifier_cells());
  if (return_neighbors) {
    const geo::ScoreKind kind = locator.bundle().score_kind();
    for (const auto& n : r.neighbors) SetNeighbor(n, kind, out->add_neighbors());
  }
  out->set_model_version(locator.model_version());
  out->set_bundle_version(locator.bundle_version());
  out->set_estimator(ToProtoEstimator(params.estimator.kind));
}

void ToExplainResponse(const engine::ExplainResult& r, const engine::Locator& locator,
                       geoloc::v1::ExplainResponse* out) {
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
  if (r.peak) SetPeak(*r.peak, out->mutable_peak());
  if (r.neighbor) SetNeighbor(*r.neighbor, locator.bundle().score_kind(), out->mutable_neighbor());
  if (r.cell) SetCell(*r.cell, out->mutable_cell());
  out->set_model_version(locator.model_version());
  out->set_bundle_version(locator.bundle_version());
}

}  // namespace geoloc::server
