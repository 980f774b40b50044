// The seed's KDE estimator (seed 000, section 4.2), kept to reproduce its tables.
//
//   GEOLOC_ASSIGN_OR_RETURN(geo::Peak p, geo::FindGridKdePeak(positions, weights, options));
//
// Density over (lat, lon) in degrees, Gaussian kernel with covariance sigma^2 I:
//   f(x) = sum_i w_i N(x; x_i, sigma^2 I) / sum_i w_i,
//   N = exp(-(dlat^2 + dlon^2) / (2 sigma^2)) / (2 pi sigma^2)            [per square degree]
// The estimate is the argmax of f over k grids of (2bn + 1)^2 points, one centred on each
// neighbour: lat_i + a sigma / n, lon_i + c sigma / n for a, c in [-bn, bn] (spacing sigma / n,
// half-width b sigma). The seed writes an extra 1 / |Sigma|^(1/2) factor; being constant it does
// not move the argmax, and the density reported here is the normalised f above.
//
// Differences from a literal reading of the seed, all invisible on its data (Czech Republic):
//   - dlon is wrapped into [-180, 180), so a cluster across the antimeridian is one cluster;
//   - grid points with |lat| > 90 do not exist and are skipped; grid longitudes are normalised.
// Degrees are not distances: a degree of longitude shrinks with cos(lat), so the kernel is
// narrower east-west than north-south away from the equator. The spherical KDE has no such bias.
//
// Returns one peak: mass 1, every neighbour as support, density f(argmax) per square degree,
// radius = sqrt(q^2 + g^2) with q the weighted mass_share-quantile of the neighbours' distances to
// the peak and g = GaussianContainmentRadiusKm(sigma in km of latitude (sigma * pi R / 180),
// mass_share). Ties between grid points go to the first in (neighbour, lat row, lon column)
// order. Cost: (2bn + 1)^2 multiply-adds and 4 exps per pair of neighbours (the kernel is
// separable and each grid row is a geometric progression), O(k^2) pairs; pairs farther apart than
// (b + 8.95) sigma in lat or in lon are skipped (their kernel values are < e^-40 on the whole
// grid).
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_GRID_KDE_H_
#define GEOLOC_CORE_GEO_GRID_KDE_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/estimator_options.h"
#include "core/geo/lat_lon.h"
#include "core/geo/peak.h"

namespace geoloc {
namespace geo {

// f(at) as defined above, per square degree. `weights` need not sum to 1; inputs must pass
// ValidateEstimatorWeights and sigma_deg must be > 0 (not checked).
double GridKdeDensity(absl::Span<const LatLon> positions, absl::Span<const double> weights,
                      double sigma_deg, LatLon at);

// The grid argmax as one Peak (see above). Uses sigma_deg, grid_b, grid_n and mass_share.
// InvalidArgument for bad options, coordinates or weights.
absl::StatusOr<Peak> FindGridKdePeak(absl::Span<const LatLon> positions,
                                     absl::Span<const double> weights,
                                     const EstimatorOptions& options);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_GRID_KDE_H_
