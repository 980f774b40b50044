#include "core/model/model_info.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::model {
namespace {

using ::testing::HasSubstr;

constexpr char kValid[] = R"({
  "format_version": 1,
  "name": "resnet18-gem512",
  "backbone": "resnet18",
  "head": "gem",
  "dim": 512,
  "metric": "l2",
  "input_size": [240, 320],
  "resize": "resize",
  "mean": [0.5, 0.25, 0.125],
  "std": [0.2, 0.3, 0.4],
  "fingerprint": "abc123",
  "exported_by": "tools/export_model.py",
  "extra": {"nested": [1, 2, 3]}
})";

TEST(ModelInfoTest, ParsesEveryFieldAndIgnoresUnknownOnes) {
  absl::StatusOr<ModelInfo> info = ParseModelInfoJson(kValid);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "resnet18-gem512");
  EXPECT_EQ(info->backbone, "resnet18");
  EXPECT_EQ(info->head, "gem");
  EXPECT_EQ(info->dim, 512);
  EXPECT_EQ(info->metric, Metric::kL2);
  EXPECT_EQ(info->input_height, 240);
  EXPECT_EQ(info->input_width, 320);
  EXPECT_EQ(info->resize, ResizePolicy::kResize);
  EXPECT_EQ(info->mean, (std::array<float, 3>{0.5f, 0.25f, 0.125f}));
  EXPECT_EQ(info->std, (std::array<float, 3>{0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(info->fingerprint, "abc123");
}

TEST(ModelInfoTest, OptionalFieldsTakeTheirDefaults) {
  absl::StatusOr<ModelInfo> info = ParseModelInfoJson(R"({
    "format_version": 1, "name": "m", "dim": 8, "metric": "ip", "input_size": [224, 224],
    "mean": [0, 0, 0], "std": [1, 1, 1], "fingerprint": "f"})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->backbone, "");
  EXPECT_EQ(info->head, "");
  EXPECT_EQ(info->metric, Metric::kInnerProduct);
  EXPECT_EQ(info->resize, ResizePolicy::kResizeCenterCrop);
  EXPECT_EQ(info->fp32_fingerprint, "");
}

TEST(ModelInfoTest, Int8ArchiveNamesItsFp32Original) {
  absl::StatusOr<ModelInfo> info = ParseModelInfoJson(R"({
    "format_version": 1, "name": "m-int8", "dim": 8, "metric": "ip", "input_size": [224, 224],
    "mean": [0, 0, 0], "std": [1, 1, 1], "fingerprint": "q", "fp32_fingerprint": "f"})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->fp32_fingerprint, "f");
  absl::StatusOr<std::string> printed = ModelInfoToJson(*info);
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(ParseModelInfoJson(*printed)->fp32_fingerprint, "f") << *printed;
  EXPECT_FALSE(ParseModelInfoJson(R"({
    "format_version": 1, "name": "m", "dim": 8, "metric": "ip", "input_size": [224, 224],
    "mean": [0, 0, 0], "std": [1, 1, 1], "fingerprint": "q", "fp32_fingerprint": 3})").ok());
}

TEST(ModelInfoTest, JsonRoundTripsExactly) {
  ModelInfo info;
  info.name = "quote\" back\\slash \x01 ünïcode";
  info.backbone = "resnet50";
  info.head = "netvlad";
  info.dim = 16384;
  info.metric = Metric::kL2;
  info.input_height = 480;
  info.input_width = 640;
  info.resize = ResizePolicy::kResize;
  info.mean = {0.485f, 0.456f, 0.406f};
  info.std = {0.229f, 0.224f, 1.0f / 3.0f};
  info.fingerprint = "0123456789abcdef";
  absl::StatusOr<std::string> printed = ModelInfoToJson(info);
  ASSERT_TRUE(printed.ok()) << printed.status();
  const std::string& json = *printed;
  absl::StatusOr<ModelInfo> back = ParseModelInfoJson(json);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
  EXPECT_TRUE(*back == info) << json;
  // Floats print as their shortest exact decimal, as a person would write them.
  EXPECT_THAT(json, ::testing::ContainsRegex("\"mean\": \\[[[:space:]]*0\\.485,[[:space:]]*"
                                             "0\\.456,[[:space:]]*0\\.406[[:space:]]*\\]"))
      << json;

  ModelInfo other = info;
  other.std[2] = 0.5f;
  EXPECT_TRUE(other != info);
}

