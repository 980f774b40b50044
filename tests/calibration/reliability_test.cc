#include "core/calibration/reliability.h"

#include <cmath>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "core/geo/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

TEST(ReliabilityTest, BinsByHand) {
  const std::vector<double> c = {0.01, 0.04, 0.52, 0.54, 0.97, 1.0};
  const std::vector<double> o = {0, 1, 1, 1, 1, 0};
  const std::vector<ReliabilityBin> bins = *ReliabilityBins(c, o);
  ASSERT_EQ(bins.size(), 20u);
  EXPECT_EQ(bins[0].count, 2);
  EXPECT_NEAR(bins[0].mean_confidence, 0.025, 1e-15);
  EXPECT_NEAR(bins[0].frequency, 0.5, 1e-15);
  EXPECT_EQ(bins[10].count, 2);
  EXPECT_EQ(bins[19].count, 2);  // 0.97 and 1.0 (the last bin holds 1)
  EXPECT_TRUE(std::isnan(bins[5].mean_confidence));
  EXPECT_EQ(bins[5].count, 0);
  // ECE = 2/6 |0.5 - 0.025| + 2/6 |1 - 0.53| + 2/6 |0.5 - 0.985|
  EXPECT_NEAR(ExpectedCalibrationError(bins), (0.475 + 0.47 + 0.485) / 3, 1e-12);
}

TEST(ReliabilityTest, EceMatchesGeoMetrics) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = 1000;
  std::vector<double> c(n), o(n);
  std::unique_ptr<bool[]> correct(new bool[n]);
  for (int i = 0; i < n; ++i) {
    c[i] = u(rng);
    o[i] = u(rng) < c[i] * c[i];
    correct[i] = o[i] == 1;
  }
  EXPECT_NEAR(ExpectedCalibrationError(*ReliabilityBins(c, o)),
              geo::ExpectedCalibrationError(c, absl::MakeConstSpan(correct.get(), n), 20), 1e-12);
}

