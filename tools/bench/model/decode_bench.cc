// Decode + preprocess cost per image, with and without reduced JPEG decoding, to a 224x224 model
// input. Figures and the command: docs/BENCHMARKS.md.
//
//   decode_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Images are generated in memory like photos: smooth gradients, shapes with edges, fine texture
// and sensor-like noise, JPEG quality 90 with 4:2:0 chroma (OpenCV's default), as phones write.
// OpenCV runs single-threaded here (see main).
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/model/image_decoder.h"
#include "core/model/image_header.h"
#include "core/model/preprocess.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace geoloc::model {
namespace {

constexpr int kModelSide = 224;

cv::Mat PhotoLike(int width, int height, uint64_t seed) {
  cv::Mat image(height, width, CV_8UC3);
  // Sky-to-ground gradient with a horizontal tint, plus low-frequency waves.
  for (int y = 0; y < height; ++y) {
    auto* row = image.ptr<cv::Vec3b>(y);
    const double v = static_cast<double>(y) / height;
    for (int x = 0; x < width; ++x) {
      const double u = static_cast<double>(x) / width;
      const double wave = 20.0 * std::sin(6.0 * u + 3.0 * v) * std::cos(4.0 * v);
      row[x] = cv::Vec3b(cv::saturate_cast<uint8_t>(200 - 120 * v + wave),
                         cv::saturate_cast<uint8_t>(150 - 40 * v + 30 * u + wave),
                         cv::saturate_cast<uint8_t>(90 + 60 * v + 40 * u - wave));
    }
  }
  // Buildings, windows and poles: edges at many scales.
  cv::RNG rng(seed);
  const int scale = std::max(1, width / 500);
  for (int i = 0; i < 150; ++i) {
    const cv::Point p(rng.uniform(0, width), rng.uniform(height / 3, height));
    const cv::Size s(rng.uniform(5, 120) * scale, rng.uniform(5, 200) * scale);
    const cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
    if (i % 3 == 0) {
      cv::circle(image, p, s.width / 2, colour, cv::FILLED, cv::LINE_AA);
    } else {
      cv::rectangle(image, cv::Rect(p, s), colour, cv::FILLED);
    }
  }
  // Fine texture (foliage, asphalt) and sensor noise.
  cv::Mat noise(height, width, CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 8);
  cv::Mat textured;
  image.convertTo(textured, CV_16SC3);
  textured += noise;
  textured.convertTo(image, CV_8UC3);
  return image;
}

const std::string& Jpeg(int width) {
  static auto* cache = new std::map<int, std::string>();
  auto it = cache->find(width);
  if (it == cache->end()) {
    const int height = width * 3 / 4;
    std::vector<uchar> buffer;
    cv::imencode(".jpg", PhotoLike(width, height, 7), buffer, {cv::IMWRITE_JPEG_QUALITY, 90});
    it = cache->emplace(width, std::string(buffer.begin(), buffer.end())).first;
  }
  return it->second;
}

ModelInfo Model() {
  ModelInfo info;
  info.input_height = kModelSide;
  info.input_width = kModelSide;
  info.resize = ResizePolicy::kResizeCenterCrop;
  return info;
}

DecodeOptions Options(bool reduced) {
  DecodeOptions options;
  options.target_min_side = reduced ? kModelSide : 0;
  return options;
}

void SetLabel(benchmark::State& state, const std::string& bytes, const cv::Mat& decoded) {
  state.SetLabel(std::to_string(bytes.size() / 1024) + " KiB -> " + std::to_string(decoded.cols) +
                 "x" + std::to_string(decoded.rows));
}

// Args: {image width (height = 3/4 of it), reduced decoding 0/1}.
void BM_Decode(benchmark::State& state) {
  const std::string& bytes = Jpeg(static_cast<int>(state.range(0)));
  const DecodeOptions options = Options(state.range(1) != 0);
  cv::Mat image;
  for (auto _ : state) {
    image = DecodeImage(bytes, options).value();
    benchmark::DoNotOptimize(image.data);
  }
  SetLabel(state, bytes, image);
}

void BM_DecodePreprocess(benchmark::State& state) {
  const std::string& bytes = Jpeg(static_cast<int>(state.range(0)));
  const DecodeOptions options = Options(state.range(1) != 0);
  const ModelInfo info = Model();
  std::vector<float> input(PreprocessedSize(info));
  cv::Mat image;
  for (auto _ : state) {
    image = DecodeImage(bytes, options).value();
    if (!PreprocessInto(image, info, input.data()).ok()) state.SkipWithError("preprocess failed");
    benchmark::DoNotOptimize(input.data());
  }
  SetLabel(state, bytes, image);
}

// Preprocessing alone, from the image each decode path hands it.
void BM_Preprocess(benchmark::State& state) {
  const std::string& bytes = Jpeg(static_cast<int>(state.range(0)));
  const cv::Mat image = DecodeImage(bytes, Options(state.range(1) != 0)).value();
  const ModelInfo info = Model();
  std::vector<float> input(PreprocessedSize(info));
  for (auto _ : state) {
    if (!PreprocessInto(image, info, input.data()).ok()) state.SkipWithError("preprocess failed");
    benchmark::DoNotOptimize(input.data());
  }
  SetLabel(state, bytes, image);
}

// The safety checks' own cost: the header parse and the walk to EOI over the whole file.
void BM_InspectImage(benchmark::State& state) {
  const std::string& bytes = Jpeg(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(InspectImage(bytes).value().jpeg_scans);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes.size());
}

// What OpenCV does by default (full decode, its own EXIF handling), for reference.
void BM_PlainImdecode(benchmark::State& state) {
  const std::string& bytes = Jpeg(static_cast<int>(state.range(0)));
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat image;
  for (auto _ : state) {
    image = cv::imdecode(buffer, cv::IMREAD_COLOR);
    benchmark::DoNotOptimize(image.data);
  }
  SetLabel(state, bytes, image);
}

void DecodeArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"width", "reduced"});
  for (int width : {1024, 4000}) {
    for (int reduced : {0, 1}) b->Args({width, reduced});
  }
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Decode)->Apply(DecodeArgs);
BENCHMARK(BM_DecodePreprocess)->Apply(DecodeArgs);
BENCHMARK(BM_Preprocess)->Apply(DecodeArgs);
BENCHMARK(BM_InspectImage)->ArgName("width")->Arg(1024)->Arg(4000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlainImdecode)->ArgName("width")->Arg(1024)->Arg(4000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace geoloc::model

// One OpenCV thread: the per-image cost on one core. The server decodes many images at once, so
// OpenCV's internal parallelism (TBB in cv::resize) would only move work between cores.
int main(int argc, char** argv) {
  cv::setNumThreads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
