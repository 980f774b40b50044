// How well probabilities match outcomes, and what abstaining buys: reliability-diagram bins,
// expected calibration error (the same 20-bin ECE as geo::ExpectedCalibrationError), the ECE's
// noise floor at the sample's size, and the risk-coverage curve of a confidence used to decide
// when to answer.
//
//   std::vector<ReliabilityBin> bins = ReliabilityBins(p_within_25km, within_25km);
//   GEOLOC_ASSIGN_OR_RETURN(EceNoise noise, EceNoiseFloor(p_within_25km, within_25km));
//   std::vector<RiskCoveragePoint> curve = RiskCoverageCurve(p_localizable, localized);
//   GEOLOC_ASSIGN_OR_RETURN(RiskCoveragePoint t, ThresholdForRisk(curve, /*max_risk=*/0.2));
//
// Outcomes are passed as doubles, 0 or 1 (std::vector<bool> cannot become a span).
//
// Reliability bins: bin b of B holds confidences in [b/B, (b+1)/B), the last also holds 1 (as
// geo::ExpectedCalibrationError); each reports its count, mean confidence and observed frequency
// (NaN for an empty bin). ECE = sum_b count_b / n |frequency_b - mean confidence_b|.
//
// ECE noise floor: the plug-in ECE is biased upwards by sampling noise (a bin of n_b photos at
// confidence p shows |frequency - p| of order sqrt(p (1 - p) / n_b) even when calibrated), so on
// a couple of thousand photos a perfectly calibrated predictor scores 0.02-0.03. EceNoiseFloor
// measures that floor by consistency resampling (Broecker and Smith 2007, "Increasing the
// reliability of reliability diagrams", with the confidences held fixed): `draws` times, every
// outcome is redrawn as Bernoulli(confidence) and the ECE recomputed over the same bins. It
// reports the draws' median and 95th percentile, the share of draws at or above the observed ECE
// (a p-value: small means miscalibrated beyond noise), and per bin the 5th-95th percentile band
// of the resampled frequency (where a calibrated bin's observed frequency falls 90% of the time).
// Beside it, the debiased estimate of the binned squared (l2) calibration error of Kumar, Liang
// and Ma 2019 ("Verified uncertainty calibration"): per bin (frequency - mean confidence)^2 minus
// the frequency's estimated variance frequency (1 - frequency) / (n_b - 1), weighted by n_b / n;
// bins of one photo add nothing (no variance estimate; as the authors' code). It is unbiased for
// the squared error of the bins with two photos or more and may come out negative (no detectable
// error); its square root, clamped at 0, estimates the l2 error, which is never below the l1 error
// of the same bins (so it is the stricter figure). Percentiles interpolate linearly
// between order statistics (numpy's default). Deterministic for a seed (a 64-bit Mersenne
// Twister, outcomes u < p with u from its top 53 bits; no library distribution).
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
// | draws < 1 (EceNoiseFloor)                              | InvalidArgument                |
//
// Pure functions: thread-safe. EceNoiseFloor costs draws x n uniform draws (1,000 draws over
// 2,000 photos: about 50 ms on the shared 2-core test machine).
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

inline constexpr int kEceNoiseDraws = 1000;
// An ECE whose share of perfect draws at or above it is below this is beyond the noise floor.
inline constexpr double kEceNoiseSignificance = 0.05;

struct EceNoiseOptions {
  int bins = kReliabilityBins;
  int draws = kEceNoiseDraws;
  uint64_t seed = 1;
};

struct EceNoise {
  double observed = 0;           // the plug-in ECE (ExpectedCalibrationError of the same bins)
  double median = 0;             // of a perfectly calibrated predictor's ECE over the draws
  double p95 = 0;
  double share_at_or_above = 0;  // of draws with ECE >= observed
  double debiased_squared = 0;   // Kumar et al.'s debiased binned l2 error, squared (may be < 0)
  double debiased_l2 = 0;        // sqrt(max(0, debiased_squared))
  // Per bin, the 5th and 95th percentile of the resampled frequency (NaN for an empty bin).
  std::vector<double> band_lower;
  std::vector<double> band_upper;
  int draws = 0;
  uint64_t seed = 0;

  bool BeyondNoise() const { return share_at_or_above < kEceNoiseSignificance; }
};

absl::StatusOr<EceNoise> EceNoiseFloor(absl::Span<const double> confidences,
                                       absl::Span<const double> outcomes,
                                       const EceNoiseOptions& options = {});

// The debiased squared l2 calibration error of bins (the definition above).
double DebiasedSquaredCalibrationError(absl::Span<const ReliabilityBin> bins);

// The q-quantile of sorted values, interpolating linearly between order statistics (numpy's
// default); NaN when empty.
double SortedQuantile(absl::Span<const double> sorted, double q);

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
