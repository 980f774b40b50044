#include "core/calibration/reliability.h"

#include <cmath>
#include <memory>
#include <random>
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
}

}  // namespace
}  // namespace geoloc::calibration
