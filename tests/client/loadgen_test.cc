// geoloc-loadgen's library: the report's arithmetic on known inputs and the runner's call
// accounting (the binary: geoloc_loadgen_cli_test.cc).
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/loadgen/load_report.h"
#include "tools/loadgen/load_runner.h"

namespace geoloc::loadgen {
namespace {

using ::testing::HasSubstr;

TEST(LoadReportTest, PercentilesAndSummaryOfKnownLatencies) {
  LoadResult result;
  for (int ms = 100; ms >= 1; --ms) result.latencies.push_back(absl::Milliseconds(ms));
  result.code_counts[0] = 90;
  result.code_counts[3] = 10;
  result.errors["INVALID_ARGUMENT: bad"] = 10;
  result.elapsed = absl::Seconds(4);
  result.end_reason = "normal";

  Report report = BuildReport(result);
  EXPECT_EQ(report.count, 100);
  EXPECT_DOUBLE_EQ(report.rps, 25.0);
  EXPECT_EQ(report.fastest, absl::Milliseconds(1));
  EXPECT_EQ(report.slowest, absl::Milliseconds(100));
  EXPECT_EQ(report.average, absl::Microseconds(50500));
  std::map<int, absl::Duration> percentiles(report.percentiles.begin(), report.percentiles.end());
  EXPECT_EQ(percentiles[50], absl::Milliseconds(50));
  EXPECT_EQ(percentiles[90], absl::Milliseconds(90));
  EXPECT_EQ(percentiles[95], absl::Milliseconds(95));
  EXPECT_EQ(percentiles[99], absl::Milliseconds(99));
  EXPECT_EQ(report.status_codes.at("OK"), 90);
  EXPECT_EQ(report.status_codes.at("INVALID_ARGUMENT"), 10);
  ASSERT_EQ(report.histogram.size(), 11u);
  int64_t in_histogram = 0;
  for (const HistogramBucket& bucket : report.histogram) in_histogram += bucket.count;
  EXPECT_EQ(in_histogram, 100);
  EXPECT_EQ(report.histogram.front().count, 1);  // only the fastest sits at the first mark
  EXPECT_EQ(report.histogram.back().mark, absl::Milliseconds(100));
}

TEST(LoadReportTest, SmallSamplesAndEmptyRuns) {
  EXPECT_EQ(Percentile({}, 50), absl::ZeroDuration());
  EXPECT_EQ(Percentile({absl::Milliseconds(7)}, 99), absl::Milliseconds(7));
  EXPECT_EQ(Percentile({absl::Milliseconds(1), absl::Milliseconds(2)}, 50), absl::Milliseconds(1));
  Report empty = BuildReport(LoadResult());
  EXPECT_EQ(empty.count, 0);
  EXPECT_TRUE(empty.histogram.empty());
  EXPECT_THAT(FormatReportText(empty, {}), HasSubstr("Count:        0"));
}

TEST(LoadRunnerTest, MakesExactlyTotalCallsWithEveryIndexOnce) {
  ResetStop();
  std::mutex mu;
  std::multiset<int64_t> indexes;
  LoadOptions options;
  options.concurrency = 4;
  options.total = 101;
  LoadResult result = RunLoad(options, [&](int64_t index) {
    std::lock_guard<std::mutex> lock(mu);
    indexes.insert(index);
    return index % 10 == 0 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  EXPECT_EQ(result.latencies.size(), 101u);
  EXPECT_EQ(indexes.size(), 101u);
  for (int64_t i = 0; i < 101; ++i) EXPECT_EQ(indexes.count(i), 1u) << i;
  EXPECT_EQ(result.code_counts[0], 90);
  EXPECT_EQ(result.code_counts[14], 11);  // UNAVAILABLE
  EXPECT_EQ(result.errors.at("UNAVAILABLE: down"), 11);
  EXPECT_EQ(result.end_reason, "normal");
}

TEST(LoadRunnerTest, DurationAndStopEndTheRun) {
  ResetStop();
  LoadOptions options;
  options.concurrency = 2;
  options.total = 0;
  options.duration = absl::Milliseconds(100);
  std::atomic<int64_t> calls{0};
  LoadResult timed = RunLoad(options, [&](int64_t) {
    ++calls;
    absl::SleepFor(absl::Milliseconds(1));
    return absl::OkStatus();
  });
  EXPECT_EQ(timed.end_reason, "timeout");
  EXPECT_EQ(static_cast<int64_t>(timed.latencies.size()), calls.load());

  options.duration = absl::ZeroDuration();
  options.total = 1000000;
  LoadResult stopped = RunLoad(options, [&](int64_t index) {
    if (index == 5) RequestStop();
    return absl::OkStatus();
  });
  ResetStop();
  EXPECT_EQ(stopped.end_reason, "cancel");
  EXPECT_LT(stopped.latencies.size(), 1000000u);
}

}  // namespace
}  // namespace geoloc::loadgen
