#include "core/geo/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/geo/distance.h"

namespace geoloc {
namespace geo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::vector<double> DefaultThresholdsKm() { return {0.01, 0.1, 0.5, 1, 5, 25, 200, 750, 2500}; }

std::vector<double> AccuracyAtThresholds(absl::Span<const double> errors_km,
                                         absl::Span<const double> thresholds_km) {
  std::vector<double> out(thresholds_km.size(), kNaN);
  if (errors_km.empty()) return out;
  for (size_t t = 0; t < thresholds_km.size(); ++t) {
    size_t hits = 0;
    for (double e : errors_km) hits += e <= thresholds_km[t] ? 1 : 0;  // NaN is never <=
    out[t] = static_cast<double>(hits) / static_cast<double>(errors_km.size());
  }
  return out;
}

double MedianError(absl::Span<const double> errors_km) {
  if (errors_km.empty()) return kNaN;
  std::vector<double> e(errors_km.begin(), errors_km.end());
  for (double& x : e) {
    if (std::isnan(x)) x = std::numeric_limits<double>::infinity();
  }
  const size_t mid = e.size() / 2;
  std::nth_element(e.begin(), e.begin() + mid, e.end());
  const double upper = e[mid];
  if (e.size() % 2 == 1) return upper;
  const double lower = *std::max_element(e.begin(), e.begin() + mid);
  if (std::isinf(lower) || std::isinf(upper)) return std::max(lower, upper);  // avoid inf - inf
  return 0.5 * (lower + upper);
}

std::vector<double> RecallAtN(const std::vector<std::vector<LatLon>>& ranked_neighbor_positions,
                              absl::Span<const LatLon> query_positions, absl::Span<const int> ns,
                              double radius_km) {
  std::vector<double> out(ns.size(), kNaN);
  const size_t q = query_positions.size();
  if (q == 0 || ranked_neighbor_positions.size() != q) return out;
  // The rank of each query's first hit decides every N at once.
  std::vector<size_t> first_hit(q, std::numeric_limits<size_t>::max());
  for (size_t i = 0; i < q; ++i) {
    const auto& ranked = ranked_neighbor_positions[i];
    for (size_t r = 0; r < ranked.size(); ++r) {
      if (HaversineKm(ranked[r], query_positions[i]) <= radius_km) {
        first_hit[i] = r;
        break;
      }
    }
  }
  for (size_t t = 0; t < ns.size(); ++t) {
    if (ns[t] < 1) continue;
    size_t hits = 0;
    for (size_t i = 0; i < q; ++i) hits += first_hit[i] < static_cast<size_t>(ns[t]) ? 1 : 0;
    out[t] = static_cast<double>(hits) / static_cast<double>(q);
  }
  return out;
}

double ExpectedCalibrationError(absl::Span<const double> confidences,
                                absl::Span<const bool> correct, int bins) {
  const size_t n = confidences.size();
  if (n == 0 || correct.size() != n || bins < 1) return kNaN;
  std::vector<double> conf_sum(bins, 0.0), correct_sum(bins, 0.0);
  std::vector<size_t> count(bins, 0);
  for (size_t i = 0; i < n; ++i) {
    const double c = confidences[i];
    if (!(c >= 0.0 && c <= 1.0)) return kNaN;
    const int b = std::min(static_cast<int>(c * bins), bins - 1);
    conf_sum[b] += c;
    correct_sum[b] += correct[i] ? 1.0 : 0.0;
    ++count[b];
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (count[b] == 0) continue;
    // |b|/n * |acc - conf| with acc = correct_sum/|b| and conf = conf_sum/|b|.
    ece += std::abs(correct_sum[b] - conf_sum[b]) / static_cast<double>(n);
  }
  return ece;
}

}  // namespace geo
}  // namespace geoloc
