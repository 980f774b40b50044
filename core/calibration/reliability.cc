#include "core/calibration/reliability.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"

namespace geoloc::calibration {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::Status CheckPairs(absl::Span<const double> confidences, absl::Span<const double> outcomes) {
  if (confidences.empty() || confidences.size() != outcomes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        confidences.size(), " confidences and ", outcomes.size(), " outcomes (need n >= 1 each)"));
  }
  for (size_t i = 0; i < confidences.size(); ++i) {
    if (!(outcomes[i] == 0 || outcomes[i] == 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcome ", i, " is ", outcomes[i], ": outcomes are 0 or 1"));
    }
    if (std::isnan(confidences[i])) {
      return absl::InvalidArgumentError(absl::StrCat("confidence ", i, " is NaN"));
    }
  }
  return absl::OkStatus();
}

int64_t TotalCount(absl::Span<const ReliabilityBin> bins) {
  int64_t n = 0;
  for (const ReliabilityBin& b : bins) n += b.count;
  return n;
}

}  // namespace

absl::StatusOr<std::vector<ReliabilityBin>> ReliabilityBins(absl::Span<const double> confidences,
                                                            absl::Span<const double> outcomes,
                                                            int bins) {
  if (absl::Status s = CheckPairs(confidences, outcomes); !s.ok()) return s;
  if (bins < 1) return absl::InvalidArgumentError("reliability diagrams need at least one bin");
  std::vector<ReliabilityBin> out(bins);
  std::vector<double> sum_c(bins, 0.0), sum_o(bins, 0.0);
  for (int b = 0; b < bins; ++b) {
    out[b].lower = static_cast<double>(b) / bins;
    out[b].upper = static_cast<double>(b + 1) / bins;
  }
  for (size_t i = 0; i < confidences.size(); ++i) {
    const double c = confidences[i];
    if (!(c >= 0 && c <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("confidence ", i, " is ", c, ": a probability lies in [0, 1]"));
    }
    const int b = std::min(bins - 1, static_cast<int>(c * bins));
    ++out[b].count;
    sum_c[b] += c;
    sum_o[b] += outcomes[i];
  }
  for (int b = 0; b < bins; ++b) {
    const double n = static_cast<double>(out[b].count);
    out[b].mean_confidence = out[b].count > 0 ? sum_c[b] / n : kNaN;
    out[b].frequency = out[b].count > 0 ? sum_o[b] / n : kNaN;
  }
  return out;
}

double ExpectedCalibrationError(absl::Span<const ReliabilityBin> bins) {
  const int64_t n = TotalCount(bins);
  if (n == 0) return kNaN;
  double ece = 0;
  for (const ReliabilityBin& b : bins) {
    if (b.count > 0) {
      ece += static_cast<double>(b.count) / n * std::abs(b.frequency - b.mean_confidence);
    }
  }
  return ece;
}

