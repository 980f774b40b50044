// The cell classifier's share of one Locate (Locator::Classify): the head's forward pass for one
// descriptor, the classifier cells (marginals of every cell, top 10) and the fused choice among 5
// peaks. HMC heads (512-d input, hidden 512, random weights) over adaptive cells of 200,000
// points spread over the sphere (fixed seed): t_max 1000 gives a few hundred classes, t_max 100
// a few thousand. Figures and the command: docs/BENCHMARKS.md.
//
//   classifier_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/cells/adaptive_cells.h"
#include "core/engine/bundle_classifier.h"
#include "core/engine/fusion.h"
#include "core/geo/lat_lon.h"
#include "core/model/cell_classifier.h"

namespace geoloc::engine {
namespace {

constexpr int kDim = 512;
constexpr int kPoints = 200000;
constexpr int kPeaks = 5;

struct Setup {
  std::unique_ptr<const BundleClassifier> classifier;
  std::vector<float> descriptor;
  std::vector<float> probs;
  std::vector<geo::Peak> peaks;
  std::string error;
};

geo::LatLon RandomPoint(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return {std::asin(2 * unit(rng) - 1) * geo::kRadToDeg, -180 + 360 * unit(rng)};
}

std::unique_ptr<Setup> MakeSetup(int64_t t_max) {
  auto setup = std::make_unique<Setup>();
  std::mt19937_64 rng(20261122);
  std::vector<geo::LatLon> points(kPoints);
  for (geo::LatLon& p : points) p = RandomPoint(rng);
  cells::AdaptiveCellOptions options;
  options.lvl_start = 2;
  options.lvl_end = 12;
  options.t_min = t_max / 5;
  options.t_max = t_max;
  absl::StatusOr<cells::CellHierarchy> cells = cells::GenerateAdaptiveCells(points, options);
  if (!cells.ok()) {
    setup->error = std::string(cells.status().message());
    return setup;
  }
  model::CellClassifierOptions head_options;
  head_options.variant = model::CellHeadVariant::kHmc;
  auto head = model::CellClassifier::Create(*cells, kDim, head_options);
  if (!head.ok()) {
    setup->error = std::string(head.status().message());
    return setup;
  }
  // Served the way geolocd serves it: saved as TorchScript, loaded as a DescriptorHead.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("geoloc-classifier-bench-" + std::to_string(::getpid()) + ".pt"))
                               .string();
  absl::Status saved = (*head)->Save(path, "{}");
  auto loaded = model::DescriptorHead::Load(path, kDim);
  std::filesystem::remove(path);
  if (!saved.ok() || !loaded.ok()) {
    setup->error = std::string((saved.ok() ? loaded.status() : saved).message());
    return setup;
  }
  auto classifier = BundleClassifier::Create(std::move(*cells), std::move(*loaded), {});
  if (!classifier.ok()) {
    setup->error = std::string(classifier.status().message());
    return setup;
  }
  setup->classifier = std::move(*classifier);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  setup->descriptor.resize(kDim);
  double norm = 0;
  for (float& v : setup->descriptor) {
    v = normal(rng);
    norm += v * v;
  }
  for (float& v : setup->descriptor) v = static_cast<float>(v / std::sqrt(norm));
  setup->probs.resize(setup->classifier->num_classes());
  if (absl::Status st = setup->classifier->Predict(setup->descriptor.data(), 1,
                                                   setup->probs.data());
      !st.ok()) {
    setup->error = std::string(st.message());
  }
  for (int i = 0; i < kPeaks; ++i) {
    geo::Peak peak;
    peak.pos = RandomPoint(rng);
    peak.mass = 1.0 / (i + 2);
    setup->peaks.push_back(peak);
  }
  return setup;
}

// One setup per t_max, built on first use (outside the timed loops).
const Setup& GetSetup(int64_t t_max) {
  static auto* setups = new std::map<int64_t, std::unique_ptr<Setup>>();
  auto& slot = (*setups)[t_max];
  if (slot == nullptr) slot = MakeSetup(t_max);
  return *slot;
}

bool Ready(const Setup& setup, benchmark::State& state) {
  if (!setup.error.empty()) {
    state.SkipWithError(setup.error.c_str());
    return false;
  }
  state.counters["classes"] = setup.classifier->num_classes();
  return true;
}

void BM_HeadForward(benchmark::State& state) {
  const Setup& s = GetSetup(state.range(0));
  if (!Ready(s, state)) return;
  std::vector<float> probs(s.classifier->num_classes());
  for (auto _ : state) {
    absl::Status st = s.classifier->Predict(s.descriptor.data(), 1, probs.data());
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(probs.data());
  }
}

void BM_ClassifierCells(benchmark::State& state) {
  const Setup& s = GetSetup(state.range(0));
  if (!Ready(s, state)) return;
  for (auto _ : state) {
    std::vector<CellConfidence> top = s.classifier->TopCells(s.probs, 10, false, 8);
    ClassifierEstimate estimate = s.classifier->Estimate(s.probs);
    benchmark::DoNotOptimize(top.data());
    benchmark::DoNotOptimize(estimate);
  }
}

void BM_FusedChoice(benchmark::State& state) {
  const Setup& s = GetSetup(state.range(0));
  if (!Ready(s, state)) return;
  std::vector<double> q(kPeaks);
  for (auto _ : state) {
    for (int i = 0; i < kPeaks; ++i) {
      q[i] = s.classifier->LeafProbabilityAt(s.probs, s.peaks[i].pos);
    }
    FusedChoice choice = FusePeaks(s.peaks, q, s.classifier->num_classes());
    benchmark::DoNotOptimize(choice);
  }
}

void TMaxArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("t_max")->Arg(1000)->Arg(100)->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_HeadForward)->Apply(TMaxArgs);
BENCHMARK(BM_ClassifierCells)->Apply(TMaxArgs);
BENCHMARK(BM_FusedChoice)->Apply(TMaxArgs);

}  // namespace
}  // namespace geoloc::engine

BENCHMARK_MAIN();
