// The pieces every estimator uses to describe a peak: weighted quantiles of distances, the
// containment radius of the smoothing kernel, and the one-peak summary of the point estimators.
//
//   double q = geo::WeightedQuantile(distances_km, weights, 0.68);
//   double r = geo::CombineRadii(q, geo::GaussianContainmentRadiusKm(h_km, 0.68));
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_PEAK_SUMMARY_H_
#define GEOLOC_CORE_GEO_PEAK_SUMMARY_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"
#include "core/geo/peak.h"

namespace geoloc {
namespace geo {

// Checks what every estimator needs of its weights: same size as positions, at least one, finite,
// >= 0, positive sum.
absl::Status ValidateEstimatorWeights(absl::Span<const LatLon> positions,
                                      absl::Span<const double> weights);

// ValidateLatLon for every position; the message names the first bad one ("neighbor 3: ...").
absl::Status ValidatePositions(absl::Span<const LatLon> positions);

// The lower weighted p-quantile: the smallest value v such that the weights of the values <= v
// add up to at least p of the total weight (relative slack 1e-12 for rounding).
//
//   input                              result
//   empty                              0
//   every weight 0                     the unweighted quantile (every weight taken as 1)
//   values {1, 2, 3, 4}, equal         p = 0.5 -> 2, p = 0.51 -> 3, p = 1 -> 4
//
// Preconditions: equal sizes, finite values, weights >= 0, p in (0, 1].
double WeightedQuantile(absl::Span<const double> values, absl::Span<const double> weights,
                        double p);

// Radius of the disc holding share p of an isotropic 2-D Gaussian of standard deviation std_km per
// axis: std_km * sqrt(-2 ln(1 - p)) (1.5096 std_km at p = 0.68). p in (0, 1).
double GaussianContainmentRadiusKm(double std_km, double p);

// sqrt(a^2 + b^2): how the spread of the points and the spread of the kernel combine (variances
// of independent displacements add).
double CombineRadii(double a_km, double b_km);

// The single peak of a point estimator at `pos`: mass 1, every neighbour as support, radius = the
// weighted `mass_share` quantile of the neighbours' great-circle distances to pos, density 0.
// `weights` are the estimator's normalised weights (equal size to positions).
Peak PeakOverAllNeighbors(LatLon pos, absl::Span<const LatLon> positions,
                          absl::Span<const double> weights, double mass_share);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_PEAK_SUMMARY_H_
