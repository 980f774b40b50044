// Logistic regression with a ridge penalty, fitted by Newton's method (iteratively reweighted
// least squares), for the "is this photo localizable at all" model.
//
//   GEOLOC_ASSIGN_OR_RETURN(LogisticModel m, FitLogistic(features, /*dim=*/5, labels));
//   double p = m.Predict(answer_features);  // then calibrated by isotonic regression
//
// Features are standardised (mean 0, standard deviation 1 on the fitting data; a constant feature
// keeps scale 1 and gets coefficient 0). The fit minimises
//   -sum_i w_i [y_i log p_i + (1 - y_i) log(1 - p_i)] + ridge / 2 * |beta|^2
// over the intercept (not penalised) and the standardised coefficients beta. With ridge > 0 the
// objective is strictly convex, so the minimum is unique and finite even on separable data (where
// plain maximum likelihood diverges). Newton steps solve the (d+1)x(d+1) system by Cholesky and
// are halved while they fail to lower the objective; the fit stops when no parameter moves more
// than `tolerance`.
//
// | input                                          | result                                   |
// | ---------------------------------------------- | ---------------------------------------- |
// | features not n x dim, labels not 0/1, NaN,     | InvalidArgument                          |
// |   negative weights, no rows, dim < 1, ridge < 0|                                          |
// | only one class (by weight) present             | FailedPrecondition: the intercept has no |
// |                                                | finite optimum                           |
// | no convergence in max_iterations               | FailedPrecondition                       |
//
// LogisticModel is a plain value: copy freely, thread-safe to read.
#ifndef GEOLOC_CORE_CALIBRATION_LOGISTIC_H_
#define GEOLOC_CORE_CALIBRATION_LOGISTIC_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::calibration {

struct LogisticModel {
  // Per feature: standardisation and coefficient on the standardised value.
  std::vector<double> mean;
  std::vector<double> scale;
  std::vector<double> coefficients;
  double intercept = 0;

  // intercept + sum_j coefficients[j] * (x[j] - mean[j]) / scale[j]; x must have dim values.
  double Logit(absl::Span<const double> x) const;
  // 1 / (1 + exp(-Logit(x))).
  double Predict(absl::Span<const double> x) const;
};

struct LogisticOptions {
  double ridge = 1e-2;
  int max_iterations = 100;
  double tolerance = 1e-9;
};

// features: n rows of dim values (row-major); labels: 0 or 1; weights: empty (all 1) or n values
// >= 0.
absl::StatusOr<LogisticModel> FitLogistic(absl::Span<const double> features, int dim,
                                          absl::Span<const double> labels,
                                          absl::Span<const double> weights = {},
                                          const LogisticOptions& options = {});

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_LOGISTIC_H_
