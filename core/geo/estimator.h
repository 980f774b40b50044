// Where was the photo taken? Turns retrieved neighbours into ranked location hypotheses.
//
//   geo::EstimatorOptions options;  // default: spherical KDE, h = 0.5 km, m = 5
//   GEOLOC_ASSIGN_OR_RETURN(geo::Estimate est, geo::EstimateLocation(neighbors, kind, options));
//
// Steps: check the options and the neighbours, weight the neighbours (neighbor_weights.h; uniform
// for kMean), run the estimator named by options.kind:
//
//   kind            peaks                                   details
//   kNearest        1, at the highest-weight neighbour      point_estimators.h
//   kMean           1, mean of unit vectors                 point_estimators.h
//   kWeightedMean   1, weighted mean of unit vectors        point_estimators.h
//   kGridKde        1, the seed's grid argmax               grid_kde.h
//   kSphericalKde   one per KDE mode, heaviest first        spherical_kde.h
//
// Degenerate inputs (all InvalidArgument, the message names the neighbour or option):
//
//   input                                            status
//   no neighbours (k = 0)                            InvalidArgument
//   NaN or out-of-range lat/lon                      InvalidArgument
//   NaN/infinite score, negative distance,           InvalidArgument
//   similarity outside [-1.001, 1.001]
//   every weight 0 (similarities all -1, m > 0)      InvalidArgument (not for kMean: uniform)
//   option out of range (ValidateEstimatorOptions)   InvalidArgument
//   (weighted) mean of cancelling vectors            InvalidArgument (e.g. two antipodes)
//   duplicate positions                              fine: one peak holding all of them
//
// On success peaks is never empty and weights has one entry per neighbour.
// Pure function: thread-safe; allocates only its result and scratch space.
#ifndef GEOLOC_CORE_GEO_ESTIMATOR_H_
#define GEOLOC_CORE_GEO_ESTIMATOR_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/estimator_options.h"
#include "core/geo/neighbor_weights.h"
#include "core/geo/peak.h"

namespace geoloc {
namespace geo {

// `log_prior` (empty, or one value per neighbour): the log of a prior density at each neighbour
// (a soft search area, search_area.h); the weights are multiplied by exp(log_prior - its max)
// and renormalised before the estimator runs, so the peaks are those of the KDE times the prior
// (exactly so when the prior varies little within a bandwidth).
absl::StatusOr<Estimate> EstimateLocation(absl::Span<const Neighbor> neighbors, ScoreKind kind,
                                          const EstimatorOptions& options,
                                          absl::Span<const double> log_prior = {});

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_ESTIMATOR_H_
