// geoloc-loadgen: the report's arithmetic on known inputs, the runner's call accounting, and
// the binary against the fake server (count and status histogram).
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"
#include "tools/loadgen/load_report.h"
#include "tools/loadgen/load_runner.h"

namespace geoloc::loadgen {
namespace {

using ::geoloc::client::testing::CommandResult;
using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::LoadgenCommand;
using ::geoloc::client::testing::RunCommand;
using ::geoloc::client::testing::WriteTestFile;
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

class LoadgenBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeServer::Start({});
    ASSERT_NE(server_, nullptr);
    images_ = client::testing::MakeTempDir("loadgen");
    WriteTestFile(images_ + "/a.jpg", "LATLON 1 1");
    WriteTestFile(images_ + "/b.jpg", "LATLON 2 2");
    WriteTestFile(images_ + "/c.jpg", "BAD");
    WriteTestFile(images_ + "/d.jpg", "LATLON 4 4");
  }

  std::unique_ptr<FakeServer> server_;
  std::string images_;
};

google::protobuf::Struct ParseReport(const std::string& json) {
  google::protobuf::Struct report;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &report).ok()) << json;
  return report;
}

TEST_F(LoadgenBinaryTest, JsonReportCountsEveryCallByStatus) {
  CommandResult run = RunCommand(
      LoadgenCommand(absl::StrCat("--images=", images_, " --total=20 --concurrency=4 --json"),
                     server_->address()));
  ASSERT_EQ(run.exit_code, client::kExitOk) << run.err;
  google::protobuf::Struct report = ParseReport(run.out);
  const auto& fields = report.fields();
  EXPECT_EQ(fields.at("count").number_value(), 20);
  EXPECT_EQ(fields.at("endReason").string_value(), "normal");
  const auto& codes = fields.at("statusCodeDistribution").struct_value().fields();
  EXPECT_EQ(codes.at("OK").number_value(), 15);  // c.jpg is every fourth call
  EXPECT_EQ(codes.at("INVALID_ARGUMENT").number_value(), 5);
  EXPECT_EQ(codes.size(), 2u);
  const auto& errors = fields.at("errorDistribution").struct_value().fields();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors.begin()->first, HasSubstr("INVALID_ARGUMENT: cannot decode image"));
  EXPECT_EQ(errors.begin()->second.number_value(), 5);
  EXPECT_EQ(fields.at("latencyDistribution").list_value().values_size(), 7);
  double in_histogram = 0;
  for (const auto& bucket : fields.at("histogram").list_value().values()) {
    in_histogram += bucket.struct_value().fields().at("count").number_value();
  }
  EXPECT_EQ(in_histogram, 20);
  EXPECT_LE(fields.at("fastest").number_value(), fields.at("slowest").number_value());
  EXPECT_EQ(server_->locate_calls(), 20);
}

TEST_F(LoadgenBinaryTest, TextReportLooksLikeGhz) {
  CommandResult run = RunCommand(LoadgenCommand(
      absl::StrCat("--images=", images_, "/a.jpg --total=8 --concurrency=2 --rps=500"),
      server_->address()));
  ASSERT_EQ(run.exit_code, client::kExitOk) << run.err;
  for (const char* expected :
       {"Summary:", "Count:        8",
        "Requests/sec:", "Response time histogram:", "Latency distribution:", "50 % in ",
        "99 % in ", "Status code distribution:", "[OK]                   8 responses"}) {
    EXPECT_THAT(run.out, HasSubstr(expected));
  }
  EXPECT_THAT(run.out, testing::Not(HasSubstr("Error distribution")));
}

TEST_F(LoadgenBinaryTest, DurationModeAndExplain) {
  CommandResult run =
      RunCommand(LoadgenCommand(absl::StrCat("--images=", images_,
                                             "/a.jpg --duration=300ms --concurrency=2 "
                                             "--method=explain --json"),
                                server_->address()));
  ASSERT_EQ(run.exit_code, client::kExitOk) << run.err;
  google::protobuf::Struct report = ParseReport(run.out);
  const double count = report.fields().at("count").number_value();
  EXPECT_GT(count, 0);
  EXPECT_EQ(
      report.fields().at("statusCodeDistribution").struct_value().fields().at("OK").number_value(),
      count);
  EXPECT_EQ(report.fields().at("endReason").string_value(), "timeout");
  EXPECT_EQ(report.fields().at("options").struct_value().fields().at("call").string_value(),
            "geoloc.v1.Geolocator.Explain");
}

TEST_F(LoadgenBinaryTest, FailuresExitNonZero) {
  CommandResult down =
      RunCommand(LoadgenCommand(absl::StrCat("--images=", images_, " --total=5 --deadline_ms=500"),
                                absl::StrCat("127.0.0.1:", client::testing::UnusedPort())));
  EXPECT_EQ(down.exit_code, client::kExitRpcError);
  EXPECT_THAT(down.err, HasSubstr("could not connect"));

  CommandResult no_images = RunCommand(LoadgenCommand("--total=5", server_->address()));
  EXPECT_EQ(no_images.exit_code, client::kExitUsage);
  EXPECT_THAT(no_images.err, HasSubstr("--images"));

  CommandResult bad_flag = RunCommand(
      LoadgenCommand(absl::StrCat("--images=", images_, " --concurency=3"), server_->address()));
  EXPECT_EQ(bad_flag.exit_code, client::kExitUsage);
  EXPECT_THAT(bad_flag.err, HasSubstr("unknown flag --concurency"));

  const std::string empty = client::testing::MakeTempDir("empty");
  CommandResult no_files =
      RunCommand(LoadgenCommand(absl::StrCat("--images=", empty), server_->address()));
  EXPECT_EQ(no_files.exit_code, client::kExitIoError);
  EXPECT_THAT(no_files.err, HasSubstr("holds no image files"));
}

}  // namespace
}  // namespace geoloc::loadgen
