#include "core/model/encoder.h"

#include <omp.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/model/cpu_features.h"
#include "core/model/openmp_threads.h"
#include "core/model/preprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/model/test_tensors.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::model {
namespace {

using ::geoloc::model::testing::DataPath;
using ::geoloc::model::testing::Dot;
using ::geoloc::model::testing::kTestThreads;
using ::geoloc::model::testing::MaxAbsDiff;
using ::geoloc::model::testing::ReadTensor;
using ::geoloc::model::testing::Tensor;
using ::testing::HasSubstr;

EncoderOptions Fp32() {
  EncoderOptions options;
  options.precision = Precision::kFp32;
  options.intra_op_threads = kTestThreads;
  return options;
}

std::unique_ptr<Encoder> LoadOrDie(const std::string& name, const EncoderOptions& options) {
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(DataPath(name), options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? *std::move(encoder) : nullptr;
}

// Views of places of the synthetic world: photo-like scenes, not noise.
std::vector<cv::Mat> RealisticImages(int count) {
  synth::WorldOptions options = synth::WorldPreset("fixed-tiny").value();
  options.seed = 11;
  const synth::World world = synth::PlanWorld(options);
  std::vector<cv::Mat> images;
  for (size_t i = 0; i < world.images.size() && static_cast<int>(images.size()) < count; i += 5) {
    images.push_back(synth::RenderView(options, world, world.images[i]));
  }
  return images;
}

TEST(PrecisionTest, NamesRoundTrip) {
  for (Precision p : {Precision::kAuto, Precision::kFp32, Precision::kBf16}) {
    absl::StatusOr<Precision> parsed = ParsePrecision(PrecisionName(p));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(*ParsePrecision("BF16"), Precision::kBf16);
  absl::StatusOr<Precision> bad = ParsePrecision("fp16");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("fp16"));
}

TEST(CpuFeaturesTest, Bf16SupportAgreesWithProcCpuinfo) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  if (!cpuinfo) GTEST_SKIP() << "no /proc/cpuinfo on this system";
  std::set<std::string> flags;
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  const bool listed = flags.count("avx512_bf16") > 0 || flags.count("amx_bf16") > 0;
  EXPECT_EQ(CpuSupportsBf16(), listed) << CpuFeaturesString(GetCpuFeatures());
  EXPECT_EQ(GetCpuFeatures().avx512f, flags.count("avx512f") > 0);
  EXPECT_EQ(GetCpuFeatures().avx512_vnni, flags.count("avx512_vnni") > 0);
  EXPECT_EQ(GetCpuFeatures().avx_vnni, flags.count("avx_vnni") > 0);
}

TEST(EncoderTest, LoadsTheDemoModel) {
  EncoderOptions options;
  options.intra_op_threads = kTestThreads;
  std::unique_ptr<Encoder> encoder = LoadOrDie("demo.pt", options);
  ASSERT_NE(encoder, nullptr);
  EXPECT_EQ(encoder->info().name, "demo-resnet18-cosplace512");
  EXPECT_EQ(encoder->info().backbone, "resnet18");
  EXPECT_EQ(encoder->info().head, "cosplace");
  EXPECT_EQ(encoder->info().dim, 512);
  EXPECT_EQ(encoder->info().input_height, 224);
  EXPECT_EQ(encoder->info().input_width, 224);
  EXPECT_EQ(encoder->info().fingerprint.size(), 64u);
  EXPECT_EQ(encoder->device(), "cpu");
  // kAuto resolves to bf16 exactly when the CPU has AMX-BF16 (the demo model passes the guard).
  EXPECT_EQ(encoder->precision(), GetCpuFeatures().amx_bf16 ? Precision::kBf16 : Precision::kFp32);
  EXPECT_FALSE(encoder->int8());
  EXPECT_EQ(encoder->precision_name(), PrecisionName(encoder->precision()));
  // fp32 on the CPU runs the optimize_for_inference'd graph (every op of the demo model is known).
  EXPECT_EQ(encoder->graph_optimized(), encoder->precision() == Precision::kFp32);
}

// The int8 twin of the demo model (export_model.py --demo --quantize int8, default calibration):
// same metadata but another fingerprint, reported as int8, and its descriptors of synthetic-world
// photos (which calibration never saw) stay within cosine 0.99 of the fp32 model's.
TEST(EncoderTest, Int8ArchiveStaysCloseToFp32OnRealisticImages) {
  std::unique_ptr<Encoder> fp32 = LoadOrDie("demo.pt", Fp32());
  EncoderOptions automatic = Fp32();
  automatic.precision = Precision::kAuto;
  std::unique_ptr<Encoder> int8 = LoadOrDie("demo_int8.pt", automatic);
  ASSERT_NE(fp32, nullptr);
  ASSERT_NE(int8, nullptr);
  EXPECT_TRUE(int8->int8());
  EXPECT_EQ(int8->precision(), Precision::kFp32);  // the float head; auto never picks bf16 here
  EXPECT_EQ(int8->precision_name(), "int8");
  EXPECT_FALSE(int8->graph_optimized());
  EXPECT_EQ(int8->info().name, "demo-resnet18-cosplace512-int8");
  EXPECT_EQ(int8->info().dim, fp32->info().dim);
  EXPECT_EQ(int8->info().fingerprint.size(), 64u);
  // A bundle built with one must not load with the other.
  EXPECT_NE(int8->info().fingerprint, fp32->info().fingerprint);

  const std::vector<cv::Mat> images = RealisticImages(16);
  ASSERT_EQ(images.size(), 16u);
  absl::StatusOr<std::vector<float>> a = fp32->EncodeImages(images);
  absl::StatusOr<std::vector<float>> b = int8->EncodeImages(images);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const int dim = fp32->info().dim;
  double min_cosine = 1, sum = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const float* d = b->data() + i * dim;
    EXPECT_NEAR(Dot(d, d, dim), 1.0, 1e-5) << "image " << i;
    const double cosine = Dot(a->data() + i * dim, d, dim);
    min_cosine = std::min(min_cosine, cosine);
    sum += cosine;
    EXPECT_GE(cosine, 0.99) << "image " << i;
  }
  // int8 really ran: close to fp32, not identical.
  EXPECT_LT(min_cosine, 1.0 - 1e-6);
  std::printf("int8 vs fp32 on %zu synthetic-world photos: cosine min %.5f mean %.5f\n",
              images.size(), min_cosine, sum / images.size());
  RecordProperty("min_int8_cosine", std::to_string(min_cosine));
  RecordProperty("mean_int8_cosine", std::to_string(sum / images.size()));
}

