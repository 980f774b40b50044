// Split conformal prediction (Vovk et al.; Angelopoulos and Bates, "A Gentle Introduction to
// Conformal Prediction and Distribution-Free Uncertainty Quantification", 2021): the score
// threshold that gives a region a finite-sample coverage guarantee.
//
//   GEOLOC_ASSIGN_OR_RETURN(double q, calibration::ConformalQuantile(scores, 0.9));
//   // region for a new answer: every x with score(x) <= q (infinite q: the whole sphere)
//
// Given the non-conformity scores s_1..s_n of n calibration photos (here -log of the predictive
// density at each photo's true place) and a level a in (0, 1), the quantile is the k-th smallest
// score with k = ceil((n + 1) a), or +infinity when k > n (too few photos to promise a: the region
// must then be the whole sphere, and says so). The "+1" is the finite-sample correction: the new
// photo's score is one of n + 1 exchangeable scores, equally likely to have any rank.
//
// Guarantee: if the calibration photos and the new photo are exchangeable (e.g. drawn i.i.d. from
// one distribution of photos, database and model fixed before the draw), then
//   P(score of the new photo <= q) >= k / (n + 1) >= a,
// and with no ties among the scores also < a + 1 / (n + 1) (ConformalCoverage). It is marginal:
// over photos on average, not for each photo. What breaks it: photos from somewhere else or taken
// differently (another region, season, camera, source), a database or model other than the one the
// scores were computed with, a score function fitted on the calibration photos themselves, or
// choosing the calibration photos by their outcome. docs/CALIBRATION.md has the details.
//
// Ties: scores equal to q count as inside (score <= q), so ties only raise coverage.
//
// | n (scores) | level | k = ceil((n + 1) a) | quantile                        |
// | ---------- | ----- | ------------------- | ------------------------------- |
// | 0          | any   | 1 > 0               | +infinity (whole sphere)        |
// | 4          | 0.9   | ceil(4.5) = 5 > 4   | +infinity                       |
// | 9          | 0.9   | 9                   | the largest score               |
// | 10         | 0.9   | ceil(9.9) = 10      | the largest score (not the 9th) |
// | 19         | 0.5   | 10                  | the 10th smallest (the median)  |
//
// Levels are decimal numbers the caller meant exactly: a product (n + 1) a within 1e-9 (relative)
// of an integer counts as that integer, so 0.07 x 100 (= 7.000000000000001 in floating point) gives
// rank 7, not 8.
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_CONFORMAL_H_
#define GEOLOC_CORE_CALIBRATION_CONFORMAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::calibration {

// InvalidArgument unless 0 < level < 1.
absl::Status ValidateLevel(double level);

// k = ceil((n + 1) level) (at least 1); may exceed n. level must pass ValidateLevel (not checked).
int64_t ConformalRank(int64_t n, double level);

// The guaranteed coverage k / (n + 1), or 1 when k > n (the whole sphere covers everything).
double ConformalCoverage(int64_t n, double level);

// The quantile of the table above. InvalidArgument for a bad level or a NaN or -infinity score
// (+infinity is a valid score: a truth where the density is 0).
absl::StatusOr<double> ConformalQuantile(absl::Span<const double> scores, double level);

// The same on scores already sorted ascending (checked in debug builds only): O(1), for the
// per-answer path that holds the calibration split's sorted scores.
double ConformalQuantileOfSorted(absl::Span<const double> sorted_scores, double level);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_CONFORMAL_H_
