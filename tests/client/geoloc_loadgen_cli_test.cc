// The geoloc-loadgen command, run as a user would against the fake server: the JSON and text
// reports (count and status histogram), duration mode, Explain, and the exit codes of failures.
#include <string>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"

namespace geoloc::loadgen {
namespace {

using ::geoloc::client::testing::CommandResult;
using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::LoadgenCommand;
using ::geoloc::client::testing::RunCommand;
using ::geoloc::client::testing::WriteTestFile;
using ::testing::HasSubstr;

class LoadgenBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeServer::Start({});
    ASSERT_NE(server_, nullptr);
    WriteTestFile(images_ + "/a.jpg", "LATLON 1 1");
    WriteTestFile(images_ + "/b.jpg", "LATLON 2 2");
    WriteTestFile(images_ + "/c.jpg", "BAD");
    WriteTestFile(images_ + "/d.jpg", "LATLON 4 4");
  }

  std::unique_ptr<FakeServer> server_;
  const client::testing::ScratchDir scratch_{"loadgen"};
  const std::string images_ = scratch_.path();
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
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("Error distribution")));
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

  const client::testing::ScratchDir scratch("empty");
  const std::string& empty = scratch.path();
  CommandResult no_files =
      RunCommand(LoadgenCommand(absl::StrCat("--images=", empty), server_->address()));
  EXPECT_EQ(no_files.exit_code, client::kExitIoError);
  EXPECT_THAT(no_files.err, HasSubstr("holds no image files"));
}

}  // namespace
}  // namespace geoloc::loadgen
