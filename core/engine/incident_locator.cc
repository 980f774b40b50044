// Locator::CombineIncident: pooled evidence (incident.h) -> one answer, the way Finish turns one
// photo's neighbours into one.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/status_macros.h"
#include "core/engine/incident.h"
#include "core/engine/locator.h"
#include "core/engine/place_names.h"
#include "core/geo/spherical_kde.h"

namespace geoloc::engine {

absl::StatusOr<IncidentResult> Locator::CombineIncident(absl::Span<const LocateResult> photos,
                                                        const LocateParams& params,
                                                        const IncidentOptions& options) const {
  const absl::Time start = absl::Now();
  if (params.estimator.kind != geo::EstimatorKind::kSphericalKde) {
    return absl::InvalidArgumentError(
        "an incident pools the photos' densities: use the spherical KDE estimator");
  }
  if (!(options.dissent_ratio >= 0 && options.dissent_ratio <= 1)) {
    return absl::InvalidArgumentError("dissent_ratio must be in [0, 1]");
  }
  GEOLOC_ASSIGN_OR_RETURN(PooledEvidence pooled,
                          PoolIncidentEvidence(photos, params.estimator.bandwidth_km, options));
  std::vector<geo::LatLon> positions;
  positions.reserve(pooled.neighbors.size());
  for (const index::Neighbor& n : pooled.neighbors) positions.push_back(geo::LatLon{n.lat, n.lon});
  GEOLOC_ASSIGN_OR_RETURN(std::vector<geo::Peak> peaks,
                          geo::FindSphericalKdePeaks(positions, pooled.weights, params.estimator));
  if (peaks.empty()) return absl::InternalError("the pooled density has no peak");
  // The pooled weights sum to 1 only up to rounding; a one-peak answer must not say 1 + 2e-16.
  for (geo::Peak& p : peaks) p.mass = std::clamp(p.mass, 0.0, 1.0);

  IncidentResult out;
  LocateResult& result = out.combined;
  const geo::Peak& top = peaks.front();
  result.retrieval = LocationEstimate{top.pos, top.radius_km, top.mass};
  result.best = result.retrieval;
  GEOLOC_ASSIGN_OR_RETURN(result.cells,
                          RetrievalCellConfidences(positions, pooled.weights, params.cell_levels,
                                                   params.max_cells_per_level,
                                                   params.cell_polygons,
                                                   params.polygon_points_per_edge));
  for (const geo::Peak& p : peaks) result.peak_masses.push_back(p.mass);
  if (static_cast<int>(peaks.size()) > params.max_peaks) peaks.resize(params.max_peaks);
  result.peaks = std::move(peaks);
  result.weights = pooled.weights;
  result.neighbors = pooled.neighbors;
  for (const LocateResult& p : photos) {
    result.encode_ms += p.encode_ms;
    result.search_ms += p.search_ms;
  }
  result.estimate_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (classifier_ != nullptr && !pooled.classifier_leaf_probabilities.empty()) {
    const std::vector<float> probs(pooled.classifier_leaf_probabilities.begin(),
                                   pooled.classifier_leaf_probabilities.end());
    ApplyClassifier(probs, params, &result);
  }
  // With the incident calibration for this many photos (none: uncalibrated, docs/INCIDENTS.md).
  GEOLOC_RETURN_IF_ERROR(Calibrate(params, &result, static_cast<int>(photos.size())));
  // Named like a single photo's answer (Finish): best estimate, peaks, cells.
  if (gazetteer_ != nullptr) NamePlaces(*gazetteer_, &result);

  // Which photo supports which peak; the best estimate's peak decides dissent.
  const std::vector<std::vector<double>> support = PeakSupport(pooled, photos, result.peaks);
  size_t best_peak = 0;
  for (size_t p = 0; p < result.peaks.size(); ++p) {
    if (result.peaks[p].pos.lat == result.best.pos.lat &&
        result.peaks[p].pos.lon == result.best.pos.lon) {
      best_peak = p;
      break;
    }
  }
  out.photos.resize(photos.size());
  for (size_t i = 0; i < photos.size(); ++i) {
    IncidentResult::Photo& photo = out.photos[i];
    photo.exponent = pooled.photo_exponents[i];
    photo.peak_support = support[i];
    photo.best_support = support[i].empty() ? 0 : support[i][best_peak];
    out.effective_photos += photo.exponent;
  }
  std::vector<double> best_support;
  for (const IncidentResult::Photo& photo : out.photos) best_support.push_back(photo.best_support);
  const std::vector<bool> dissents = Dissents(best_support, options.dissent_ratio);
  for (size_t i = 0; i < out.photos.size(); ++i) out.photos[i].dissents = dissents[i];
  return out;
}

}  // namespace geoloc::engine
