#include "core/geo/metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/geo/distance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(MetricsTest, DefaultThresholds) {
  EXPECT_THAT(DefaultThresholdsKm(), ElementsAre(0.01, 0.1, 0.5, 1, 5, 25, 200, 750, 2500));
}

TEST(MetricsTest, AccuracyIsInclusiveAndCountsNaNAsMiss) {
  const std::vector<double> errors = {0.005, 0.1, 0.3, 2, kNaN};
  const std::vector<double> thresholds = {0.01, 0.1, 1, 5};
  EXPECT_THAT(AccuracyAtThresholds(errors, thresholds), ElementsAre(0.2, 0.4, 0.6, 0.8));
  const auto empty = AccuracyAtThresholds({}, thresholds);
  ASSERT_EQ(empty.size(), 4u);
  EXPECT_TRUE(std::isnan(empty[0]));
}

TEST(MetricsTest, MedianError) {
  EXPECT_EQ(MedianError(std::vector<double>{3, 1, 2}), 2);
  EXPECT_EQ(MedianError(std::vector<double>{4, 1, 3, 2}), 2.5);
  EXPECT_EQ(MedianError(std::vector<double>{1, 2, kNaN, 5}), 3.5);
  EXPECT_TRUE(std::isinf(MedianError(std::vector<double>{1, kNaN, kNaN})));
  EXPECT_TRUE(std::isnan(MedianError({})));
}

TEST(MetricsTest, RecallAtN) {
  const LatLon q0{48.85, 2.35}, q1{40.71, -74.0}, q2{-33.87, 151.21};
  const LatLon far{0, 0};
  std::vector<std::vector<LatLon>> ranked(3);
  ranked[0] = {DestinationPoint(q0, 10, 0.010), far};             // hit at rank 1
  ranked[1] = {far, far, far, DestinationPoint(q1, 200, 0.020)};  // hit at rank 4
  ranked[2].assign(12, DestinationPoint(q2, 0, 0.030));           // 30 m: never within 25 m
  ranked[2].push_back(DestinationPoint(q2, 0, 0.024));            // hit at rank 13
  const std::vector<LatLon> queries = {q0, q1, q2};
  const std::vector<int> ns = {1, 5, 10, 20, 0};
  const auto r = RecallAtN(ranked, queries, ns);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_THAT(std::vector<double>(r.begin(), r.begin() + 4),
              ElementsAre(DoubleNear(1.0 / 3, 1e-15), DoubleNear(2.0 / 3, 1e-15),
                          DoubleNear(2.0 / 3, 1e-15), 1.0));
  EXPECT_TRUE(std::isnan(r[4]));
  // A wider radius makes query 2 a hit at rank 1.
  EXPECT_EQ(RecallAtN(ranked, queries, std::vector<int>{1}, 0.05)[0], 2.0 / 3);
  // Mismatched sizes: NaN.
  EXPECT_TRUE(std::isnan(RecallAtN(ranked, std::vector<LatLon>{q0}, ns)[0]));
}

TEST(MetricsTest, ExpectedCalibrationErrorByHand) {
  // Bins of width 0.05: {0.9, 0.9} -> acc 0.5, conf 0.9: 2/4 * 0.4 = 0.2; {0.8} -> acc 1:
  // 1/4 * 0.2 = 0.05; {0.3} -> acc 0: 1/4 * 0.3 = 0.075. Total 0.325.
  const double conf[] = {0.9, 0.9, 0.8, 0.3};
  const bool correct[] = {true, false, true, false};
  EXPECT_NEAR(ExpectedCalibrationError(conf, correct), 0.325, 1e-12);
  EXPECT_NEAR(ExpectedCalibrationError(conf, correct, 10), 0.325, 1e-12);
  // One bin: |mean accuracy - mean confidence| = |0.5 - 0.725|.
  EXPECT_NEAR(ExpectedCalibrationError(conf, correct, 1), 0.225, 1e-12);
  // Perfect calibration.
  const double half[] = {0.5, 0.5, 1.0};
  const bool outcome[] = {true, false, true};
  EXPECT_NEAR(ExpectedCalibrationError(half, outcome), 0.0, 1e-15);
}

TEST(MetricsTest, ExpectedCalibrationErrorUndefinedCases) {
  const double conf[] = {0.5, 1.2};
  const bool correct[] = {true, false};
  EXPECT_TRUE(std::isnan(ExpectedCalibrationError(conf, correct)));
  const double ok[] = {0.5, 0.6};
  EXPECT_TRUE(std::isnan(ExpectedCalibrationError(ok, correct, 0)));
  EXPECT_TRUE(std::isnan(ExpectedCalibrationError(ok, absl::Span<const bool>(correct, 1))));
  EXPECT_TRUE(std::isnan(ExpectedCalibrationError({}, {})));
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
