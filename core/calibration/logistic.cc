#include "core/calibration/logistic.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace geoloc::calibration {
namespace {

// log(1 + exp(z)) without overflow.
double Softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Solves a x = b for the symmetric positive definite a (n x n, row-major) by Cholesky; false when a
// is not positive definite.
bool SolveSpd(std::vector<double> a, std::vector<double> b, int n, std::vector<double>* x) {
  for (int j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const double l = std::sqrt(d);
    a[j * n + j] = l;
    for (int i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / l;
    }
  }
  for (int i = 0; i < n; ++i) {  // L y = b
    for (int k = 0; k < i; ++k) b[i] -= a[i * n + k] * b[k];
    b[i] /= a[i * n + i];
  }
  for (int i = n - 1; i >= 0; --i) {  // L^T x = y
    for (int k = i + 1; k < n; ++k) b[i] -= a[k * n + i] * b[k];
    b[i] /= a[i * n + i];
  }
  *x = std::move(b);
  return true;
}

}  // namespace

double LogisticModel::Logit(absl::Span<const double> x) const {
  double z = intercept;
  for (size_t j = 0; j < coefficients.size(); ++j)
    z += coefficients[j] * (x[j] - mean[j]) / scale[j];
  return z;
}

double LogisticModel::Predict(absl::Span<const double> x) const { return Sigmoid(Logit(x)); }

absl::StatusOr<LogisticModel> FitLogistic(absl::Span<const double> features, int dim,
                                          absl::Span<const double> labels,
                                          absl::Span<const double> weights,
                                          const LogisticOptions& options) {
  if (dim < 1) return absl::InvalidArgumentError("logistic regression needs at least one feature");
  const size_t n = labels.size();
  if (n == 0 || features.size() != n * static_cast<size_t>(dim) ||
      (!weights.empty() && weights.size() != n)) {
    return absl::InvalidArgumentError(absl::StrCat("logistic regression: ", features.size(),
                                                   " feature values for ", n, " labels of ", dim,
                                                   " features and ", weights.size(), " weights"));
  }
  if (!(options.ridge >= 0) || options.max_iterations < 1 || !(options.tolerance > 0)) {
    return absl::InvalidArgumentError(
        "logistic regression: bad options (ridge >= 0, "
        "max_iterations >= 1, tolerance > 0)");
  }
  double positive = 0, negative = 0;
  for (size_t i = 0; i < n; ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    if (!(labels[i] == 0 || labels[i] == 1) || !(w >= 0) || !std::isfinite(w)) {
      return absl::InvalidArgumentError(
          absl::StrCat("logistic regression: row ", i, " has label ", labels[i], " and weight ", w,
                       " (labels are 0 or 1, weights finite and >= 0)"));
    }
    for (int j = 0; j < dim; ++j) {
      if (!std::isfinite(features[i * dim + j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("logistic regression: feature ", j, " of row ", i, " is not finite"));
      }
    }
    (labels[i] == 1 ? positive : negative) += w;
  }
  if (!(positive > 0) || !(negative > 0)) {
    return absl::FailedPreconditionError(
        "logistic regression needs examples of both classes (with positive weight)");
  }

  LogisticModel m;
  m.mean.assign(dim, 0.0);
  m.scale.assign(dim, 1.0);
  m.coefficients.assign(dim, 0.0);
  const double total = positive + negative;
  for (int j = 0; j < dim; ++j) {
    double mu = 0, var = 0;
    for (size_t i = 0; i < n; ++i)
      mu += (weights.empty() ? 1.0 : weights[i]) * features[i * dim + j];
    mu /= total;
    for (size_t i = 0; i < n; ++i) {
      const double d = features[i * dim + j] - mu;
      var += (weights.empty() ? 1.0 : weights[i]) * d * d;
    }
    m.mean[j] = mu;
    const double sd = std::sqrt(var / total);
    m.scale[j] = sd > 1e-12 * std::max(1.0, std::abs(mu)) ? sd : 1.0;
  }
  // Standardised design with the intercept column first.
  const int p = dim + 1;
  std::vector<double> z(n * p);
  for (size_t i = 0; i < n; ++i) {
    z[i * p] = 1.0;
    for (int j = 0; j < dim; ++j) {
      z[i * p + 1 + j] = (features[i * dim + j] - m.mean[j]) / m.scale[j];
    }
  }
  std::vector<double> beta(p, 0.0);
  beta[0] = std::log(positive / negative);  // the best constant model
  auto objective = [&](const std::vector<double>& b) {
    double f = 0;
    for (size_t i = 0; i < n; ++i) {
      double eta = 0;
      for (int k = 0; k < p; ++k) eta += z[i * p + k] * b[k];
      const double w = weights.empty() ? 1.0 : weights[i];
      f += w * (Softplus(eta) - labels[i] * eta);
    }
    for (int k = 1; k < p; ++k) f += 0.5 * options.ridge * b[k] * b[k];
    return f;
  };
  double current = objective(beta);
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    std::vector<double> grad(p, 0.0), hess(p * p, 0.0);
    for (size_t i = 0; i < n; ++i) {
      double eta = 0;
      for (int k = 0; k < p; ++k) eta += z[i * p + k] * beta[k];
      const double pi = Sigmoid(eta);
      const double w = weights.empty() ? 1.0 : weights[i];
      const double r = w * (pi - labels[i]);
      const double v = w * pi * (1 - pi);
      for (int a = 0; a < p; ++a) {
        grad[a] += r * z[i * p + a];
        for (int b = 0; b <= a; ++b) hess[a * p + b] += v * z[i * p + a] * z[i * p + b];
      }
    }
    for (int a = 0; a < p; ++a) {
      for (int b = 0; b < a; ++b) hess[b * p + a] = hess[a * p + b];
    }
    for (int k = 1; k < p; ++k) {
      grad[k] += options.ridge * beta[k];
      hess[k * p + k] += options.ridge;
    }
    hess[0] += 1e-12 * total;  // keeps the intercept's pivot positive when every p is ~0 or ~1
    std::vector<double> step;
    if (!SolveSpd(hess, grad, p, &step)) {
      return absl::FailedPreconditionError(
          "logistic regression: the Hessian is singular (features that are exact copies of "
          "each other with ridge 0?)");
    }
    // Newton step, halved until the objective does not rise.
    double t = 1.0;
    std::vector<double> candidate(p);
    double next = current;
    for (int halving = 0; halving < 50; ++halving, t *= 0.5) {
      for (int k = 0; k < p; ++k) candidate[k] = beta[k] - t * step[k];
      next = objective(candidate);
      if (next <= current) break;
    }
    double moved = 0;
    for (int k = 0; k < p; ++k) moved = std::max(moved, std::abs(candidate[k] - beta[k]));
    beta = candidate;
    current = next;
    if (moved < options.tolerance) {
      m.intercept = beta[0];
      for (int j = 0; j < dim; ++j) m.coefficients[j] = beta[j + 1];
      return m;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("logistic regression did not converge in ", options.max_iterations,
                   " Newton steps (separable data with ridge 0?)"));
}

}  // namespace geoloc::calibration