TEST(EncoderTest, Int8ArchiveRefusesBf16) {
  EncoderOptions bf16 = Fp32();
  bf16.precision = Precision::kBf16;
  absl::StatusOr<std::unique_ptr<Encoder>> refused = Encoder::Load(DataPath("demo_int8.pt"), bf16);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  // Without bf16 in the CPU, the CPU check refuses first.
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr(CpuSupportsBf16() ? "int8 archive" : "needs a CPU"));
}

TEST(EncoderTest, DescriptorsAreUnitNormInBothPrecisions) {
  const std::vector<cv::Mat> images = RealisticImages(3);
  std::vector<Precision> precisions = {Precision::kFp32};
  if (CpuSupportsBf16()) precisions.push_back(Precision::kBf16);
  for (Precision precision : precisions) {
    EncoderOptions options = Fp32();
    options.precision = precision;
    std::unique_ptr<Encoder> encoder = LoadOrDie("demo.pt", options);
    ASSERT_NE(encoder, nullptr);
    ASSERT_EQ(encoder->precision(), precision);
    absl::StatusOr<std::vector<float>> desc = encoder->EncodeImages(images);
    ASSERT_TRUE(desc.ok()) << desc.status();
    const int dim = encoder->info().dim;
    ASSERT_EQ(desc->size(), images.size() * dim);
    for (size_t i = 0; i < images.size(); ++i) {
      const float* d = desc->data() + i * dim;
      EXPECT_NEAR(Dot(d, d, dim), 1.0, 1e-5) << PrecisionName(precision) << " image " << i;
    }
  }
}

