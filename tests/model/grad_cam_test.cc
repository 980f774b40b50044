#include "core/model/grad_cam.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/model/descriptor_head.h"
#include "core/model/encoder.h"
#include "core/model/preprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/model/test_tensors.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::model {
namespace {

using ::geoloc::model::testing::DataPath;
using ::geoloc::model::testing::kTestThreads;
using ::geoloc::model::testing::MaxAbsDiff;
using ::geoloc::model::testing::Pearson;
using ::geoloc::model::testing::ReadTensor;
using ::geoloc::model::testing::Tensor;
using ::testing::HasSubstr;

constexpr int kDim = 128;    // gradcam.pt: ResNet-18 (last stage cut) + cosplace 128
constexpr int kInput = 128;  // 128 x 128 input
constexpr int kCoarse = 8;   // stride 16: an 8 x 8 feature map
constexpr int kHeadOutputs = 6;

GradCamOptions CamOptions() {
  GradCamOptions options;
  options.intra_op_threads = kTestThreads;
  return options;
}

class GradCamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<GradCam>> cam =
        GradCam::Load(DataPath("gradcam.pt"), CamOptions());
    ASSERT_TRUE(cam.ok()) << cam.status();
    cam_ = cam->release();
    absl::StatusOr<std::unique_ptr<DescriptorHead>> head =
        DescriptorHead::Load(DataPath("head.pt"), kDim);
    ASSERT_TRUE(head.ok()) << head.status();
    head_ = head->release();
  }
  static void TearDownTestSuite() {
    delete cam_;
    delete head_;
    cam_ = nullptr;
    head_ = nullptr;
  }

  // Row i of gradcam.descriptors.glt (the eager model's descriptors of gradcam.inputs.glt).
  static std::vector<float> Rows(const Tensor& t, int first, int count) {
    return std::vector<float>(t.data.begin() + first * t.dim(1),
                              t.data.begin() + (first + count) * t.dim(1));
  }

  static GradCam* cam_;
  static DescriptorHead* head_;
};

GradCam* GradCamTest::cam_ = nullptr;
DescriptorHead* GradCamTest::head_ = nullptr;

// The C++ maps agree with Grad-CAM computed by torch autograd on the eager Python module.
TEST_F(GradCamTest, MatchesThePythonReferenceForEveryTargetKind) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  const Tensor desc = ReadTensor(DataPath("gradcam.descriptors.glt"));
  const Tensor scores = ReadTensor(DataPath("gradcam.scores.glt"));
  ASSERT_EQ(inputs.shape, (std::vector<int64_t>{4, kInput, kInput, 3}));
  ASSERT_EQ(desc.shape, (std::vector<int64_t>{4, kDim}));
  ASSERT_EQ(scores.data.size(), 3u);
  const struct {
    const char* file;
    GradCamTarget target;
  } cases[] = {
      {"gradcam.similarity.glt", GradCamTarget::Similarity(Rows(desc, 1, 1))},
      {"gradcam.mean_similarity.glt", GradCamTarget::MeanSimilarity(Rows(desc, 1, 3))},
      {"gradcam.head.glt", GradCamTarget::HeadOutput(*head_, 2)},
  };
  for (size_t k = 0; k < 3; ++k) {
    SCOPED_TRACE(cases[k].file);
    const Tensor want = ReadTensor(DataPath(cases[k].file));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{kCoarse, kCoarse}));
    absl::StatusOr<GradCamResult> got = cam_->Compute(inputs.data.data(), cases[k].target);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->coarse_height, kCoarse);
    EXPECT_EQ(got->coarse_width, kCoarse);
    const double r = Pearson(got->coarse, want.data);
    EXPECT_GE(r, 0.99);
    RecordProperty(std::string("pearson_") + cases[k].file, std::to_string(r));
    EXPECT_NEAR(got->score, scores.data[k], 1e-4);
    // A map that is not flat: the reference has structure to agree with.
    EXPECT_GT(*std::max_element(want.data.begin(), want.data.end()), 0.0f);
  }
}

