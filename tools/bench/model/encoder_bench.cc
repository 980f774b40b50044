// encoder_bench: Encoder throughput (images/s) by precision and batch size (docs/BENCHMARKS.md).
//
//   /usr/bin/python3 tools/export_model.py --demo -o /tmp/demo.pt   # ResNet-18 + GeM + FC 512
//   /usr/bin/python3 tools/export_model.py --demo --quantize int8 -o /tmp/demo-int8.pt
//   build/tools/bench/model/encoder_bench --model=/tmp/demo.pt --int8-model=/tmp/demo-int8.pt
//       --threads=2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   (one command line)
//
// Variants, each at batch 1, 8 and 16:
//   fp32_frozen     --model, fp32, EncoderOptions::optimize_graph = false (torch::jit::freeze only)
//   fp32_optimized  --model, fp32, optimize_graph = true (skipped when Load declines to optimize)
//   bf16            --model, bf16 autocast (only on CPUs with avx512_bf16 or AMX)
//   int8            --int8-model (an archive exported with --quantize int8), when given
// The paths may also come from GEOLOC_BENCH_MODEL and GEOLOC_BENCH_INT8_MODEL.
// items_per_second is images/s; real time is per batch. The counters p50_ms, p90_ms and p99_ms
// are percentiles of the single calls of a run (nearest rank): the forward pass's own tail, which a
// server's single-request latency cannot beat.
//
// --rounds=N replaces Google Benchmark's runs (one variant after another) by N interleaved rounds:
// each round times one Encode of every variant at every batch size, and a markdown table of
// medians (ms/image, images/s, speed-up over fp32_frozen) is printed with the load average before
// and after. On a machine shared with other jobs, interleaving spreads their load evenly over the
// variants, so the ratios stay fair even when the absolute figures move.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
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
  std::string int8_model;
  int threads = 2;
  int rounds = 0;  // > 0: interleaved rounds instead of Google Benchmark
};

enum class Variant { kFp32Frozen, kFp32Optimized, kBf16, kInt8 };

const char* VariantName(Variant variant) {
  switch (variant) {
    case Variant::kFp32Frozen:
      return "fp32_frozen";
    case Variant::kFp32Optimized:
      return "fp32_optimized";
    case Variant::kBf16:
      return "bf16";
    case Variant::kInt8:
      return "int8";
  }
  return "unknown";
}

Config& GetConfig() {
  static Config config;
  return config;
}

// One Encoder per variant, loaded on first use and kept for all batch sizes.
const Encoder* GetEncoder(Variant variant) {
  static std::map<Variant, std::unique_ptr<Encoder>> encoders;
  auto it = encoders.find(variant);
  if (it != encoders.end()) return it->second.get();
  EncoderOptions options;
  options.precision = variant == Variant::kBf16 ? Precision::kBf16 : Precision::kFp32;
  options.optimize_graph = variant == Variant::kFp32Optimized;
  options.intra_op_threads = GetConfig().threads;
  options.warmup_batch = 16;
  const std::string& path = variant == Variant::kInt8 ? GetConfig().int8_model : GetConfig().model;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = Encoder::Load(path, options);
  if (!encoder.ok()) {
    std::fprintf(stderr, "encoder_bench: %s\n", encoder.status().ToString().c_str());
    std::exit(1);
  }
  if (variant == Variant::kInt8 && !(*encoder)->int8()) {
    std::fprintf(stderr,
                 "encoder_bench: %s is not an int8 archive (export it with --quantize "
                 "int8)\n",
                 path.c_str());
    std::exit(1);
  }
  return (encoders[variant] = *std::move(encoder)).get();
}

// Image-like values in the normalised range; content does not change the cost of a CNN.
std::vector<float> BenchImages(const Encoder& encoder, int batch) {
  std::vector<float> images(batch * PreprocessedSize(encoder.info()));
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(std::sin(i * 0.001));
  return images;
}

void BM_Encode(benchmark::State& state, Variant variant) {
  const Encoder* encoder = GetEncoder(variant);
  if (variant == Variant::kFp32Optimized && !encoder->graph_optimized()) {
    state.SkipWithError("Load kept the frozen graph (see its log line): nothing to measure");
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  const std::vector<float> images = BenchImages(*encoder, batch);
  std::vector<float> out(static_cast<size_t>(batch) * encoder->info().dim);
  std::vector<double> call_ms;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    absl::Status status = encoder->Encode(images.data(), batch, out.data());
    call_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if (!call_ms.empty()) {
    std::sort(call_ms.begin(), call_ms.end());
    for (int p : {50, 90, 99}) {
      const size_t rank = std::max<size_t>(
          1, static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(call_ms.size()))));
      state.counters[absl::StrCat("p", p, "_ms")] = call_ms[rank - 1];
    }
  }
  state.SetLabel(absl::StrCat(encoder->info().name, " ", encoder->info().input_height, "x",
                              encoder->info().input_width, ", ", encoder->precision_name(), ", ",
                              GetConfig().threads, " threads"));
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return absl::StrCat(one, " ", five, " ", fifteen);
}

