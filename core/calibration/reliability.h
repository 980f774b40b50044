// How well probabilities match outcomes, and what abstaining buys: reliability-diagram bins,
// expected calibration error (the same 20-bin ECE as geo::ExpectedCalibrationError), and the
// risk-coverage curve of a confidence used to decide when to answer.
//
//   std::vector<ReliabilityBin> bins = ReliabilityBins(p_within_25km, within_25km);
//   std::vector<RiskCoveragePoint> curve = RiskCoverageCurve(p_localizable, localized);
//   GEOLOC_ASSIGN_OR_RETURN(RiskCoveragePoint t, ThresholdForRisk(curve, /*max_risk=*/0.2));
//
// Outcomes are passed as doubles, 0 or 1 (std::vector<bool> cannot become a span).
//
// Reliability bins: bin b of B holds confidences in [b/B, (b+1)/B), the last also holds 1 (as
// geo::ExpectedCalibrationError); each reports its count, mean confidence and observed frequency
// (NaN for an empty bin). ECE = sum_b count_b / n |frequency_b - mean confidence_b|.
//
// Risk-coverage: answering only when confidence >= threshold, coverage = share of photos answered
// and risk = share of the answered that are wrong (outcome 0). One point per distinct confidence,
// from the highest threshold (fewest answers) to the lowest (coverage 1); equal confidences are
// answered or abstained together. The area under the curve (AURC, trapezoids over coverage from
// the first point) summarises it: lower is better.
//
// | input                                                  | result                         |
// | ------------------------------------------------------ | ------------------------------ |
// | empty, sizes differ, bins < 1, outcome not 0/1, NaN or | InvalidArgument                |
// |   confidence outside [0, 1] (bins)                     |                                |
// | no point with risk <= max_risk (ThresholdForRisk)      | NotFound                       |
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_RELIABILITY_H_
#define GEOLOC_CORE_CALIBRATION_RELIABILITY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::calibration {

inline constexpr int kReliabilityBins = 20;

struct ReliabilityBin {
  double lower = 0;
  double upper = 0;
  int64_t count = 0;
  double mean_confidence = 0;  // NaN when empty
  double frequency = 0;        // share of outcomes 1; NaN when empty
};

absl::StatusOr<std::vector<ReliabilityBin>> ReliabilityBins(absl::Span<const double> confidences,
                                                            absl::Span<const double> outcomes,
                                                            int bins = kReliabilityBins);

// ECE from bins (equal to geo::ExpectedCalibrationError on the same data).
double ExpectedCalibrationError(absl::Span<const ReliabilityBin> bins);

struct RiskCoveragePoint {
  double threshold = 0;  // answer when confidence >= threshold
  int64_t answered = 0;
  double coverage = 0;
  double risk = 0;
};

absl::StatusOr<std::vector<RiskCoveragePoint>> RiskCoverageCurve(
    absl::Span<const double> confidences, absl::Span<const double> outcomes);

double AreaUnderRiskCoverage(absl::Span<const RiskCoveragePoint> curve);

// The point of largest coverage whose risk is at most max_risk.
absl::StatusOr<RiskCoveragePoint> ThresholdForRisk(absl::Span<const RiskCoveragePoint> curve,
                                                   double max_risk);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_RELIABILITY_H_