TEST(ModelInfoTest, MetricAndResizeNames) {
  EXPECT_EQ(MetricName(Metric::kInnerProduct), "ip");
  EXPECT_EQ(MetricName(Metric::kL2), "l2");
  EXPECT_EQ(*ParseMetric("ip"), Metric::kInnerProduct);
  EXPECT_EQ(*ParseMetric("l2"), Metric::kL2);
  EXPECT_EQ(ParseMetric("cosine").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResizePolicyName(ResizePolicy::kResize), "resize");
  EXPECT_EQ(ResizePolicyName(ResizePolicy::kResizeCenterCrop), "resize_center_crop");
  EXPECT_EQ(*ParseResizePolicy("resize_center_crop"), ResizePolicy::kResizeCenterCrop);
  EXPECT_EQ(ParseResizePolicy("crop").status().code(), absl::StatusCode::kInvalidArgument);
}

struct InvalidCase {
  const char* what;
  const char* from;  // text in kValid to replace
  const char* to;
  const char* field;  // must appear in the error message
};

class ModelInfoInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ModelInfoInvalidTest, NamesTheBadField) {
  const InvalidCase& c = GetParam();
  const std::string json = absl::StrReplaceAll(kValid, {{c.from, c.to}});
  ASSERT_NE(json, kValid) << "the case does not change the document: " << c.what;
  absl::StatusOr<ModelInfo> info = ParseModelInfoJson(json);
  ASSERT_FALSE(info.ok()) << c.what;
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
  EXPECT_THAT(std::string(info.status().message()), HasSubstr(c.field)) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ModelInfoInvalidTest,
    ::testing::Values(
        InvalidCase{"malformed json", "\"dim\": 512,", "\"dim\": 512,,", "geoloc.json"},
        InvalidCase{"not an object", "{\n  \"format_version\"", "[{\n  \"format_version\"",
                    "geoloc.json"},
        InvalidCase{"no version", "\"format_version\": 1,", "", "\"format_version\" is missing"},
        InvalidCase{"newer version", "\"format_version\": 1,", "\"format_version\": 2,",
                    "\"format_version\""},
        InvalidCase{"no name", "\"name\": \"resnet18-gem512\",", "", "\"name\" is missing"},
        InvalidCase{"empty name", "\"resnet18-gem512\"", "\"\"", "\"name\""},
        InvalidCase{"numeric name", "\"resnet18-gem512\"", "7", "\"name\" must be a string"},
        InvalidCase{"numeric head", "\"gem\"", "3", "\"head\""},
        InvalidCase{"no dim", "\"dim\": 512,", "", "\"dim\" is missing"},
        InvalidCase{"zero dim", "\"dim\": 512", "\"dim\": 0", "\"dim\""},
        InvalidCase{"negative dim", "\"dim\": 512", "\"dim\": -4", "\"dim\""},
        InvalidCase{"fractional dim", "\"dim\": 512", "\"dim\": 51.2",
                    "\"dim\" must be an integer"},
        InvalidCase{"string dim", "\"dim\": 512", "\"dim\": \"512\"", "\"dim\" must be a number"},
        InvalidCase{"unknown metric", "\"l2\"", "\"cosine\"", "\"metric\""},
        InvalidCase{"no metric", "\"metric\": \"l2\",", "", "\"metric\" is missing"},
        InvalidCase{"one input side", "[240, 320]", "[240]", "\"input_size\""},
        InvalidCase{"zero input side", "[240, 320]", "[0, 320]", "\"input_size\""},
        InvalidCase{"huge input side", "[240, 320]", "[240, 99999]", "\"input_size\""},
        InvalidCase{"input size text", "[240, 320]", "\"240x320\"", "\"input_size\""},
        InvalidCase{"no input size", "\"input_size\": [240, 320],", "",
                    "\"input_size\" is missing"},
        InvalidCase{"unknown resize", "\"resize\": \"resize\"", "\"resize\": \"crop\"",
                    "\"resize\""},
        InvalidCase{"short mean", "[0.5, 0.25, 0.125]", "[0.5, 0.25]", "\"mean\""},
        InvalidCase{"text mean", "[0.5, 0.25, 0.125]", "[\"a\", 0.25, 0.125]", "\"mean\""},
        InvalidCase{"no mean", "\"mean\": [0.5, 0.25, 0.125],", "", "\"mean\" is missing"},
        InvalidCase{"zero std", "[0.2, 0.3, 0.4]", "[0.2, 0, 0.4]", "\"std\""},
        InvalidCase{"negative std", "[0.2, 0.3, 0.4]", "[0.2, 0.3, -0.4]", "\"std\""},
        InvalidCase{"no fingerprint", ",\n  \"fingerprint\": \"abc123\"", "",
                    "\"fingerprint\" is missing"},
        InvalidCase{"empty fingerprint", "\"abc123\"", "\"\"", "\"fingerprint\""}));

}  // namespace
}  // namespace geoloc::model