// The --rounds mode (see the top of the file). Returns the process exit status.
int RunInterleaved(const std::vector<Variant>& variants, const std::vector<int>& batches) {
  struct Cell {
    Variant variant;
    int batch;
    std::vector<float> images, out;
    std::vector<double> ms;  // per batch, one entry per round
  };
  std::vector<Cell> cells;
  for (int batch : batches) {
    for (Variant variant : variants) {
      const Encoder* encoder = GetEncoder(variant);
      if (variant == Variant::kFp32Optimized && !encoder->graph_optimized()) continue;
      cells.push_back({variant,
                       batch,
                       BenchImages(*encoder, batch),
                       std::vector<float>(static_cast<size_t>(batch) * encoder->info().dim),
                       {}});
    }
  }
  // One untimed round: the profiling executor specialises each graph for each new batch size.
  for (Cell& cell : cells) {
    const absl::Status status =
        GetEncoder(cell.variant)->Encode(cell.images.data(), cell.batch, cell.out.data());
    if (!status.ok()) {
      std::fprintf(stderr, "encoder_bench: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  const std::string load_before = LoadAverage();
  for (int round = 0; round < GetConfig().rounds; ++round) {
    for (Cell& cell : cells) {
      const Encoder* encoder = GetEncoder(cell.variant);
      const auto start = std::chrono::steady_clock::now();
      const absl::Status status = encoder->Encode(cell.images.data(), cell.batch, cell.out.data());
      const auto stop = std::chrono::steady_clock::now();
      if (!status.ok()) {
        std::fprintf(stderr, "encoder_bench: %s\n", status.ToString().c_str());
        return 1;
      }
      cell.ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  const Encoder* reference = GetEncoder(Variant::kFp32Frozen);
  std::printf(
      "%s %dx%d, %d intra-op threads, %d interleaved rounds, load average %s before, %s "
      "after\n\n",
      reference->info().name.c_str(), reference->info().input_height, reference->info().input_width,
      GetConfig().threads, GetConfig().rounds, load_before.c_str(), LoadAverage().c_str());
  std::printf("| variant | batch | ms/batch (median) | ms/image | images/s | vs fp32_frozen |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  std::map<int, double> frozen_ms;
  for (const Cell& cell : cells) {
    if (cell.variant == Variant::kFp32Frozen) frozen_ms[cell.batch] = median(cell.ms);
  }
  for (const Cell& cell : cells) {
    const double ms = median(cell.ms);
    std::printf("| %s | %d | %.1f | %.2f | %.1f | %.2fx |\n", VariantName(cell.variant), cell.batch,
                ms, ms / cell.batch, 1000.0 * cell.batch / ms, frozen_ms[cell.batch] / ms);
  }
  return 0;
}

}  // namespace
}  // namespace geoloc::model

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  using geoloc::model::Config;
  Config& config = geoloc::model::GetConfig();
  if (const char* env = std::getenv("GEOLOC_BENCH_MODEL")) config.model = env;
  if (const char* env = std::getenv("GEOLOC_BENCH_INT8_MODEL")) config.int8_model = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool ok = false;
    if (absl::StartsWith(arg, "--model=")) {
      config.model = arg.substr(8);
      ok = !config.model.empty();
    } else if (absl::StartsWith(arg, "--int8-model=")) {
      config.int8_model = arg.substr(13);
      ok = !config.int8_model.empty();
    } else if (absl::StartsWith(arg, "--threads=")) {
      ok = absl::SimpleAtoi(arg.substr(10), &config.threads) && config.threads > 0;
    } else if (absl::StartsWith(arg, "--rounds=")) {
      ok = absl::SimpleAtoi(arg.substr(9), &config.rounds) && config.rounds > 0;
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
  using geoloc::model::Variant;
  std::vector<Variant> variants = {Variant::kFp32Frozen, Variant::kFp32Optimized};
  if (geoloc::model::CpuSupportsBf16()) variants.push_back(Variant::kBf16);
  if (!config.int8_model.empty()) {
    variants.push_back(Variant::kInt8);
  } else {
    std::fprintf(
        stderr, "encoder_bench: no --int8-model (or GEOLOC_BENCH_INT8_MODEL): int8 not measured\n");
  }
  if (config.rounds > 0) return geoloc::model::RunInterleaved(variants, {1, 8, 16});
  for (Variant variant : variants) {
    benchmark::RegisterBenchmark(
        absl::StrCat("BM_Encode/", geoloc::model::VariantName(variant)).c_str(),
        geoloc::model::BM_Encode, variant)
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
