#include "core/model/preprocess.h"

#include <vector>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace geoloc::model {
namespace {

ModelInfo Info(int height, int width, ResizePolicy policy) {
  ModelInfo info;
  info.input_height = height;
  info.input_width = width;
  info.resize = policy;
  return info;  // ImageNet mean/std defaults
}

// (v / 255 - mean) / std, written out independently of the code under test.
float Normalised(int v, int channel, const ModelInfo& info) {
  return static_cast<float>((v / 255.0 - info.mean[channel]) / info.std[channel]);
}

std::vector<float> Preprocessed(const cv::Mat& bgr, const ModelInfo& info) {
  std::vector<float> out(PreprocessedSize(info), -1e9f);
  absl::Status status = PreprocessInto(bgr, info, out.data());
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// Expects every pixel of `out` to be the RGB colour `rgb`.
void ExpectUniform(const std::vector<float>& out, const ModelInfo& info, cv::Vec3i rgb) {
  for (size_t i = 0; i < out.size(); ++i) {
    const int c = static_cast<int>(i % 3);
    ASSERT_NEAR(out[i], Normalised(rgb[c], c, info), 1e-5) << "at float " << i;
  }
}

TEST(PreprocessTest, SizeIsHeightTimesWidthTimesThree) {
  EXPECT_EQ(PreprocessedSize(Info(224, 224, ResizePolicy::kResize)), 224u * 224u * 3u);
  EXPECT_EQ(PreprocessedSize(Info(240, 320, ResizePolicy::kResize)), 240u * 320u * 3u);
}

TEST(PreprocessTest, UniformColourGivesHandComputedValuesForBothPolicies) {
  // BGR (30, 120, 200) is RGB (200, 120, 30); any size and aspect ratio.
  const cv::Mat bgr(333, 517, CV_8UC3, cv::Scalar(30, 120, 200));
  for (ResizePolicy policy : {ResizePolicy::kResizeCenterCrop, ResizePolicy::kResize}) {
    ModelInfo info = Info(224, 224, policy);
    std::vector<float> out = Preprocessed(bgr, info);
    ExpectUniform(out, info, {200, 120, 30});
    // Spelled out for the first pixel: R = (200/255 - 0.485) / 0.229 = 1.3070...
    EXPECT_NEAR(out[0], 1.30708, 1e-4);
    EXPECT_NEAR(out[1], (120 / 255.0 - 0.456) / 0.224, 1e-5);
    EXPECT_NEAR(out[2], (30 / 255.0 - 0.406) / 0.225, 1e-5);
  }
}

TEST(PreprocessTest, CustomMeanAndStd) {
  ModelInfo info = Info(4, 4, ResizePolicy::kResize);
  info.mean = {0.5f, 0.0f, 1.0f};
  info.std = {0.25f, 1.0f, 0.5f};
  const cv::Mat bgr(4, 4, CV_8UC3, cv::Scalar(0, 255, 255));  // RGB (255, 255, 0)
  std::vector<float> out = Preprocessed(bgr, info);
  EXPECT_NEAR(out[0], 2.0f, 1e-6);   // (1 - 0.5) / 0.25
  EXPECT_NEAR(out[1], 1.0f, 1e-6);   // (1 - 0) / 1
  EXPECT_NEAR(out[2], -2.0f, 1e-6);  // (0 - 1) / 0.5
}

TEST(PreprocessTest, LayoutIsHwcRgb) {
  // No resize (2x3 in, 2x3 out): every pixel distinct, checked at its HWC index.
  ModelInfo info = Info(2, 3, ResizePolicy::kResize);
  info.mean = {0, 0, 0};
  info.std = {1, 1, 1};
  cv::Mat bgr(2, 3, CV_8UC3);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(10 * x, 20 * y, 40 + x + y);
  }
  std::vector<float> out = Preprocessed(bgr, info);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) {
      const float* px = &out[(y * 3 + x) * 3];
      EXPECT_FLOAT_EQ(px[0], (40 + x + y) / 255.0f) << y << "," << x;  // R from B-G-R's last
      EXPECT_FLOAT_EQ(px[1], 20 * y / 255.0f);
      EXPECT_FLOAT_EQ(px[2], 10 * x / 255.0f);
    }
  }
}

// Three vertical stripes, 100 columns each: red | green | blue.
cv::Mat Stripes() {
  cv::Mat bgr(100, 300, CV_8UC3);
  bgr.colRange(0, 100).setTo(cv::Scalar(0, 0, 255));
  bgr.colRange(100, 200).setTo(cv::Scalar(0, 255, 0));
  bgr.colRange(200, 300).setTo(cv::Scalar(255, 0, 0));
  return bgr;
}