TEST_F(GradCamTest, MapIsInUnitRangeAtTheRequestedSize) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  const Tensor desc = ReadTensor(DataPath("gradcam.descriptors.glt"));
  absl::StatusOr<GradCamResult> r = cam_->Compute(
      inputs.data.data(), GradCamTarget::Similarity(Rows(desc, 2, 1)), cv::Size(100, 50));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->map.type(), CV_32FC1);
  EXPECT_EQ(r->map.cols, 100);
  EXPECT_EQ(r->map.rows, 50);
  double lo = 0, hi = 0;
  cv::minMaxLoc(r->map, &lo, &hi);
  EXPECT_GE(lo, 0.0);
  EXPECT_DOUBLE_EQ(hi, 1.0);
  // The default size is the model input.
  absl::StatusOr<GradCamResult> d =
      cam_->Compute(inputs.data.data(), GradCamTarget::Similarity(Rows(desc, 2, 1)));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->map.size(), cv::Size(kInput, kInput));
  EXPECT_EQ(d->coarse, r->coarse);
}

// A zero target makes the score independent of the image: the map stays all zeros.
TEST_F(GradCamTest, ScoreThatIgnoresTheImageGivesAnAllZeroMap) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  absl::StatusOr<GradCamResult> r = cam_->Compute(
      inputs.data.data(), GradCamTarget::MeanSimilarity(std::vector<float>(2 * kDim, 0.0f)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->score, 0.0);
  EXPECT_EQ(cv::countNonZero(r->map), 0);
  EXPECT_EQ(*std::max_element(r->coarse.begin(), r->coarse.end()), 0.0f);
}

// Two textures, drawn at the model's input size (so preprocessing only normalises).
cv::Mat Checkerboard(int size) {
  cv::Mat m(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      m.at<cv::Vec3b>(y, x) =
          ((x / 6 + y / 6) % 2) ? cv::Vec3b(200, 40, 30) : cv::Vec3b(20, 30, 220);
    }
  }
  return m;
}

cv::Mat DiagonalStripes(int size) {
  cv::Mat m(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      m.at<cv::Vec3b>(y, x) = (((x + y) / 5) % 2) ? cv::Vec3b(60, 230, 20) : cv::Vec3b(70, 40, 25);
    }
  }
  return m;
}

double MeanOf(const cv::Mat& map, const cv::Rect& r) { return cv::mean(map(r))[0]; }

// The query shows texture A on its left half and texture B on its right half. Explaining its
// similarity to a photo of A lights up the left half; to a photo of B, the right half.
TEST_F(GradCamTest, HighlightsThePartOfTheImageThatMatchesTheTarget) {
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(DataPath("gradcam.pt"), options);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const cv::Mat a = Checkerboard(kInput);
  const cv::Mat b = DiagonalStripes(kInput);
  cv::Mat query = a.clone();
  b(cv::Rect(kInput / 2, 0, kInput / 2, kInput))
      .copyTo(query(cv::Rect(kInput / 2, 0, kInput / 2, kInput)));
  absl::StatusOr<std::vector<float>> targets = (*encoder)->EncodeImages({a, b});
  ASSERT_TRUE(targets.ok()) << targets.status();
  const std::vector<float> desc_a(targets->begin(), targets->begin() + kDim);
  const std::vector<float> desc_b(targets->begin() + kDim, targets->end());
  const cv::Rect left(0, 0, kInput / 2, kInput), right(kInput / 2, 0, kInput / 2, kInput);

  absl::StatusOr<GradCamResult> to_a =
      cam_->ComputeForImage(query, GradCamTarget::Similarity(desc_a));
  absl::StatusOr<GradCamResult> to_b =
      cam_->ComputeForImage(query, GradCamTarget::Similarity(desc_b));
  ASSERT_TRUE(to_a.ok()) << to_a.status();
  ASSERT_TRUE(to_b.ok()) << to_b.status();
  const double a_left = MeanOf(to_a->map, left), a_right = MeanOf(to_a->map, right);
  const double b_left = MeanOf(to_b->map, left), b_right = MeanOf(to_b->map, right);
  RecordProperty("target_a_left_right", std::to_string(a_left) + " " + std::to_string(a_right));
  RecordProperty("target_b_left_right", std::to_string(b_left) + " " + std::to_string(b_right));
  EXPECT_GT(a_left, 2 * a_right) << "target A: left " << a_left << " right " << a_right;
  EXPECT_GT(b_right, 2 * b_left) << "target B: left " << b_left << " right " << b_right;
}