double SortedQuantile(absl::Span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double h = (static_cast<double>(sorted.size()) - 1) * std::clamp(q, 0.0, 1.0);
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

double DebiasedSquaredCalibrationError(absl::Span<const ReliabilityBin> bins) {
  const int64_t n = TotalCount(bins);
  if (n == 0) return kNaN;
  double sum = 0;
  for (const ReliabilityBin& b : bins) {
    if (b.count < 2) continue;  // no variance estimate: left out, as Kumar et al.'s code does
    const double gap = b.frequency - b.mean_confidence;
    const double variance = b.frequency * (1 - b.frequency) / static_cast<double>(b.count - 1);
    sum += static_cast<double>(b.count) / static_cast<double>(n) * (gap * gap - variance);
  }
  return sum;
}

absl::StatusOr<EceNoise> EceNoiseFloor(absl::Span<const double> confidences,
                                       absl::Span<const double> outcomes,
                                       const EceNoiseOptions& options) {
  if (options.draws < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ECE's noise floor needs at least one draw, not ", options.draws));
  }
  absl::StatusOr<std::vector<ReliabilityBin>> observed_bins =
      ReliabilityBins(confidences, outcomes, options.bins);
  if (!observed_bins.ok()) return observed_bins.status();
  const int bins = options.bins;
  EceNoise out;
  out.draws = options.draws;
  out.seed = options.seed;
  out.observed = ExpectedCalibrationError(*observed_bins);
  out.debiased_squared = DebiasedSquaredCalibrationError(*observed_bins);
  out.debiased_l2 = std::sqrt(std::max(0.0, out.debiased_squared));

  std::vector<int> bin_of(confidences.size());
  for (size_t i = 0; i < confidences.size(); ++i) {
    bin_of[i] = std::min(bins - 1, static_cast<int>(confidences[i] * bins));
  }
  // A draw's bins: the observed ones with the frequency redrawn (counts and mean confidences are
  // the confidences', fixed), so its ECE is computed exactly as the observed one.
  std::vector<ReliabilityBin> drawn = *observed_bins;
  std::vector<double> hits(bins);
  std::vector<double> eces(options.draws);
  std::vector<std::vector<double>> frequencies(bins);
  for (int b = 0; b < bins; ++b) {
    if (drawn[b].count > 0) frequencies[b].resize(options.draws);
  }
  std::mt19937_64 rng(options.seed);
  for (int d = 0; d < options.draws; ++d) {
    std::fill(hits.begin(), hits.end(), 0.0);
    for (size_t i = 0; i < confidences.size(); ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
      if (u < confidences[i]) hits[bin_of[i]] += 1;
    }
    for (int b = 0; b < bins; ++b) {
      if (drawn[b].count == 0) continue;
      drawn[b].frequency = hits[b] / static_cast<double>(drawn[b].count);
      frequencies[b][d] = drawn[b].frequency;
    }
    eces[d] = ExpectedCalibrationError(drawn);
  }
  std::sort(eces.begin(), eces.end());
  out.median = SortedQuantile(eces, 0.5);
  out.p95 = SortedQuantile(eces, 0.95);
  // Draws whose ECE equals the observed one mathematically may differ from it in the last bits.
  const double at_least = out.observed - 1e-12;
  out.share_at_or_above =
      static_cast<double>(eces.end() - std::lower_bound(eces.begin(), eces.end(), at_least)) /
      static_cast<double>(options.draws);
  out.band_lower.assign(bins, kNaN);
  out.band_upper.assign(bins, kNaN);
  for (int b = 0; b < bins; ++b) {
    if (frequencies[b].empty()) continue;
    std::sort(frequencies[b].begin(), frequencies[b].end());
    out.band_lower[b] = SortedQuantile(frequencies[b], 0.05);
    out.band_upper[b] = SortedQuantile(frequencies[b], 0.95);
  }
  return out;
}

absl::StatusOr<std::vector<RiskCoveragePoint>> RiskCoverageCurve(
    absl::Span<const double> confidences, absl::Span<const double> outcomes) {
  if (absl::Status s = CheckPairs(confidences, outcomes); !s.ok()) return s;
  const size_t n = confidences.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return confidences[a] > confidences[b]; });
  std::vector<RiskCoveragePoint> curve;
  double wrong = 0;
  for (size_t r = 0; r < n; ++r) {
    wrong += 1.0 - outcomes[order[r]];
    const bool last_of_tie = r + 1 == n || confidences[order[r + 1]] != confidences[order[r]];
    if (!last_of_tie) continue;
    RiskCoveragePoint p;
    p.threshold = confidences[order[r]];
    p.answered = static_cast<int64_t>(r + 1);
    p.coverage = static_cast<double>(r + 1) / static_cast<double>(n);
    p.risk = wrong / static_cast<double>(r + 1);
    curve.push_back(p);
  }
  return curve;
}

double AreaUnderRiskCoverage(absl::Span<const RiskCoveragePoint> curve) {
  double area = 0;
  for (size_t i = 1; i < curve.size(); ++i) {
    area += 0.5 * (curve[i].risk + curve[i - 1].risk) * (curve[i].coverage - curve[i - 1].coverage);
  }
  return area;
}

absl::StatusOr<RiskCoveragePoint> ThresholdForRisk(absl::Span<const RiskCoveragePoint> curve,
                                                   double max_risk) {
  const RiskCoveragePoint* best = nullptr;
  for (const RiskCoveragePoint& p : curve) {
    if (p.risk <= max_risk && (best == nullptr || p.coverage > best->coverage)) best = &p;
  }
  if (best == nullptr) {
    return absl::NotFoundError(absl::StrCat("no threshold keeps the risk at or below ", max_risk));
  }
  return *best;
}

}  // namespace geoloc::calibration