TEST(ReliabilityTest, RiskCoverageByHand) {
  // Confidences 0.9 (right), 0.8 (wrong), 0.8 (right), 0.3 (wrong).
  const std::vector<RiskCoveragePoint> curve =
      *RiskCoverageCurve({0.8, 0.9, 0.3, 0.8}, {0, 1, 0, 1});
  ASSERT_EQ(curve.size(), 3u);  // the tie at 0.8 is one point
  EXPECT_EQ(curve[0].threshold, 0.9);
  EXPECT_EQ(curve[0].answered, 1);
  EXPECT_EQ(curve[0].risk, 0);
  EXPECT_EQ(curve[1].threshold, 0.8);
  EXPECT_EQ(curve[1].answered, 3);
  EXPECT_NEAR(curve[1].coverage, 0.75, 1e-15);
  EXPECT_NEAR(curve[1].risk, 1.0 / 3, 1e-15);
  EXPECT_EQ(curve[2].coverage, 1.0);
  EXPECT_NEAR(curve[2].risk, 0.5, 1e-15);
  EXPECT_NEAR(AreaUnderRiskCoverage(curve),
              0.5 * (0 + 1.0 / 3) * 0.5 + 0.5 * (1.0 / 3 + 0.5) * 0.25, 1e-15);
  EXPECT_EQ(ThresholdForRisk(curve, 0.4)->threshold, 0.8);
  EXPECT_EQ(ThresholdForRisk(curve, 0.0)->threshold, 0.9);
  EXPECT_EQ(ThresholdForRisk(curve, 1.0)->coverage, 1.0);
  EXPECT_EQ(ThresholdForRisk({}, 0.5).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReliabilityTest, RefusesBadInput) {
  EXPECT_FALSE(ReliabilityBins({}, {}).ok());
  EXPECT_FALSE(ReliabilityBins({0.5}, {1, 0}).ok());
  EXPECT_FALSE(ReliabilityBins({0.5}, {2}).ok());
  EXPECT_FALSE(ReliabilityBins({1.5}, {1}).ok());
  EXPECT_FALSE(ReliabilityBins({NAN}, {1}).ok());
  EXPECT_FALSE(ReliabilityBins({0.5}, {1}, 0).ok());
  EXPECT_FALSE(RiskCoverageCurve({0.5}, {0.5}).ok());
  EXPECT_FALSE(RiskCoverageCurve({NAN}, {1}).ok());
  EceNoiseOptions no_draws;
  no_draws.draws = 0;
  EXPECT_EQ(EceNoiseFloor({0.5}, {1}, no_draws).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EceNoiseFloor({0.5}, {2}).ok());
}

TEST(EceNoiseTest, QuantilesByHand) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(SortedQuantile(v, 0), 1);
  EXPECT_DOUBLE_EQ(SortedQuantile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(SortedQuantile(v, 0.95), 3.85);  // h = 3 x 0.95 = 2.85
  EXPECT_DOUBLE_EQ(SortedQuantile(v, 1), 4);
  EXPECT_DOUBLE_EQ(SortedQuantile({7}, 0.3), 7);
  EXPECT_TRUE(std::isnan(SortedQuantile({}, 0.5)));
}

TEST(EceNoiseTest, DebiasedErrorByHand) {
  // Bin 4: four photos at 0.2, one hit: (0.25 - 0.2)^2 - 0.25 x 0.75 / 3 = -0.06.
  // Bin 18: one photo at 0.9, a miss: no variance estimate, left out (but counted in n = 5).
  const std::vector<ReliabilityBin> bins =
      *ReliabilityBins({0.2, 0.2, 0.2, 0.2, 0.9}, {1, 0, 0, 0, 0});
  EXPECT_NEAR(DebiasedSquaredCalibrationError(bins), 0.8 * -0.06, 1e-15);
  const EceNoise noise = *EceNoiseFloor({0.2, 0.2, 0.2, 0.2, 0.9}, {1, 0, 0, 0, 0});
  EXPECT_NEAR(noise.debiased_squared, -0.048, 1e-15);
  EXPECT_EQ(noise.debiased_l2, 0);  // no detectable error
  // Four photos at 0.5, all hits: 0.5^2 - 1 x 0 / 3 = 0.25.
  const EceNoise off = *EceNoiseFloor({0.5, 0.5, 0.5, 0.5}, {1, 1, 1, 1});
  EXPECT_NEAR(off.debiased_squared, 0.25, 1e-15);
  EXPECT_NEAR(off.debiased_l2, 0.5, 1e-15);
}

TEST(EceNoiseTest, CertainConfidencesHaveNoNoise) {
  // Confidences 0 and 1 draw their outcomes without randomness: every draw's ECE is 0.
  const EceNoise right = *EceNoiseFloor({0, 0, 1, 1, 1}, {0, 0, 1, 1, 1});
  EXPECT_EQ(right.observed, 0);
  EXPECT_EQ(right.median, 0);
  EXPECT_EQ(right.p95, 0);
  EXPECT_EQ(right.share_at_or_above, 1);
  EXPECT_FALSE(right.BeyondNoise());
  ASSERT_EQ(right.band_lower.size(), 20u);
  EXPECT_EQ(right.band_lower[0], 0);
  EXPECT_EQ(right.band_upper[0], 0);
  EXPECT_EQ(right.band_lower[19], 1);
  EXPECT_EQ(right.band_upper[19], 1);
  EXPECT_TRUE(std::isnan(right.band_lower[7]));  // empty
  const EceNoise wrong = *EceNoiseFloor({0, 0, 1, 1, 1}, {0, 0, 1, 1, 0});
  EXPECT_NEAR(wrong.observed, 0.2, 1e-15);  // 3/5 x |2/3 - 1|
  EXPECT_EQ(wrong.share_at_or_above, 0);
  EXPECT_TRUE(wrong.BeyondNoise());
}

TEST(EceNoiseTest, OneBinAtOneHalfMatchesTheBinomial) {
  // 400 photos at 0.5: ECE = |K / 400 - 0.5| with K ~ Binomial(400, 0.5) (sd 0.025). Its median
  // is 7 / 400 = 0.0175 and its 95th percentile 20 / 400 = 0.05 (exact binomial:
  // P(|K - 200| <= 6) = 0.484, <= 7: 0.547; <= 19: 0.949, <= 20: 0.960); the frequency's 5th and
  // 95th percentiles are 184 / 400 = 0.46 and 216 / 400 = 0.54 (P(K <= 183) = 0.049,
  // P(K <= 184) = 0.061; P(K <= 215) = 0.940, P(K <= 216) = 0.951).
  const std::vector<double> c(400, 0.5);
  std::vector<double> o(400, 0);
  for (int i = 0; i < 200; ++i) o[i] = 1;
  const EceNoise noise = *EceNoiseFloor(c, o);
  EXPECT_EQ(noise.observed, 0);
  EXPECT_EQ(noise.share_at_or_above, 1);
  // 1,000 draws: the sample median lands within a step (0.0025) or so of the true one.
  EXPECT_GE(noise.median, 0.015);
  EXPECT_LE(noise.median, 0.020);
  EXPECT_GE(noise.p95, 0.045);
  EXPECT_LE(noise.p95, 0.055);
  EXPECT_NEAR(noise.band_lower[10], 0.46, 0.0051);
  EXPECT_NEAR(noise.band_upper[10], 0.54, 0.0051);
}

// n photos with confidences uniform on [0, 1] and outcomes Bernoulli(confidence), from a 64-bit
// Mersenne Twister (no library distribution: the same sample everywhere).
void CalibratedSample(int n, uint64_t seed, std::vector<double>* c, std::vector<double>* o) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  c->resize(n);
  o->resize(n);
  for (int i = 0; i < n; ++i) {
    (*c)[i] = uniform();
    (*o)[i] = uniform() < (*c)[i] ? 1 : 0;
  }
}

