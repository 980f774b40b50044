// The seed's point estimators: the best neighbour (1-NN) and the (weighted) mean position. Each
// returns one peak: mass 1, every neighbour as support, radius = weighted mass_share-quantile of
// the neighbours' distances to the estimate (0 when they all coincide), density 0.
//
//   GEOLOC_ASSIGN_OR_RETURN(geo::Peak p, geo::MeanDirectionPeak(positions, weights, 0.68));
//
// The mean is taken on the sphere, not on the coordinates: mean = normalize(sum_i w_i v_i) over
// the unit vectors v_i. It differs from the seed's mean of coordinates by about s^2 tan(lat) / R
// for a spread s (0.2 m for neighbours within 3 km at 50 N); unlike the coordinate mean it is
// right across the antimeridian (179.9 and -179.9 average to 180, not 0) and near the poles.
//
//   input                                    result
//   empty, or sizes differ                   InvalidArgument
//   weights negative, NaN, or all 0          InvalidArgument
//   resultant length |sum w v| / sum w       InvalidArgument: the mean direction is undefined
//   below 1e-10 (e.g. two antipodal points)  (use the spherical KDE, which keeps both)
//   1-NN with tied weights                   the lowest index (the best-ranked neighbour)
//
// Positions must be valid (EstimateLocation checks them). Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_POINT_ESTIMATORS_H_
#define GEOLOC_CORE_GEO_POINT_ESTIMATORS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"
#include "core/geo/peak.h"

namespace geoloc {
namespace geo {

// Resultant lengths below this are treated as cancellation (see the table above).
inline constexpr double kMinResultantLength = 1e-10;

// The position of the highest-weight neighbour (ties: lowest index).
absl::StatusOr<Peak> NearestNeighborPeak(absl::Span<const LatLon> positions,
                                         absl::Span<const double> weights, double mass_share);

// The weighted mean direction of the neighbours' unit vectors (pass equal weights for the plain
// mean). Weights need not sum to 1.
absl::StatusOr<Peak> MeanDirectionPeak(absl::Span<const LatLon> positions,
                                       absl::Span<const double> weights, double mass_share);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_POINT_ESTIMATORS_H_
