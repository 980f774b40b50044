#include "server/request_mapping.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace geoloc::server {
namespace {

using geoloc::v1::Estimator;

absl::StatusOr<geo::EstimatorKind> FromProtoEstimator(Estimator e, geo::EstimatorKind fallback) {
  switch (e) {
    case geoloc::v1::ESTIMATOR_UNSPECIFIED: return fallback;
    case geoloc::v1::ESTIMATOR_NEAREST: return geo::EstimatorKind::kNearest;
    case geoloc::v1::ESTIMATOR_MEAN: return geo::EstimatorKind::kMean;
    case geoloc::v1::ESTIMATOR_WEIGHTED_MEAN: return geo::EstimatorKind::kWeightedMean;
    case geoloc::v1::ESTIMATOR_GRID_KDE: return geo::EstimatorKind::kGridKde;
    case geoloc::v1::ESTIMATOR_SPHERICAL_KDE: return geo::EstimatorKind::kSphericalKde;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown estimator ", static_cast<int>(e)));
  }
}

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

geoloc::v1::Estimator ToProtoEstimator(geo::EstimatorKind kind) {
  switch (kind) {
    case geo::EstimatorKind::kNearest: return geoloc::v1::ESTIMATOR_NEAREST;
    case geo::EstimatorKind::kMean: return geoloc::v1::ESTIMATOR_MEAN;
    case geo::EstimatorKind::kWeightedMean: return geoloc::v1::ESTIMATOR_WEIGHTED_MEAN;
    case geo::EstimatorKind::kGridKde: return geoloc::v1::ESTIMATOR_GRID_KDE;
    case geo::EstimatorKind::kSphericalKde: return geoloc::v1::ESTIMATOR_SPHERICAL_KDE;
  }
  return geoloc::v1::ESTIMATOR_UNSPECIFIED;
}

absl::StatusOr<engine::LocateParams> ToLocateParams(const geoloc::v1::LocateOptions& o,
                                                    const engine::LocateParams& defaults,
                                                    int max_k) {
  engine::LocateParams p = defaults;
  if (o.k() != 0) {
    if (o.k() > static_cast<uint32_t>(max_k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("k = ", o.k(), " exceeds this server's limit of ", max_k));
    }
    p.k = static_cast<int>(o.k());
  }
  auto kind = FromProtoEstimator(o.estimator(), defaults.estimator.kind);
  if (!kind.ok()) return kind.status();
  p.estimator.kind = *kind;
  if (o.has_weight_exponent()) p.estimator.weight_exponent_m = o.weight_exponent();
  if (o.has_bandwidth_km()) p.estimator.bandwidth_km = o.bandwidth_km();
  if (o.has_sigma_deg()) p.estimator.sigma_deg = o.sigma_deg();
  if (o.has_merge_radius_km()) p.estimator.merge_radius_km = o.merge_radius_km();
  if (o.max_peaks() != 0) p.max_peaks = static_cast<int>(std::min<uint32_t>(o.max_peaks(), 1000));
  if (o.cell_levels_size() > 0) p.cell_levels.assign(o.cell_levels().begin(), o.cell_levels().end());
  if (o.max_cells_per_level() != 0) {
    p.max_cells_per_level = static_cast<int>(std::min<uint32_t>(o.max_cells_per_level(), 1000));
  }
  if (o.max_classifier_cells() != 0) {
    p.max_classifier_cells = static_cast<int>(std::min<uint32_t>(o.max_classifier_cells(), 100000));
  }
  p.cell_polygons = o.return_cell_polygons();
  for (double v : {p.estimator.weight_exponent_m, p.estimator.bandwidth_km, p.estimator.sigma_deg,
                   p.estimator.merge_radius_km}) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("estimator options must be finite");
  }
  absl::Status st = engine::ValidateLocateParams(p, max_k);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("options: ", st.message()));
  return p;
}

geoloc::v1::LocateOptions ToLocateOptions(const engine::LocateParams& p) {
  geoloc::v1::LocateOptions o;
  o.set_k(static_cast<uint32_t>(p.k));
  o.set_estimator(ToProtoEstimator(p.estimator.kind));
  o.set_weight_exponent(p.estimator.weight_exponent_m);
  o.set_bandwidth_km(p.estimator.bandwidth_km);
  o.set_sigma_deg(p.estimator.sigma_deg);
  o.set_merge_radius_km(geo::EffectiveMergeRadiusKm(p.estimator));
  o.set_max_peaks(static_cast<uint32_t>(p.max_peaks));
  for (int level : p.cell_levels) o.add_cell_levels(level);
  o.set_max_cells_per_level(static_cast<uint32_t>(p.max_cells_per_level));
  o.set_max_classifier_cells(static_cast<uint32_t>(p.max_classifier_cells));
  return o;
}

void ToLocateResponse(const engine::LocateResult& r, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      geoloc::v1::LocateResponse* out) {
  SetEstimate(r.best, out->mutable_best());
  SetEstimate(r.retrieval, out->mutable_retrieval());
  for (const auto& p : r.peaks) SetPeak(p, out->add_peaks());
  for (const auto& c : r.cells) SetCell(c, out->add_cells());
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
