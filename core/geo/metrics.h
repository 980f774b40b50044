// Evaluation metrics for geolocation: accuracy at distance thresholds (seed 000 and the im2gps
// scales), median error, recall@N of the retrieval (seeds 003/004) and expected calibration error
// (seed 001).
//
//   std::vector<double> acc = geo::AccuracyAtThresholds(errors_km, geo::DefaultThresholdsKm());
//   double ece = geo::ExpectedCalibrationError(confidences, correct);  // 20 bins
//
// None of these fail: an undefined value is NaN, as the case tables say. A NaN error (a query the
// estimator could not answer) counts as infinitely far: it is never within a threshold and sorts
// above every finite error in the median. Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_METRICS_H_
#define GEOLOC_CORE_GEO_METRICS_H_

#include <vector>

#include "absl/types/span.h"
#include "core/geo/lat_lon.h"

namespace geoloc {
namespace geo {

// {0.01, 0.1, 0.5, 1, 5, 25, 200, 750, 2500} km: the seed's 10 m .. 5 km and the im2gps scales
// (street 1 km, city 25 km, region 200 km, country 750 km, continent 2500 km).
std::vector<double> DefaultThresholdsKm();

// For each threshold t: the share of errors with error <= t (inclusive, as in the seed).
//   errors empty -> NaN for every threshold.
std::vector<double> AccuracyAtThresholds(absl::Span<const double> errors_km,
                                         absl::Span<const double> thresholds_km);

// The median (mean of the two middle values for an even count); NaN errors count as +infinity.
//   empty -> NaN;  {3, 1, 2} -> 2;  {4, 1, 3, 2} -> 2.5;  {1, NaN, NaN} -> +inf
double MedianError(absl::Span<const double> errors_km);

// recall@N for each N in `ns`: the share of queries with at least one of their first N ranked
// neighbours within radius_km (great-circle) of the query's true position. A query with fewer than
// N neighbours uses all it has.
//
//   case                                                 result
//   no queries, or ranked/query sizes differ             NaN for every N
//   N < 1                                                NaN for that N
std::vector<double> RecallAtN(const std::vector<std::vector<LatLon>>& ranked_neighbor_positions,
                              absl::Span<const LatLon> query_positions, absl::Span<const int> ns,
                              double radius_km = 0.025);

// Expected calibration error (Guo et al. 2017): sum over equal-width confidence bins b of
// |b| / n * |accuracy(b) - mean confidence(b)|. Bin b of B holds confidences in [b/B, (b+1)/B);
// the last bin also holds 1. Empty bins contribute nothing.
//
//   case                                                 result
//   empty, sizes differ, bins < 1                        NaN
//   a confidence NaN or outside [0, 1]                   NaN
//
// std::vector<bool> has no contiguous storage, so it cannot become a Span<const bool>: keep the
// outcomes in a std::unique_ptr<bool[]>, absl::FixedArray<bool> or bool array.
double ExpectedCalibrationError(absl::Span<const double> confidences,
                                absl::Span<const bool> correct, int bins = 20);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_METRICS_H_
