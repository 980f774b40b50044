#include "core/geo/peak_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"

namespace geoloc {
namespace geo {

absl::Status ValidateEstimatorWeights(absl::Span<const LatLon> positions,
                                      absl::Span<const double> weights) {
  if (positions.empty()) return absl::InvalidArgumentError("no neighbours to estimate from");
  if (positions.size() != weights.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(positions.size(), " positions but ", weights.size(), " weights"));
  }
  double sum = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("weight ", weights[i], " of neighbor ", i, " is not finite and >= 0"));
    }
    sum += weights[i];
  }
  if (!(sum > 0)) return absl::InvalidArgumentError("every neighbour weight is 0");
  return absl::OkStatus();
}

absl::Status ValidatePositions(absl::Span<const LatLon> positions) {
  for (size_t i = 0; i < positions.size(); ++i) {
    const absl::Status s = ValidateLatLon(positions[i]);
    if (!s.ok()) return Annotate(s, absl::StrCat("neighbor ", i));  // message built only on error
  }
  return absl::OkStatus();
}

double WeightedQuantile(absl::Span<const double> values, absl::Span<const double> weights,
                        double p) {
  const size_t n = values.size();
  if (n == 0) return 0.0;
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += weights[i];
  const bool uniform = !(total > 0);
  if (uniform) total = static_cast<double>(n);
  const double target = p * total * (1.0 - 1e-12);
  double cumulative = 0;
  for (int i : order) {
    cumulative += uniform ? 1.0 : weights[i];
    if (cumulative >= target) return values[i];
  }
  return values[order.back()];
}

double GaussianContainmentRadiusKm(double std_km, double p) {
  return std_km * std::sqrt(-2.0 * std::log1p(-p));
}

double CombineRadii(double a_km, double b_km) { return std::hypot(a_km, b_km); }

Peak PeakOverAllNeighbors(LatLon pos, absl::Span<const LatLon> positions,
                          absl::Span<const double> weights, double mass_share) {
  Peak peak;
  peak.pos = pos;
  peak.mass = 1.0;
  peak.support = static_cast<int>(positions.size());
  peak.neighbor_indices.resize(positions.size());
  std::iota(peak.neighbor_indices.begin(), peak.neighbor_indices.end(), 0);
  std::vector<double> distances(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) distances[i] = HaversineKm(pos, positions[i]);
  peak.radius_km = WeightedQuantile(distances, weights, mass_share);
  return peak;
}

}  // namespace geo
}  // namespace geoloc
