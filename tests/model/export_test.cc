// Archives written by tools/export_model.py load in C++ and reproduce the eager Python module.
// The archives and the eager references come from tests/model/make_test_models.py (build time).
#include <cctype>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/model/encoder.h"
#include "core/model/preprocess.h"
#include "gtest/gtest.h"
#include "tests/model/test_tensors.h"

namespace geoloc::model {
namespace {

using ::geoloc::model::testing::DataPath;
using ::geoloc::model::testing::Dot;
using ::geoloc::model::testing::kTestThreads;
using ::geoloc::model::testing::MaxAbsDiff;
using ::geoloc::model::testing::ReadTensor;
using ::geoloc::model::testing::Tensor;

struct Case {
  const char* name;
  const char* head;
  int dim;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class ExportedModelTest : public ::testing::TestWithParam<Case> {};

// Every backbone with GeM, ResNet-18 with every head, plus checkpoint imports: the C++ encoder's
// fp32 descriptors equal the eager module's on the same inputs.
TEST_P(ExportedModelTest, CppEncoderMatchesEagerPython) {
  const Case& c = GetParam();
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  options.warmup_batch = 0;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(DataPath(std::string(c.name) + ".pt"), options);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const ModelInfo& info = (*encoder)->info();
  EXPECT_EQ(info.head, c.head);
  EXPECT_EQ(info.dim, c.dim);

  const Tensor inputs = ReadTensor(DataPath(std::string(c.name) + ".inputs.glt"));
  const Tensor want = ReadTensor(DataPath(std::string(c.name) + ".descriptors.glt"));
  ASSERT_EQ(inputs.shape.size(), 4u);
  ASSERT_EQ(want.shape.size(), 2u);
  ASSERT_EQ(inputs.dim(1), info.input_height);
  ASSERT_EQ(inputs.dim(2), info.input_width);
  ASSERT_EQ(inputs.dim(3), 3);
  ASSERT_EQ(want.dim(1), info.dim);
  const int batch = static_cast<int>(inputs.dim(0));
  std::vector<float> got(batch * info.dim);
  ASSERT_TRUE((*encoder)->Encode(inputs.data.data(), batch, got.data()).ok());
  EXPECT_LT(MaxAbsDiff(got, want.data), 1e-4);
  for (int i = 0; i < batch; ++i) {
    EXPECT_NEAR(Dot(got.data() + i * info.dim, got.data() + i * info.dim, info.dim), 1.0, 1e-4);
  }
}

// torch::jit::optimize_for_inference (what EncoderOptions::optimize_graph enables for fp32 on the
// CPU) is applied to every exported backbone and head, and gives the frozen graph's descriptors
// within 1e-4.
TEST_P(ExportedModelTest, OptimizedGraphMatchesTheFrozenGraph) {
  const Case& c = GetParam();
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  options.warmup_batch = 0;
  options.optimize_graph = false;
  const std::string path = DataPath(std::string(c.name) + ".pt");
  absl::StatusOr<std::unique_ptr<Encoder>> frozen = Encoder::Load(path, options);
  options.optimize_graph = true;
  absl::StatusOr<std::unique_ptr<Encoder>> optimized = Encoder::Load(path, options);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  EXPECT_FALSE((*frozen)->graph_optimized());
  EXPECT_TRUE((*optimized)->graph_optimized());

  const Tensor inputs = ReadTensor(DataPath(std::string(c.name) + ".inputs.glt"));
  const int batch = static_cast<int>(inputs.dim(0));
  const int dim = (*frozen)->info().dim;
  std::vector<float> want(batch * dim), got(batch * dim);
  ASSERT_TRUE((*frozen)->Encode(inputs.data.data(), batch, want.data()).ok());
  ASSERT_TRUE((*optimized)->Encode(inputs.data.data(), batch, got.data()).ok());
  const double diff = MaxAbsDiff(got, want);
  EXPECT_LT(diff, 1e-4);
  RecordProperty("max_abs_diff", std::to_string(diff));
  // One image at a time too: the optimized graph must not depend on the batch it was checked at.
  std::vector<float> one(dim);
  ASSERT_TRUE((*optimized)->Encode(inputs.data.data(), 1, one.data()).ok());
  EXPECT_LT(MaxAbsDiff(one, std::vector<float>(want.begin(), want.begin() + dim)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, ExportedModelTest,
    ::testing::Values(
        Case{"resnet18-avg", "avg", 512}, Case{"resnet18-gem", "gem", 512},
        Case{"resnet18-gem-learnable", "gem", 512}, Case{"resnet18-cosplace", "cosplace", 128},
        Case{"resnet18-netvlad", "netvlad", 8 * 512}, Case{"resnet18-crn", "crn", 8 * 512},
        Case{"resnet18-trunc-netvlad", "netvlad", 8 * 256},
        Case{"resnet18-trunc-crn", "crn", 8 * 256}, Case{"resnet18-gem-96x64", "gem", 512},
        Case{"resnet50-gem", "gem", 2048}, Case{"resnet50-trunc-cosplace", "cosplace", 256},
        Case{"vgg16-gem", "gem", 512}, Case{"efficientnet_b0-gem", "gem", 1280},
        Case{"efficientnet_b1-gem", "gem", 1280},
        Case{"efficientnet_b0-netvlad", "netvlad", 4 * 1280}),
    CaseName);

// Checkpoints: the reference is an eager model built outside geoloc's code (a torchvision ResNet
// with GeM written out, models in CosPlace's published layouts for ResNet-18 and EfficientNet-B0,
// pytorch-NetVlad's VGG-16 + NetVLAD) holding the same weights; and a model trained by
// tools/train, against the eager module of its best weights.
INSTANTIATE_TEST_SUITE_P(Checkpoints, ExportedModelTest,
                         ::testing::Values(Case{"ckpt_torchvision", "gem", 512},
                                           Case{"ckpt_cosplace", "cosplace", 256},
                                           Case{"ckpt_cosplace_effnet", "cosplace", 128},
                                           Case{"ckpt_netvlad", "netvlad", 8 * 512},
                                           Case{"trained", "cosplace", 128}),
                         CaseName);

// A model written by hand in PyTorch (conv-conv, max-pool, linear, L2; 40x56 input), saved with
// torch.jit.save and a hand-written geoloc.json: whatever meets the contract serves.
INSTANTIATE_TEST_SUITE_P(UserExport, ExportedModelTest,
                         ::testing::Values(Case{"user_model", "", 24}), CaseName);

TEST(ExportTest, NonSquareModelKeepsItsMetadata) {
  EncoderOptions options;
  options.intra_op_threads = kTestThreads;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(DataPath("resnet18-gem-96x64.pt"), options);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const ModelInfo& info = (*encoder)->info();
  EXPECT_EQ(info.input_height, 96);
  EXPECT_EQ(info.input_width, 64);
  EXPECT_EQ(info.resize, ResizePolicy::kResize);
  EXPECT_EQ(info.metric, Metric::kL2);
  EXPECT_EQ(info.backbone, "resnet18");
}

std::string FingerprintOf(const std::string& file) {
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  options.warmup_batch = 0;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(DataPath(file), options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? (*encoder)->info().fingerprint : "";
}

TEST(ExportTest, FingerprintIsStableForASeedAndChangesWithTheWeights) {
  const std::string a = FingerprintOf("fp_seed0_a.pt");
  const std::string b = FingerprintOf("fp_seed0_b.pt");
  const std::string c = FingerprintOf("fp_seed1.pt");
  ASSERT_EQ(a.size(), 64u);                        // SHA-256, hex
  EXPECT_EQ(a, b);                                 // two exports with seed 0
  EXPECT_NE(a, c);                                 // seed 1: other weights
  EXPECT_NE(a, FingerprintOf("resnet18-gem.pt"));  // another architecture
  // The int8 export of the same seed is another model: a bundle built with one must not load with
  // the other.
  const std::string int8 = FingerprintOf("fp_seed0_int8.pt");
  ASSERT_EQ(int8.size(), 64u);
  EXPECT_NE(a, int8);
  EXPECT_NE(FingerprintOf("demo.pt"), FingerprintOf("demo_int8.pt"));
}

EncoderOptions OptimizingFp32() {
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  options.optimize_graph = true;
  return options;
}

// A graph with an op outside the list the tests cover (bf16_fragile.pt's aten::mean) keeps the
// frozen graph: optimize_for_inference can abort the process on graphs it mishandles.
TEST(OptimizeGraphTest, UnknownOpsKeepTheFrozenGraph) {
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(DataPath("bf16_fragile.pt"), OptimizingFp32());
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_FALSE((*encoder)->graph_optimized());
}

// optimize_fragile.pt uses only known ops, but its descriptor is a small difference of large
// activations, so the rewrite moves it by about 6e-4: the load-time comparison rejects the
// rewrite, and the encoder serves exactly what the frozen graph gives.
TEST(OptimizeGraphTest, ARewriteThatChangesDescriptorsIsRejected) {
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(DataPath("optimize_fragile.pt"), OptimizingFp32());
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_FALSE((*encoder)->graph_optimized());
  EncoderOptions frozen_only = OptimizingFp32();
  frozen_only.optimize_graph = false;
  absl::StatusOr<std::unique_ptr<Encoder>> frozen =
      Encoder::Load(DataPath("optimize_fragile.pt"), frozen_only);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  const int dim = (*encoder)->info().dim;
  std::vector<float> image(PreprocessedSize((*encoder)->info()));
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>((i % 7) * 0.3 - 1.0);
  std::vector<float> a(dim), b(dim);
  ASSERT_TRUE((*encoder)->Encode(image.data(), 1, a.data()).ok());
  ASSERT_TRUE((*frozen)->Encode(image.data(), 1, b.data()).ok());
  EXPECT_EQ(a, b);
}

// int8 archives never go through optimize_for_inference (its oneDNN rewrite is for float convs).
TEST(OptimizeGraphTest, Int8ArchivesAreNotRewritten) {
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(DataPath("resnet18-cosplace-int8.pt"), OptimizingFp32());
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_TRUE((*encoder)->int8());
  EXPECT_FALSE((*encoder)->graph_optimized());
}

}  // namespace
}  // namespace geoloc::model