// The guard that keeps bf16 honest: descriptors of photo-like images stay within cosine 0.99 of
// fp32 (the GUIDE measured >= 0.997 for ResNet-18 + GeM).
TEST(EncoderTest, Bf16StaysCloseToFp32OnRealisticImages) {
  if (!CpuSupportsBf16()) {
    GTEST_SKIP() << "this CPU has neither avx512_bf16 nor amx_bf16 ("
                 << CpuFeaturesString(GetCpuFeatures()) << "); bf16 is not used here";
  }
  EncoderOptions bf16_options = Fp32();
  bf16_options.precision = Precision::kBf16;
  std::unique_ptr<Encoder> fp32 = LoadOrDie("demo.pt", Fp32());
  std::unique_ptr<Encoder> bf16 = LoadOrDie("demo.pt", bf16_options);
  ASSERT_NE(fp32, nullptr);
  ASSERT_NE(bf16, nullptr);
  const std::vector<cv::Mat> images = RealisticImages(8);
  ASSERT_EQ(images.size(), 8u);
  absl::StatusOr<std::vector<float>> a = fp32->EncodeImages(images);
  absl::StatusOr<std::vector<float>> b = bf16->EncodeImages(images);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const int dim = fp32->info().dim;
  double min_cosine = 1;
  for (size_t i = 0; i < images.size(); ++i) {
    const double cosine = Dot(a->data() + i * dim, b->data() + i * dim, dim);
    min_cosine = std::min(min_cosine, cosine);
    EXPECT_GE(cosine, 0.99) << "image " << i;
  }
  // bf16 really ran: it is close to fp32, not identical.
  EXPECT_LT(min_cosine, 1.0 - 1e-7);
  RecordProperty("min_bf16_cosine", std::to_string(min_cosine));
}

// The load-time guard: a model whose descriptors bf16 destroys is refused under an explicit bf16
// and served in fp32 under auto.
TEST(EncoderTest, Bf16GuardCatchesAModelThatBf16Breaks) {
  std::unique_ptr<Encoder> fp32 = LoadOrDie("bf16_fragile.pt", Fp32());
  ASSERT_NE(fp32, nullptr);  // a valid model in fp32
  EncoderOptions automatic = Fp32();
  automatic.precision = Precision::kAuto;
  std::unique_ptr<Encoder> chosen = LoadOrDie("bf16_fragile.pt", automatic);
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->precision(), Precision::kFp32);
  if (!CpuSupportsBf16()) GTEST_SKIP() << "no bf16 on this CPU: the explicit bf16 case is moot";
  EncoderOptions bf16 = Fp32();
  bf16.precision = Precision::kBf16;
  absl::StatusOr<std::unique_ptr<Encoder>> refused =
      Encoder::Load(DataPath("bf16_fragile.pt"), bf16);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("bf16 descriptors drift"));
}

