// encoder_bench: Encoder throughput (images/s) by precision and batch size (docs/BENCHMARKS.md).
//
//   /usr/bin/python3 tools/export_model.py --demo -o /tmp/demo.pt   # ResNet-18 + GeM + FC 512
//   build/tools/bench/model/encoder_bench --model=/tmp/demo.pt --threads=2
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true   (one command line)
//
// The model path may also come from GEOLOC_BENCH_MODEL. bf16 runs only on CPUs with avx512_bf16 or
// AMX (CpuSupportsBf16). items_per_second is images/s; real time is per batch.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/model/encoder.h"
#include "core/model/preprocess.h"

namespace geoloc::model {
namespace {

struct Config {
  std::string model;
  int threads = 2;
};

Config& GetConfig() {
  static Config config;
  return config;
}

// One Encoder per precision, loaded on first use and kept for all batch sizes.
const Encoder* GetEncoder(Precision precision) {
  static std::map<Precision, std::unique_ptr<Encoder>> encoders;
  auto it = encoders.find(precision);
  if (it != encoders.end()) return it->second.get();
  EncoderOptions options;
  options.precision = precision;
  options.intra_op_threads = GetConfig().threads;
  options.warmup_batch = 16;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(GetConfig().model, options);
  if (!encoder.ok()) {
    std::fprintf(stderr, "encoder_bench: %s\n", encoder.status().ToString().c_str());
    std::exit(1);
  }
  return (encoders[precision] = *std::move(encoder)).get();
}

void BM_Encode(benchmark::State& state, Precision precision) {
  const Encoder* encoder = GetEncoder(precision);
  const int batch = static_cast<int>(state.range(0));
  const size_t per_image = PreprocessedSize(encoder->info());
  // Image-like values in the normalised range; content does not change the cost of a CNN.
  std::vector<float> images(batch * per_image);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(std::sin(i * 0.001));
  std::vector<float> out(static_cast<size_t>(batch) * encoder->info().dim);
  for (auto _ : state) {
    absl::Status status = encoder->Encode(images.data(), batch, out.data());
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(absl::StrCat(encoder->info().name, " ", encoder->info().input_height, "x",
                              encoder->info().input_width, ", ", GetConfig().threads, " threads"));
}

}  // namespace
}  // namespace geoloc::model

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  using geoloc::model::Config;
  Config& config = geoloc::model::GetConfig();
  if (const char* env = std::getenv("GEOLOC_BENCH_MODEL")) config.model = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool ok = false;
    if (absl::StartsWith(arg, "--model=")) {
      config.model = arg.substr(8);
      ok = !config.model.empty();
    } else if (absl::StartsWith(arg, "--threads=")) {
      ok = absl::SimpleAtoi(arg.substr(10), &config.threads) && config.threads > 0;
    }
    if (!ok) {
      std::fprintf(stderr, "encoder_bench: unknown or invalid argument %s\n", arg.c_str());
      return 2;
    }
  }
  if (config.model.empty()) {
    std::fprintf(stderr,
                 "encoder_bench: no model. Export one with\n"
                 "  /usr/bin/python3 tools/export_model.py --demo -o /tmp/demo.pt\n"
                 "and pass --model=/tmp/demo.pt (or set GEOLOC_BENCH_MODEL).\n");
    return 2;
  }
  using geoloc::model::Precision;
  std::vector<Precision> precisions = {Precision::kFp32};
  if (geoloc::model::CpuSupportsBf16()) precisions.push_back(Precision::kBf16);
  for (Precision precision : precisions) {
    benchmark::RegisterBenchmark(
        absl::StrCat("BM_Encode/", geoloc::model::PrecisionName(precision)).c_str(),
        geoloc::model::BM_Encode, precision)
        ->ArgName("batch")
        ->Arg(1)
        ->Arg(8)
        ->Arg(16)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
