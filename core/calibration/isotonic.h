// Isotonic regression (pool adjacent violators): the non-decreasing function of x closest to the
// outcomes y in weighted least squares, as a piecewise-linear function through its knots. It maps a
// raw score (a predictive mass, a logistic output) to a calibrated probability.
//
//   GEOLOC_ASSIGN_OR_RETURN(IsotonicFunction p, IsotonicFunction::Fit(raw, outcomes));
//   double calibrated = p(raw_of_new_answer);
//
// Fit: points are sorted by x; points with equal x are pooled first (weighted mean of their y,
// summed weight: equal inputs get equal outputs); then adjacent blocks whose means are not
// increasing are pooled until the block means increase strictly. Knots: each block's smallest and
// largest x (one knot when they are equal) at the block's mean.
//
// FitProbability is Fit for 0/1 outcomes (a calibrated probability of an event), with one change:
// the first and last blocks take their Jeffreys posterior means (hits + 1/2) / (n + 1), kept within
// the neighbouring block's mean so the function stays non-decreasing. A finite calibration set
// then never claims certainty: a top block of 10 photos all within t gives 10.5 / 11 = 0.955, not
// 1, and a bottom block of 51 photos none within t gives 0.5 / 52 = 0.0096, not 0 (on the proving
// ground such end blocks held 60-82% and 5-7% hits on other photos: docs/CALIBRATION.md). The
// interior blocks are Fit's. Outcomes other than 0 and 1 are InvalidArgument.
//
// Prediction: linear interpolation between knots (so between two blocks it rises from one mean to
// the next), constant beyond the first and last knot (and the first knot's value for NaN).
// Non-decreasing in x.
//
// | data                                        | knots (x, y)                         |
// | ------------------------------------------- | ------------------------------------ |
// | x 1 2 3 4, y 1 3 2 4                        | (1,1) (2,2.5) (3,2.5) (4,4)          |
// | x 1 2, y 1 0, weights 3 1                   | (1,0.75) (2,0.75)                    |
// | x 1 1 2, y 0 1 0                            | (1,1/3) (2,1/3)                      |
// | one point, or every x equal                 | one knot: a constant                 |
// | empty, sizes differ, NaN/inf, weight <= 0   | InvalidArgument                      |
//
// Immutable after construction: const methods, thread-safe; copy freely.
#ifndef GEOLOC_CORE_CALIBRATION_ISOTONIC_H_
#define GEOLOC_CORE_CALIBRATION_ISOTONIC_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::calibration {

class IsotonicFunction {
 public:
  // weights empty = all 1.
  static absl::StatusOr<IsotonicFunction> Fit(absl::Span<const double> x,
                                              absl::Span<const double> y,
                                              absl::Span<const double> weights = {});
  // Unit weights, outcomes 0 or 1; the end blocks moved to their Jeffreys means (above).
  static absl::StatusOr<IsotonicFunction> FitProbability(absl::Span<const double> x,
                                                         absl::Span<const double> outcomes);
  // From stored knots: x non-decreasing with no value three times (a block's two ends at most),
  // y non-decreasing, same size >= 1, all finite. InvalidArgument otherwise.
  static absl::StatusOr<IsotonicFunction> FromKnots(std::vector<double> x, std::vector<double> y);

  double operator()(double x) const;

  const std::vector<double>& knot_x() const { return x_; }
  const std::vector<double>& knot_y() const { return y_; }

 private:
  IsotonicFunction() = default;
  std::vector<double> x_, y_;
};

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_ISOTONIC_H_