// The server caps a batch worker's OpenMP threads around a forward pass (server/locate_pipeline.h);
// Encode re-applies the intra-op setting first, and must not lift the cap.
TEST(EncoderTest, AThreadCapHoldsThroughEncodeWithTheSameDescriptors) {
  EncoderOptions two_threads = Fp32();
  two_threads.intra_op_threads = 2;
  std::unique_ptr<Encoder> encoder = LoadOrDie("resnet18-gem.pt", two_threads);
  ASSERT_NE(encoder, nullptr);
  const Tensor inputs = ReadTensor(DataPath("resnet18-gem.inputs.glt"));
  const int batch = static_cast<int>(inputs.dim(0));
  const int dim = encoder->info().dim;
  std::vector<float> uncapped(batch * dim);
  std::vector<float> capped(batch * dim);
  ASSERT_TRUE(encoder->Encode(inputs.data.data(), batch, uncapped.data()).ok());
  EXPECT_EQ(omp_get_max_threads(), 2);
  {
    OpenMpThreadCap one(1);
    ASSERT_TRUE(encoder->Encode(inputs.data.data(), batch, capped.data()).ok());
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  EXPECT_LT(MaxAbsDiff(uncapped, capped), 1e-5);
}

TEST(EncoderTest, BatchedEqualsOneByOne) {
  std::unique_ptr<Encoder> encoder = LoadOrDie("resnet18-gem.pt", Fp32());
  ASSERT_NE(encoder, nullptr);
  const Tensor inputs = ReadTensor(DataPath("resnet18-gem.inputs.glt"));
  ASSERT_EQ(inputs.shape.size(), 4u);
  const int batch = static_cast<int>(inputs.dim(0));
  const int dim = encoder->info().dim;
  const size_t per_image = PreprocessedSize(encoder->info());
  std::vector<float> together(batch * dim);
  ASSERT_TRUE(encoder->Encode(inputs.data.data(), batch, together.data()).ok());
  for (int i = 0; i < batch; ++i) {
    std::vector<float> alone(dim);
    ASSERT_TRUE(encoder->Encode(inputs.data.data() + i * per_image, 1, alone.data()).ok());
    std::vector<float> part(together.begin() + i * dim, together.begin() + (i + 1) * dim);
    EXPECT_LT(MaxAbsDiff(alone, part), 1e-5) << "image " << i;
  }
}

TEST(EncoderTest, EncodeImagesEqualsPreprocessThenEncode) {
  std::unique_ptr<Encoder> encoder = LoadOrDie("resnet18-gem-96x64.pt", Fp32());
  ASSERT_NE(encoder, nullptr);
  const std::vector<cv::Mat> images = RealisticImages(2);
  const size_t per_image = PreprocessedSize(encoder->info());
  std::vector<float> inputs(images.size() * per_image);
  for (size_t i = 0; i < images.size(); ++i) {
    ASSERT_TRUE(PreprocessInto(images[i], encoder->info(), inputs.data() + i * per_image).ok());
  }
  std::vector<float> want(images.size() * encoder->info().dim);
  ASSERT_TRUE(encoder->Encode(inputs.data(), static_cast<int>(images.size()), want.data()).ok());
  absl::StatusOr<std::vector<float>> got = encoder->EncodeImages(images);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
  // Different images give different descriptors (the model is not constant).
  EXPECT_LT(Dot(want.data(), want.data() + encoder->info().dim, encoder->info().dim), 0.999999);

  const cv::Mat gray(40, 40, CV_8UC1, cv::Scalar(7));
  absl::StatusOr<std::vector<float>> bad = encoder->EncodeImages({gray});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EncoderTest, RejectsBadArguments) {
  std::unique_ptr<Encoder> encoder = LoadOrDie("resnet18-gem.pt", Fp32());
  ASSERT_NE(encoder, nullptr);
  std::vector<float> image(PreprocessedSize(encoder->info()));
  std::vector<float> out(encoder->info().dim);
  EXPECT_EQ(encoder->Encode(nullptr, 1, out.data()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder->Encode(image.data(), 1, nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder->Encode(image.data(), 0, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EncoderOptions negative = Fp32();
  negative.intra_op_threads = -1;
  EXPECT_EQ(Encoder::Load(DataPath("resnet18-gem.pt"), negative).status().code(),
            absl::StatusCode::kInvalidArgument);
}

struct Violation {
  const char* file;
  absl::StatusCode code;
  const char* message;  // a substring the error must contain
};

void PrintTo(const Violation& v, std::ostream* os) { *os << v.file; }

std::string ViolationName(const ::testing::TestParamInfo<Violation>& info) {
  std::string name = info.param.file;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class ContractTest : public ::testing::TestWithParam<Violation> {};

TEST_P(ContractTest, IsRejectedWithAClearError) {
  const Violation& v = GetParam();
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(DataPath(v.file), Fp32());
  ASSERT_FALSE(encoder.ok()) << v.file << " loaded";
  RecordProperty("error", std::string(encoder.status().ToString()));
  EXPECT_EQ(encoder.status().code(), v.code) << encoder.status();
  EXPECT_THAT(std::string(encoder.status().message()), HasSubstr(v.message));
  EXPECT_THAT(std::string(encoder.status().message()), HasSubstr(v.file));
}

INSTANTIATE_TEST_SUITE_P(
    Violations, ContractTest,
    ::testing::Values(
        Violation{"bad_no_json.pt", absl::StatusCode::kInvalidArgument, "no geoloc.json"},
        Violation{"bad_no_pool.pt", absl::StatusCode::kInvalidArgument, "no method `pool`"},
        Violation{"bad_wrong_dim.pt", absl::StatusCode::kInvalidArgument, "says dim 257"},
        Violation{"bad_unnormalised.pt", absl::StatusCode::kInvalidArgument, "not L2-normalised"},
        Violation{"bad_metric.pt", absl::StatusCode::kInvalidArgument, "metric"},
        Violation{"state_dict.pth", absl::StatusCode::kInvalidArgument,
                  "not a TorchScript archive"},
        Violation{"resnet18-gem.inputs.glt", absl::StatusCode::kInvalidArgument,
                  "not a TorchScript archive"},
        Violation{"no_such_model.pt", absl::StatusCode::kNotFound, "no such file"}),
    ViolationName);

TEST(EncoderTest, RejectsADirectory) {
  absl::StatusOr<std::unique_ptr<Encoder>> encoder =
      Encoder::Load(GEOLOC_MODEL_TEST_DATA_DIR, Fp32());
  EXPECT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
}

// Concurrent Encode calls give exactly what sequential calls give. An fp32 (optimized graph), an
// int8 and, with bf16 available, a bf16 encoder run side by side: autocast state is per thread,
// and a leak from one thread to another would change the other encoders' results.
TEST(EncoderTest, ConcurrentEncodeMatchesSequential) {
  std::vector<std::unique_ptr<Encoder>> encoders;
  encoders.push_back(LoadOrDie("resnet18-cosplace.pt", Fp32()));
  encoders.push_back(LoadOrDie("resnet18-cosplace-int8.pt", Fp32()));
  if (CpuSupportsBf16()) {
    EncoderOptions bf16 = Fp32();
    bf16.precision = Precision::kBf16;
    encoders.push_back(LoadOrDie("resnet18-cosplace.pt", bf16));
  }
  for (const auto& encoder : encoders) ASSERT_NE(encoder, nullptr);
  EXPECT_TRUE(encoders[0]->graph_optimized());
  EXPECT_TRUE(encoders[1]->int8());
  const ModelInfo& info = encoders[0]->info();
  const int dim = info.dim;
  const size_t per_image = PreprocessedSize(info);
  const std::vector<cv::Mat> images = RealisticImages(8);
  std::vector<float> inputs(images.size() * per_image);
  for (size_t i = 0; i < images.size(); ++i) {
    ASSERT_TRUE(PreprocessInto(images[i], info, inputs.data() + i * per_image).ok());
  }
  // Thread t encodes its own pair of images with encoders[t % encoders.size()], several times.
  constexpr int kThreads = 4;
  constexpr int kRounds = 6;
  auto encoder_of = [&](int t) { return encoders[t % encoders.size()].get(); };
  std::vector<std::vector<float>> sequential(kThreads, std::vector<float>(2 * dim));
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(
        encoder_of(t)->Encode(inputs.data() + 2 * t * per_image, 2, sequential[t].data()).ok());
  }
  std::vector<double> max_diff(kThreads, 0);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out(2 * dim);
      for (int r = 0; r < kRounds; ++r) {
        if (!encoder_of(t)->Encode(inputs.data() + 2 * t * per_image, 2, out.data()).ok()) {
          ++failures[t];
          continue;
        }
        for (int i = 0; i < 2 * dim; ++i) {
          max_diff[t] =
              std::max(max_diff[t], static_cast<double>(std::fabs(out[i] - sequential[t][i])));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_LE(max_diff[t], 1e-6) << "thread " << t << " (" << encoder_of(t)->precision_name()
                                 << ")";
  }
}

}  // namespace
}  // namespace geoloc::model