// Grad-CAM on the int8 twin of gradcam.pt (export_model.py --quantize int8): features() is the
// quantized backbone ending in a dequantize, pool() stays fp32, so the same recipe applies. Its
// maps stay in [0, 1] and follow the fp32 model's maps on synthetic-world photos.
TEST_F(GradCamTest, Int8ArchiveGivesMapsThatFollowTheFp32Model) {
  absl::StatusOr<std::unique_ptr<GradCam>> int8_cam =
      GradCam::Load(DataPath("gradcam_int8.pt"), CamOptions());
  ASSERT_TRUE(int8_cam.ok()) << int8_cam.status();
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(DataPath("gradcam.pt"), options);
  ASSERT_TRUE(encoder.ok()) << encoder.status();

  synth::WorldOptions world_options = synth::WorldPreset("fixed-tiny").value();
  world_options.seed = 17;
  const synth::World world = synth::PlanWorld(world_options);
  std::vector<cv::Mat> photos;
  for (size_t i = 0; i < world.images.size() && photos.size() < 6; i += 7) {
    photos.push_back(synth::RenderView(world_options, world, world.images[i]));
  }
  ASSERT_EQ(photos.size(), 6u);
  absl::StatusOr<std::vector<float>> desc = (*encoder)->EncodeImages(photos);
  ASSERT_TRUE(desc.ok()) << desc.status();

  double min_r = 1, sum_r = 0;
  int maps = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    // Why photo i looks like photo i + 1 (an fp32 descriptor, as the index holds), and why the
    // head gives its class 2.
    const size_t j = (i + 1) % photos.size();
    const std::vector<float> neighbour(desc->begin() + j * kDim, desc->begin() + (j + 1) * kDim);
    for (const GradCamTarget& target :
         {GradCamTarget::Similarity(neighbour), GradCamTarget::HeadOutput(*head_, 2)}) {
      absl::StatusOr<GradCamResult> want = cam_->ComputeForImage(photos[i], target);
      absl::StatusOr<GradCamResult> got = (*int8_cam)->ComputeForImage(photos[i], target);
      ASSERT_TRUE(want.ok()) << want.status();
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->coarse.size(), want->coarse.size());
      EXPECT_NEAR(got->score, want->score, 0.05) << "photo " << i;
      double lo = 0, hi = 0;
      cv::minMaxLoc(got->map, &lo, &hi);
      EXPECT_GE(lo, 0.0);
      EXPECT_DOUBLE_EQ(hi, 1.0);
      const double r = Pearson(got->coarse, want->coarse);
      min_r = std::min(min_r, r);
      sum_r += r;
      ++maps;
    }
  }
  std::printf(
      "Grad-CAM int8 vs fp32 coarse maps on %d (photo, target) pairs: Pearson min %.3f "
      "mean %.3f\n",
      maps, min_r, sum_r / maps);
  RecordProperty("min_pearson_int8_vs_fp32", std::to_string(min_r));
  RecordProperty("mean_pearson_int8_vs_fp32", std::to_string(sum_r / maps));
  EXPECT_GE(min_r, 0.8);
  EXPECT_GE(sum_r / maps, 0.9);
}