TEST(PreprocessTest, CenterCropKeepsOnlyTheMiddleOfAWideImage) {
  ModelInfo info = Info(10, 10, ResizePolicy::kResizeCenterCrop);
  ExpectUniform(Preprocessed(Stripes(), info), info, {0, 255, 0});
}

TEST(PreprocessTest, CenterCropKeepsOnlyTheMiddleOfATallImage) {
  cv::Mat tall;
  cv::transpose(Stripes(), tall);  // 100 wide, 300 high: red, green, blue from the top
  ModelInfo info = Info(7, 7, ResizePolicy::kResizeCenterCrop);
  ExpectUniform(Preprocessed(tall, info), info, {0, 255, 0});
}

TEST(PreprocessTest, ResizeSquashesTheWholeImage) {
  // 300x100 -> 30x10 is an exact 10x area reduction: stripes stay pure, 10 columns each.
  ModelInfo info = Info(10, 30, ResizePolicy::kResize);
  std::vector<float> out = Preprocessed(Stripes(), info);
  for (int x = 0; x < 30; ++x) {
    const float* px = &out[(5 * 30 + x) * 3];
    const cv::Vec3i rgb = x < 10   ? cv::Vec3i(255, 0, 0)
                          : x < 20 ? cv::Vec3i(0, 255, 0)
                                   : cv::Vec3i(0, 0, 255);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(px[c], Normalised(rgb[c], c, info), 1e-5) << x;
  }
  // 300x100 -> 10x10: output column 3 averages source columns 90..119 (10 red, 20 green).
  ModelInfo square = Info(10, 10, ResizePolicy::kResize);
  std::vector<float> sq = Preprocessed(Stripes(), square);
  const float* px = &sq[(0 * 10 + 3) * 3];
  EXPECT_NEAR(px[0], Normalised(85, 0, square), 1e-5);   // 255 * 10/30
  EXPECT_NEAR(px[1], Normalised(170, 1, square), 1e-5);  // 255 * 20/30
  EXPECT_NEAR(px[2], Normalised(0, 2, square), 1e-5);
}

TEST(PreprocessTest, CropRegionRoundsToTheCentre) {
  const ModelInfo square = Info(224, 224, ResizePolicy::kResizeCenterCrop);
  EXPECT_EQ(CropRegion({301, 100}, square), cv::Rect(100, 0, 100, 100));
  EXPECT_EQ(CropRegion({100, 301}, square), cv::Rect(0, 100, 100, 100));
  EXPECT_EQ(CropRegion({50, 50}, square), cv::Rect(0, 0, 50, 50));
  const ModelInfo wide = Info(100, 200, ResizePolicy::kResizeCenterCrop);  // 2:1
  EXPECT_EQ(CropRegion({400, 400}, wide), cv::Rect(0, 100, 400, 200));
  EXPECT_EQ(CropRegion({1000, 100}, wide), cv::Rect(400, 0, 200, 100));
  EXPECT_EQ(CropRegion({1000, 100}, Info(224, 224, ResizePolicy::kResize)),
            cv::Rect(0, 0, 1000, 100));
}

TEST(PreprocessTest, EnlargesSmallImagesAndAcceptsRois) {
  cv::Mat big(50, 50, CV_8UC3, cv::Scalar(0, 0, 0));
  big(cv::Rect(10, 10, 3, 2)).setTo(cv::Scalar(5, 6, 7));
  const cv::Mat roi = big(cv::Rect(10, 10, 3, 2));  // not continuous
  ASSERT_FALSE(roi.isContinuous());
  for (ResizePolicy policy : {ResizePolicy::kResizeCenterCrop, ResizePolicy::kResize}) {
    ModelInfo info = Info(16, 16, policy);
    ExpectUniform(Preprocessed(roi, info), info, {7, 6, 5});
  }
}

TEST(PreprocessTest, RejectsWrongInputs) {
  const ModelInfo info = Info(8, 8, ResizePolicy::kResize);
  std::vector<float> out(PreprocessedSize(info), 42.0f);
  EXPECT_EQ(PreprocessInto(cv::Mat(), info, out.data()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreprocessInto(cv::Mat(8, 8, CV_8UC1, cv::Scalar(1)), info, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreprocessInto(cv::Mat(8, 8, CV_32FC3, cv::Scalar(1)), info, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreprocessInto(cv::Mat(8, 8, CV_8UC3), info, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  ModelInfo zero = info;
  zero.input_width = 0;
  EXPECT_EQ(PreprocessInto(cv::Mat(8, 8, CV_8UC3), zero, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  for (float v : out) ASSERT_EQ(v, 42.0f);  // nothing written on failure
}

}  // namespace
}  // namespace geoloc::model
