#include "core/geo/grid_kde.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "core/common/status_macros.h"
#include "core/geo/distance.h"
#include "core/geo/peak_summary.h"

namespace geoloc {
namespace geo {
namespace {

// exp(-40) = 4e-18: kernel factors below this are dropped.
constexpr double kUnderflowExponent = 40.0;

double Gaussian(double d, double inv_two_sigma_sq) { return std::exp(-d * d * inv_two_sigma_sq); }

// out[half + m] = scale * exp(-c (delta + m s)^2) for m in [-half, half], with c = 1 / (2 sigma^2),
// using exp(-c (delta + m s)^2) = exp(-c delta^2) * r^m * q[|m|], r = exp(-2 c delta s),
// q[m] = exp(-c s^2 m^2): 2 exps per row instead of 2 half + 1. The callers only pass
// |delta| <= (b + 9) sigma, so r^m stays within e^+-190 and E0 above e^-180: no overflow or
// underflow, and the relative error grows only by about m ulps.
void GaussianRow(double delta, double scale, double c, double s, absl::Span<const double> q,
                 double* out) {
  const int half = static_cast<int>(q.size()) - 1;
  const double e0 = scale * std::exp(-c * delta * delta);
  const double r = std::exp(-2.0 * c * delta * s);
  const double r_inv = 1.0 / r;
  out[half] = e0;
  double up = e0, down = e0;
  for (int m = 1; m <= half; ++m) {
    up *= r;
    down *= r_inv;
    out[half + m] = up * q[m];
    out[half - m] = down * q[m];
  }
}

}  // namespace

double GridKdeDensity(absl::Span<const LatLon> positions, absl::Span<const double> weights,
                      double sigma_deg, LatLon at) {
  const double inv = 1.0 / (2.0 * sigma_deg * sigma_deg);
  double sum = 0, total = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    total += weights[i];
    const double dlat = at.lat - positions[i].lat;
    const double dlon = NormalizeLongitude(at.lon - positions[i].lon);
    sum += weights[i] * Gaussian(dlat, inv) * Gaussian(dlon, inv);
  }
  return sum / total / (2.0 * kPi * sigma_deg * sigma_deg);
}

absl::StatusOr<Peak> FindGridKdePeak(absl::Span<const LatLon> positions,
                                     absl::Span<const double> weights,
                                     const EstimatorOptions& options) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorOptions(options));
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorWeights(positions, weights));
  GEOLOC_RETURN_IF_ERROR(ValidatePositions(positions));
  const size_t k = positions.size();
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double sigma = options.sigma_deg;
  const int half = options.grid_b * options.grid_n;
  const int g = 2 * half + 1;
  const double spacing = sigma / options.grid_n;
  const double inv = 1.0 / (2.0 * sigma * sigma);
  // A neighbour farther than this (in lat or in wrapped lon) from a grid's centre contributes
  // less than e^-40 at every point of that grid.
  const double reach = (options.grid_b + std::sqrt(2.0 * kUnderflowExponent)) * sigma;

  // The kernel is separable: N(x; x_i) = row_i(lat) * col_i(lon), so each grid is a sum of outer
  // products, and GaussianRow fills a row or column with 2 exps.
  std::vector<double> q(half + 1);
  for (int m = 0; m <= half; ++m) q[m] = std::exp(-inv * spacing * spacing * m * m);
  std::vector<double> lat_rows(g), lon_cols(g), row(g), col(g), acc(static_cast<size_t>(g) * g);
  double best = -1;
  LatLon best_pos;
  for (size_t j = 0; j < k; ++j) {
    for (int a = 0; a < g; ++a) lat_rows[a] = positions[j].lat + (a - half) * spacing;
    for (int c = 0; c < g; ++c) {
      lon_cols[c] = NormalizeLongitude(positions[j].lon + (c - half) * spacing);
    }
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t i = 0; i < k; ++i) {
      if (weights[i] == 0) continue;
      const double dlat = positions[j].lat - positions[i].lat;
      const double dlon = NormalizeLongitude(positions[j].lon - positions[i].lon);
      if (std::abs(dlat) > reach || std::abs(dlon) > reach) continue;
      GaussianRow(dlat, weights[i] / total, inv, spacing, q, row.data());
      if (std::abs(dlon) + half * spacing < 180.0) {
        GaussianRow(dlon, 1.0, inv, spacing, q, col.data());
      } else {
        // Only huge grids (b sigma near 180 degrees) wrap inside one grid: wrap per column.
        for (int c = 0; c < g; ++c) {
          col[c] = Gaussian(NormalizeLongitude(lon_cols[c] - positions[i].lon), inv);
        }
      }
      for (int a = 0; a < g; ++a) {
        const double ra = row[a];
        if (ra == 0) continue;
        double* out = &acc[static_cast<size_t>(a) * g];
        for (int c = 0; c < g; ++c) out[c] += ra * col[c];
      }
    }
    for (int a = 0; a < g; ++a) {
      if (lat_rows[a] > 90.0 || lat_rows[a] < -90.0) continue;  // beyond a pole: not a point
      for (int c = 0; c < g; ++c) {
        const double f = acc[static_cast<size_t>(a) * g + c];
        if (f > best) {
          best = f;
          best_pos = {lat_rows[a], lon_cols[c]};
        }
      }
    }
  }
  std::vector<double> w(k);
  for (size_t i = 0; i < k; ++i) w[i] = weights[i] / total;
  Peak peak = PeakOverAllNeighbors(best_pos, positions, w, options.mass_share);
  peak.density = best / (2.0 * kPi * sigma * sigma);
  const double sigma_km = sigma * kDegToRad * kEarthRadiusKm;
  peak.radius_km =
      CombineRadii(peak.radius_km, GaussianContainmentRadiusKm(sigma_km, options.mass_share));
  return peak;
}

}  // namespace geo
}  // namespace geoloc