// Bins whose observed frequency lies outside the 5-95% band, and bins with photos.
std::pair<int, int> BinsOutsideBand(const std::vector<double>& c, const std::vector<double>& o,
                                    const EceNoise& noise) {
  const std::vector<ReliabilityBin> bins = *ReliabilityBins(c, o);
  int outside = 0, occupied = 0;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b].count == 0) continue;
    ++occupied;
    outside += bins[b].frequency < noise.band_lower[b] || bins[b].frequency > noise.band_upper[b];
  }
  return {outside, occupied};
}

TEST(EceNoiseTest, ACalibratedSampleLandsInsideTheNoise) {
  std::vector<double> c, o;
  CalibratedSample(2000, 11, &c, &o);
  const EceNoise noise = *EceNoiseFloor(c, o);
  // 100 photos per bin: the plug-in ECE of a calibrated P is about 0.8 x sqrt(p (1 - p) / 100)
  // averaged over p, about 0.03; the debiased l2 error removes that bias.
  EXPECT_GT(noise.observed, 0.015);
  EXPECT_GT(noise.median, 0.02);
  EXPECT_LT(noise.median, 0.04);
  EXPECT_LE(noise.observed, noise.p95);
  EXPECT_GE(noise.share_at_or_above, kEceNoiseSignificance);
  EXPECT_FALSE(noise.BeyondNoise());
  EXPECT_LT(noise.debiased_l2, 0.02);
  const auto [outside, occupied] = BinsOutsideBand(c, o, noise);
  EXPECT_EQ(occupied, 20);
  EXPECT_LE(outside, 4);  // 10% of 20 bins expected outside a 5-95% band
}

TEST(EceNoiseTest, AShiftedSampleLandsOutsideTheNoise) {
  std::vector<double> c, o;
  CalibratedSample(2000, 11, &c, &o);
  for (double& p : c) p = std::min(1.0, p + 0.1);  // every probability 0.1 too high
  const EceNoise noise = *EceNoiseFloor(c, o);
  EXPECT_GT(noise.observed, noise.p95);
  EXPECT_EQ(noise.share_at_or_above, 0);
  EXPECT_TRUE(noise.BeyondNoise());
  EXPECT_GT(noise.debiased_l2, 0.07);
  EXPECT_LT(noise.debiased_l2, 0.11);
  const auto [outside, occupied] = BinsOutsideBand(c, o, noise);
  EXPECT_EQ(occupied, 18);  // nothing below 0.1
  EXPECT_GE(outside, 12);  // 14 of 18 with this sample; a calibrated one has 1 of 20
}

TEST(EceNoiseTest, DeterministicUnderTheSeed) {
  std::vector<double> c, o;
  CalibratedSample(500, 5, &c, &o);
  const EceNoise a = *EceNoiseFloor(c, o);
  const EceNoise b = *EceNoiseFloor(c, o);
  EXPECT_EQ(a.median, b.median);
  EXPECT_EQ(a.p95, b.p95);
  EXPECT_EQ(a.share_at_or_above, b.share_at_or_above);
  EXPECT_EQ(a.band_lower, b.band_lower);
  EXPECT_EQ(a.band_upper, b.band_upper);
  EXPECT_EQ(a.seed, 1u);
  EXPECT_EQ(a.draws, kEceNoiseDraws);
  EceNoiseOptions other;
  other.seed = 2;
  const EceNoise c2 = *EceNoiseFloor(c, o, other);
  EXPECT_NE(a.band_lower, c2.band_lower);
  EXPECT_EQ(a.observed, c2.observed);
}

}  // namespace
}  // namespace geoloc::calibration