// ComputeForImage maps back onto the photo: only the centre crop the model saw can be non-zero.
TEST_F(GradCamTest, ComputeForImageCoversTheCropRegionOnly) {
  cv::Mat wide(kInput, 2 * kInput, CV_8UC3);
  cv::randu(wide, 0, 255);
  cv::GaussianBlur(wide, wide, cv::Size(9, 9), 3);
  const Tensor desc = ReadTensor(DataPath("gradcam.descriptors.glt"));
  absl::StatusOr<GradCamResult> r =
      cam_->ComputeForImage(wide, GradCamTarget::Similarity(Rows(desc, 1, 1)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->map.size(), wide.size());
  const cv::Rect crop = CropRegion(wide.size(), cam_->info());
  EXPECT_EQ(crop, cv::Rect(kInput / 2, 0, kInput, kInput));
  EXPECT_EQ(cv::countNonZero(r->map(cv::Rect(0, 0, crop.x, kInput))), 0);
  EXPECT_EQ(cv::countNonZero(r->map(cv::Rect(crop.br().x, 0, wide.cols - crop.br().x, kInput))), 0);
  double hi = 0;
  cv::minMaxLoc(r->map(crop), nullptr, &hi);
  EXPECT_DOUBLE_EQ(hi, 1.0);
}

TEST_F(GradCamTest, RejectsMismatchedTargets) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  const float* image = inputs.data.data();
  EXPECT_EQ(
      cam_->Compute(image, GradCamTarget::Similarity(std::vector<float>(kDim + 1))).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cam_->Compute(image, GradCamTarget::MeanSimilarity({})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cam_->Compute(image, GradCamTarget::MeanSimilarity(std::vector<float>(kDim + 3)))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status out_of_range =
      cam_->Compute(image, GradCamTarget::HeadOutput(*head_, kHeadOutputs)).status();
  EXPECT_EQ(out_of_range.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out_of_range.message()), HasSubstr("index 6"));
  EXPECT_EQ(cam_->Compute(image, GradCamTarget::HeadOutput(*head_, -1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cam_->Compute(nullptr, GradCamTarget::HeadOutput(*head_, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GradCamTest, HeadOutputSumScoresTheSumOfItsOutputs) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  const float* image = inputs.data.data();
  absl::StatusOr<GradCamResult> one = cam_->Compute(image, GradCamTarget::HeadOutput(*head_, 1));
  absl::StatusOr<GradCamResult> four = cam_->Compute(image, GradCamTarget::HeadOutput(*head_, 4));
  absl::StatusOr<GradCamResult> sum =
      cam_->Compute(image, GradCamTarget::HeadOutputSum(*head_, {1, 4}));
  ASSERT_TRUE(one.ok() && four.ok() && sum.ok()) << sum.status();
  EXPECT_NEAR(sum->score, one->score + four->score, 1e-5);
  // A single index is the plain HeadOutput target.
  absl::StatusOr<GradCamResult> single =
      cam_->Compute(image, GradCamTarget::HeadOutputSum(*head_, {4}));
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->coarse, four->coarse);
  EXPECT_EQ(cam_->Compute(image, GradCamTarget::HeadOutputSum(*head_, {})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cam_->Compute(image, GradCamTarget::HeadOutputSum(*head_, {0, kHeadOutputs}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GradCamTest, ConcurrentCallsMatchSequentialOnes) {
  const Tensor inputs = ReadTensor(DataPath("gradcam.inputs.glt"));
  const Tensor desc = ReadTensor(DataPath("gradcam.descriptors.glt"));
  const size_t per_image = static_cast<size_t>(kInput) * kInput * 3;
  std::vector<GradCamTarget> targets = {
      GradCamTarget::Similarity(Rows(desc, 0, 1)), GradCamTarget::MeanSimilarity(Rows(desc, 0, 2)),
      GradCamTarget::HeadOutput(*head_, 1), GradCamTarget::HeadOutput(*head_, 4)};
  std::vector<std::vector<float>> sequential;
  for (size_t t = 0; t < targets.size(); ++t) {
    absl::StatusOr<GradCamResult> r = cam_->Compute(inputs.data.data() + t * per_image, targets[t]);
    ASSERT_TRUE(r.ok()) << r.status();
    sequential.push_back(r->coarse);
  }
  std::vector<double> diff(targets.size(), 0);
  std::vector<int> failures(targets.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < targets.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        absl::StatusOr<GradCamResult> r =
            cam_->Compute(inputs.data.data() + t * per_image, targets[t]);
        if (!r.ok()) {
          ++failures[t];
          continue;
        }
        diff[t] = std::max(diff[t], MaxAbsDiff(r->coarse, sequential[t]));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < targets.size(); ++t) {
    EXPECT_EQ(failures[t], 0) << "target " << t;
    const float peak = *std::max_element(sequential[t].begin(), sequential[t].end());
    EXPECT_LE(diff[t], 1e-5 * std::max(peak, 1e-12f)) << "target " << t;
  }
}

TEST(RenderOverlayPngTest, BlendsTheJetColouredMapOverThePhoto) {
  cv::Mat photo(60, 80, CV_8UC3);
  cv::randu(photo, 0, 255);
  cv::Mat map(30, 40, CV_32FC1);
  for (int y = 0; y < map.rows; ++y) {
    for (int x = 0; x < map.cols; ++x) map.at<float>(y, x) = x / 39.0f;
  }
  // alpha 0: the photo itself (PNG is lossless).
  absl::StatusOr<std::string> png0 = RenderOverlayPng(photo, map, 0.0);
  ASSERT_TRUE(png0.ok()) << png0.status();
  const cv::Mat decoded0 =
      cv::imdecode(std::vector<uchar>(png0->begin(), png0->end()), cv::IMREAD_COLOR);
  ASSERT_EQ(decoded0.size(), photo.size());
  EXPECT_EQ(cv::norm(decoded0, photo, cv::NORM_INF), 0.0);

  // alpha 1: the colour map alone; left (map 0) is JET's dark blue, right (map 1) its dark red.
  absl::StatusOr<std::string> png1 = RenderOverlayPng(photo, map, 1.0);
  ASSERT_TRUE(png1.ok()) << png1.status();
  const cv::Mat heat =
      cv::imdecode(std::vector<uchar>(png1->begin(), png1->end()), cv::IMREAD_COLOR);
  ASSERT_EQ(heat.size(), photo.size());
  const cv::Vec3b cold = heat.at<cv::Vec3b>(30, 0);
  const cv::Vec3b hot = heat.at<cv::Vec3b>(30, 79);
  EXPECT_GT(cold[0], 100);  // blue channel (BGR)
  EXPECT_LT(cold[2], 50);
  EXPECT_GT(hot[2], 100);  // red channel
  EXPECT_LT(hot[0], 50);

  // The default alpha 0.4 mixes both.
  absl::StatusOr<std::string> mixed = RenderOverlayPng(photo, map);
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  const cv::Mat blend =
      cv::imdecode(std::vector<uchar>(mixed->begin(), mixed->end()), cv::IMREAD_COLOR);
  cv::Mat expected;
  cv::addWeighted(photo, 0.6, heat, 0.4, 0.0, expected);
  EXPECT_LE(cv::norm(blend, expected, cv::NORM_INF), 1.0);
}

TEST(RenderOverlayPngTest, RejectsBadInputs) {
  const cv::Mat photo(10, 10, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat map(5, 5, CV_32FC1, cv::Scalar(0.5));
  EXPECT_EQ(RenderOverlayPng(cv::Mat(), map).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderOverlayPng(cv::Mat(10, 10, CV_8UC1), map).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderOverlayPng(photo, cv::Mat()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderOverlayPng(photo, cv::Mat(5, 5, CV_8UC1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderOverlayPng(photo, map, 1.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderOverlayPng(photo, map, -0.1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DescriptorHeadTest, RunMatchesTheEagerHead) {
  absl::StatusOr<std::unique_ptr<DescriptorHead>> head =
      DescriptorHead::Load(DataPath("head.pt"), kDim);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ((*head)->input_dim(), kDim);
  EXPECT_EQ((*head)->num_outputs(), kHeadOutputs);
  EXPECT_THAT((*head)->metadata(), HasSubstr("\"outputs\": 6"));
  const Tensor desc = ReadTensor(DataPath("gradcam.descriptors.glt"));
  const Tensor want = ReadTensor(DataPath("gradcam.head_outputs.glt"));
  const int batch = static_cast<int>(desc.dim(0));
  std::vector<float> got(batch * kHeadOutputs);
  ASSERT_TRUE((*head)->Run(desc.data.data(), batch, got.data()).ok());
  EXPECT_LT(MaxAbsDiff(got, want.data), 1e-5);
  EXPECT_EQ((*head)->Run(nullptr, 1, got.data()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*head)->Run(desc.data.data(), 0, got.data()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DescriptorHeadTest, RejectsAWrongDimensionAndNonArchives) {
  absl::StatusOr<std::unique_ptr<DescriptorHead>> wrong_dim =
      DescriptorHead::Load(DataPath("head.pt"), kDim / 2);
  EXPECT_EQ(wrong_dim.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong_dim.status().message()), HasSubstr("forward([1, 64])"));
  EXPECT_EQ(DescriptorHead::Load(DataPath("state_dict.pth"), kDim).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DescriptorHead::Load(DataPath("missing_head.pt"), kDim).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DescriptorHead::Load(DataPath("head.pt"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::model
