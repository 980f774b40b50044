#include "core/geo/estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/geo/grid_kde.h"
#include "core/geo/point_estimators.h"
#include "core/geo/spherical_kde.h"

namespace geoloc {
namespace geo {

absl::StatusOr<Estimate> EstimateLocation(absl::Span<const Neighbor> neighbors, ScoreKind kind,
                                          const EstimatorOptions& options,
                                          absl::Span<const double> log_prior) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorOptions(options));
  GEOLOC_RETURN_IF_ERROR(ValidateNeighbors(neighbors, kind));
  Estimate est;
  if (options.kind == EstimatorKind::kMean) {
    est.weights.assign(neighbors.size(), 1.0 / static_cast<double>(neighbors.size()));
  } else {
    GEOLOC_ASSIGN_OR_RETURN(est.weights,
                            NormalizedNeighborWeights(neighbors, kind, options.weight_exponent_m));
  }
  if (!log_prior.empty()) {
    if (log_prior.size() != neighbors.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "log_prior has ", log_prior.size(), " values for ", neighbors.size(), " neighbours"));
    }
    // Relative to the largest, so that a prior far from every neighbour still ranks them.
    double top = -std::numeric_limits<double>::infinity();
    for (double lp : log_prior) top = std::max(top, lp);
    if (!std::isfinite(top)) return absl::InvalidArgumentError("log_prior has no finite value");
    double sum = 0;
    for (size_t i = 0; i < est.weights.size(); ++i) {
      est.weights[i] *= std::exp(log_prior[i] - top);
      sum += est.weights[i];
    }
    if (!(sum > 0))
      return absl::InvalidArgumentError("every neighbour has weight 0 under the prior");
    for (double& w : est.weights) w /= sum;
  }
  std::vector<LatLon> positions(neighbors.size());
  for (size_t i = 0; i < neighbors.size(); ++i) positions[i] = neighbors[i].pos;

  switch (options.kind) {
    case EstimatorKind::kNearest: {
      GEOLOC_ASSIGN_OR_RETURN(Peak peak,
                              NearestNeighborPeak(positions, est.weights, options.mass_share));
      est.peaks.push_back(std::move(peak));
      break;
    }
    case EstimatorKind::kMean:
    case EstimatorKind::kWeightedMean: {
      GEOLOC_ASSIGN_OR_RETURN(Peak peak,
                              MeanDirectionPeak(positions, est.weights, options.mass_share));
      est.peaks.push_back(std::move(peak));
      break;
    }
    case EstimatorKind::kGridKde: {
      GEOLOC_ASSIGN_OR_RETURN(Peak peak, FindGridKdePeak(positions, est.weights, options));
      est.peaks.push_back(std::move(peak));
      break;
    }
    case EstimatorKind::kSphericalKde: {
      GEOLOC_ASSIGN_OR_RETURN(est.peaks, FindSphericalKdePeaks(positions, est.weights, options));
      break;
    }
  }
  return est;
}

}  // namespace geo
}  // namespace geoloc
