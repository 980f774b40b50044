#include "core/engine/incident.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "core/geo/spherical_kde.h"

namespace geoloc::engine {
namespace {

constexpr double kEarthAreaKm2 = 4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm;

// exp(v - max) normalised to sum 1; entries at -infinity get 0.
std::vector<double> SoftmaxOfLogs(const std::vector<double>& logs) {
  double top = -std::numeric_limits<double>::infinity();
  for (double v : logs) top = std::max(top, v);
  std::vector<double> out(logs.size(), 0.0);
  if (!std::isfinite(top)) return out;
  double sum = 0;
  for (size_t i = 0; i < logs.size(); ++i) {
    out[i] = std::isfinite(logs[i]) ? std::exp(logs[i] - top) : 0.0;
    sum += out[i];
  }
  for (double& v : out) v /= sum;
  return out;
}

}  // namespace

absl::StatusOr<PooledEvidence> PoolIncidentEvidence(absl::Span<const LocateResult> photos,
                                                    double bandwidth_km,
                                                    const IncidentOptions& options) {
  const int n = static_cast<int>(photos.size());
  if (n == 0) return absl::InvalidArgumentError("an incident needs at least one photo");
  if (n > kMaxIncidentPhotos) {
    return absl::InvalidArgumentError(absl::StrCat("an incident holds at most ",
                                                   kMaxIncidentPhotos, " photos, got ", n));
  }
  if (!(options.outlier_probability > 0 && options.outlier_probability < 1)) {
    return absl::InvalidArgumentError("outlier_probability must be in (0, 1)");
  }
  if (!(bandwidth_km > 0)) return absl::InvalidArgumentError("bandwidth_km must be > 0");
  const bool with_classifier = !photos[0].classifier_leaf_probabilities.empty();
  for (int i = 0; i < n; ++i) {
    const LocateResult& p = photos[i];
    if (p.neighbors.empty() || p.neighbors.size() != p.weights.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("photo ", i, " has no neighbours or weights that do not match them"));
    }
    if (p.classifier_leaf_probabilities.size() !=
        photos[0].classifier_leaf_probabilities.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("photo ", i, " has classifier leaves unlike photo 0"));
    }
  }

  PooledEvidence out;
  // The union of rows, and each photo's weight per row (a row may repeat within a photo's list
  // only if the index returned it twice; its weights add).
  absl::flat_hash_map<int64_t, int> index_of;
  std::vector<std::vector<double>> photo_weight_of_row(n);
  out.row_of.resize(n);
  for (int i = 0; i < n; ++i) {
    for (const index::Neighbor& nb : photos[i].neighbors) {
      auto [it, inserted] = index_of.emplace(nb.row, static_cast<int>(out.neighbors.size()));
      if (inserted) {
        out.neighbors.push_back(nb);
      } else {
        index::Neighbor& kept = out.neighbors[it->second];
        kept.score = std::max(kept.score, nb.score);
      }
      out.row_of[i].push_back(it->second);
    }
  }
  const size_t rows = out.neighbors.size();
  for (int i = 0; i < n; ++i) {
    photo_weight_of_row[i].assign(rows, 0.0);
    for (size_t k = 0; k < photos[i].weights.size(); ++k) {
      photo_weight_of_row[i][out.row_of[i][k]] += photos[i].weights[k];
    }
  }

  // Exponents from shared evidence: r_ij = sum_u min(w_i(u), w_j(u)).
  out.photo_exponents.assign(n, 0.0);
  for (int i = 0; i < n; ++i) {
    double shared = 0;
    for (int j = 0; j < n; ++j) {
      if (j == i) {
        shared += 1;
        continue;
      }
      double r = 0;
      for (size_t u = 0; u < rows; ++u) {
        r += std::min(photo_weight_of_row[i][u], photo_weight_of_row[j][u]);
      }
      shared += std::min(1.0, r);
    }
    out.photo_exponents[i] =
        options.pooling == IncidentPooling::kGeometricMean ? 1.0 / n : 1.0 / shared;
  }
  double exponent_sum = 0;
  for (double a : out.photo_exponents) exponent_sum += a;

  // Each photo's density at every pooled row.
  std::vector<std::vector<geo::LatLon>> positions(n);
  for (int i = 0; i < n; ++i) {
    for (const index::Neighbor& nb : photos[i].neighbors) {
      positions[i].push_back(geo::LatLon{nb.lat, nb.lon});
    }
  }
  const double eps = options.outlier_probability;
  std::vector<double> log_weights(rows);
  for (size_t u = 0; u < rows; ++u) {
    double mixture_weight = 0;
    for (int i = 0; i < n; ++i) mixture_weight += out.photo_exponents[i] * photo_weight_of_row[i][u];
    if (!(mixture_weight > 0)) {
      log_weights[u] = -std::numeric_limits<double>::infinity();
      continue;
    }
    const geo::LatLon at{out.neighbors[u].lat, out.neighbors[u].lon};
    double log_pool = 0, mixture_density = 0;
    for (int i = 0; i < n; ++i) {
      const double p = geo::SphericalKdeDensity(positions[i], photos[i].weights, bandwidth_km, at);
      log_pool += out.photo_exponents[i] * std::log((1 - eps) * p + eps / kEarthAreaKm2);
      mixture_density += out.photo_exponents[i] * p;
    }
    mixture_density /= exponent_sum;
    log_weights[u] = mixture_density > 0 ? std::log(mixture_weight) + log_pool -
                                               std::log(mixture_density)
                                         : -std::numeric_limits<double>::infinity();
  }
  out.weights = SoftmaxOfLogs(log_weights);
  if (std::all_of(out.weights.begin(), out.weights.end(), [](double w) { return w == 0; })) {
    return absl::InvalidArgumentError("the photos' neighbours all have zero weight");
  }

  if (with_classifier) {
    const size_t leaves = photos[0].classifier_leaf_probabilities.size();
    std::vector<double> logs(leaves, 0.0);
    for (int i = 0; i < n; ++i) {
      for (size_t c = 0; c < leaves; ++c) {
        logs[c] += out.photo_exponents[i] *
                   std::log((1 - eps) * photos[i].classifier_leaf_probabilities[c] +
                            eps / static_cast<double>(leaves));
      }
    }
    out.classifier_leaf_probabilities = SoftmaxOfLogs(logs);
  }
  return out;
}

