// The default estimator: a kernel density estimate on the sphere whose every mode becomes a peak.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::vector<geo::Peak> peaks,
//                           geo::FindSphericalKdePeaks(positions, weights, options));
//
// Kernel: von Mises-Fisher on the unit vectors v_i of the neighbours,
//   K(x, v_i) = exp(kappa (x.v_i - 1)),  kappa = (R / h)^2,  h = options.bandwidth_km.
// With x.v_i = cos(theta_i) and theta_i small, K = exp(-(R theta_i)^2 / (2 h^2)): a Gaussian of
// standard deviation h in great-circle distance, with no seam at the antimeridian and no
// singularity at the poles. The exponent is evaluated as -kappa |x - v_i|^2 / 2 (the same number:
// |x - v|^2 = 2 - 2 x.v for unit vectors), which keeps full precision at metre scale.
//
// Density, per km^2 (the normalised vMF density on the sphere of radius R):
//   f(x) = sum_i w_i C exp(kappa (x.v_i - 1)) / sum_i w_i,  C = kappa / (2 pi R^2 (1 - e^-2kappa))
// (C -> 1 / (2 pi h^2) for h << R, the planar Gaussian's normaliser).
//
// Peaks: weighted mean-shift x <- normalize(sum_i w_i K(x, v_i) v_i), which for this kernel is
// exactly a fixed-point ascent of f, started from every distinct neighbour position (heaviest
// first). Where log f is locally concave a Newton step on log f in the tangent plane replaces it
// (one or two steps to converge instead of dozens); elsewhere successive mean-shift steps are
// over-relaxed (x2, x4, up to x8). Such accelerated steps are at most h long, and one that lowers
// f is undone and replaced by the plain mean-shift step, so every climb is monotone and ends at a
// local maximum. A start stops when a step is shorter than 1e-4 h, after options.max_iterations
// steps (keeping the position reached), or as soon as it comes within 0.05 min(h, merge radius) of
// a mode already found (it joins that mode). Modes closer than the merge radius
// (options.merge_radius_km, 0 = h) are merged greedily, densest first; the densest position is
// kept. Each neighbour belongs to the peak its own start
// reached (its basin). Per peak: mass = the basin's share of the weight, support = basin size,
// density = f(peak), radius = sqrt(q^2 + g^2), where q = the basin's weighted mass_share-quantile
// of great-circle distances to the peak and g = h sqrt(-2 ln(1 - mass_share)) is the radius
// holding mass_share of the kernel itself (so a one-neighbour peak has radius g, never 0). Peaks
// are sorted by mass (then density, then first neighbour index) and cut to options.max_peaks.
//
//   case                                   result
//   duplicates of one position             one start; one peak with every duplicate as support
//   two clusters more than ~2h apart       two peaks, masses = the clusters' weight shares
//   cluster across lon 180                 one peak near 180 (lon in [-180, 180))
//   ring around a pole                     one peak at the pole
//   a zero-weight neighbour far from all   its own peak with mass 0 and density 0, sorted last
//   others
//
// Kernel terms with kappa (x.v_i - 1) < -40 (beyond about 8.9 h) are skipped: they are below
// 4e-18 of the kernel's peak value. Cost: O(starts x steps x k) exps; with the early exit and the
// Newton steps a tight cluster costs about one step per start (0.1 ms at k = 100, docs/GEO.md).
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_SPHERICAL_KDE_H_
#define GEOLOC_CORE_GEO_SPHERICAL_KDE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/estimator_options.h"
#include "core/geo/lat_lon.h"
#include "core/geo/peak.h"

namespace geoloc {
namespace geo {

// kappa = (kEarthRadiusKm / bandwidth_km)^2.
double VmfConcentration(double bandwidth_km);

// f(at) as defined above, per km^2. `weights` need not sum to 1; positions and weights must pass
// ValidateEstimatorWeights and bandwidth_km must be > 0 (not checked: this is the hot helper).
double SphericalKdeDensity(absl::Span<const LatLon> positions, absl::Span<const double> weights,
                           double bandwidth_km, LatLon at);

// Every mode of the weighted spherical KDE as a Peak (see above). Uses bandwidth_km,
// merge_radius_km, mass_share, max_iterations and max_peaks of `options`. InvalidArgument for bad
// options, coordinates or weights (ValidateEstimatorWeights).
absl::StatusOr<std::vector<Peak>> FindSphericalKdePeaks(absl::Span<const LatLon> positions,
                                                        absl::Span<const double> weights,
                                                        const EstimatorOptions& options);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_SPHERICAL_KDE_H_
