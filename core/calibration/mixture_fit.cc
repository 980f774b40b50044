#include "core/calibration/mixture_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace geoloc::calibration {
namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// log sum_c exp(log_w[c] + row[c]).
double LogSumExp(absl::Span<const double> row, absl::Span<const double> log_w) {
  double top = kMinusInfinity;
  for (size_t c = 0; c < row.size(); ++c) top = std::max(top, log_w[c] + row[c]);
  if (top == kMinusInfinity) return kMinusInfinity;
  double s = 0;
  for (size_t c = 0; c < row.size(); ++c) s += std::exp(log_w[c] + row[c] - top);
  return top + std::log(s);
}

}  // namespace

double MeanLogLikelihood(absl::Span<const double> log_density, absl::Span<const double> weights) {
  const size_t k = weights.size();
  const size_t n = k == 0 ? 0 : log_density.size() / k;
  std::vector<double> log_w(k);
  for (size_t c = 0; c < k; ++c) log_w[c] = std::log(weights[c]);
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += LogSumExp(log_density.subspan(i * k, k), log_w);
  return n == 0 ? 0.0 : total / static_cast<double>(n);
}

absl::StatusOr<MixtureFit> FitMixtureWeights(absl::Span<const double> log_density, int components,
                                             const MixtureFitOptions& options) {
  if (components < 1) return absl::InvalidArgumentError("a mixture needs at least one component");
  const size_t k = static_cast<size_t>(components);
  if (log_density.empty() || log_density.size() % k != 0) {
    return absl::InvalidArgumentError(absl::StrCat("mixture fit: ", log_density.size(),
                                                   " log densities is not n photos x ", components,
                                                   " components (n >= 1)"));
  }
  if (!(options.prior_count >= 0) || options.max_iterations < 1) {
    return absl::InvalidArgumentError("mixture fit: prior_count must be >= 0, max_iterations >= 1");
  }
  const size_t n = log_density.size() / k;
  for (size_t i = 0; i < n; ++i) {
    bool any = false;
    for (size_t c = 0; c < k; ++c) {
      const double v = log_density[i * k + c];
      if (std::isnan(v) || v == std::numeric_limits<double>::infinity()) {
        return absl::InvalidArgumentError(
            absl::StrCat("mixture fit: photo ", i, " component ", c, " has log density ", v));
      }
      any |= v > kMinusInfinity;
    }
    if (!any) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mixture fit: photo ", i, " has zero density under every component (add a floor)"));
    }
  }
  MixtureFit fit;
  fit.weights.assign(k, 1.0 / static_cast<double>(k));
  std::vector<double> log_w(k), responsibility(k);
  double previous = kMinusInfinity;
  for (fit.iterations = 1; fit.iterations <= options.max_iterations; ++fit.iterations) {
    for (size_t c = 0; c < k; ++c) log_w[c] = std::log(fit.weights[c]);
    std::vector<double> sum_r(k, 0.0);
    double ll = 0;
    for (size_t i = 0; i < n; ++i) {
      const absl::Span<const double> row = log_density.subspan(i * k, k);
      const double norm = LogSumExp(row, log_w);
      ll += norm;
      for (size_t c = 0; c < k; ++c) sum_r[c] += std::exp(log_w[c] + row[c] - norm);
    }
    ll /= static_cast<double>(n);
    const double denominator =
        static_cast<double>(n) + static_cast<double>(k) * options.prior_count;
    for (size_t c = 0; c < k; ++c) fit.weights[c] = (sum_r[c] + options.prior_count) / denominator;
    fit.mean_log_likelihood = ll;
    if (ll - previous < options.tolerance) break;
    previous = ll;
  }
  fit.iterations = std::min(fit.iterations, options.max_iterations);
  fit.mean_log_likelihood = MeanLogLikelihood(log_density, fit.weights);
  return fit;
}

}  // namespace geoloc::calibration