std::vector<std::vector<double>> PeakSupport(const PooledEvidence& pooled,
                                             absl::Span<const LocateResult> photos,
                                             absl::Span<const geo::Peak> peaks) {
  std::vector<int> peak_of_row(pooled.neighbors.size(), -1);
  for (size_t p = 0; p < peaks.size(); ++p) {
    for (int row : peaks[p].neighbor_indices) peak_of_row[row] = static_cast<int>(p);
  }
  std::vector<std::vector<double>> support(photos.size(), std::vector<double>(peaks.size(), 0.0));
  for (size_t i = 0; i < photos.size(); ++i) {
    for (size_t k = 0; k < photos[i].weights.size(); ++k) {
      const int p = peak_of_row[pooled.row_of[i][k]];
      if (p >= 0) support[i][p] += photos[i].weights[k];
    }
  }
  return support;
}

std::vector<bool> Dissents(absl::Span<const double> best_support, double ratio) {
  const size_t n = best_support.size();
  std::vector<bool> out(n, false);
  for (size_t i = 0; n >= 2 && i < n; ++i) {
    std::vector<double> others;
    for (size_t j = 0; j < n; ++j) {
      if (j != i) others.push_back(best_support[j]);
    }
    std::sort(others.begin(), others.end());
    const size_t m = others.size();
    const double median = m % 2 ? others[m / 2] : (others[m / 2 - 1] + others[m / 2]) / 2;
    out[i] = best_support[i] < ratio * median;
  }
  return out;
}

}  // namespace geoloc::engine
