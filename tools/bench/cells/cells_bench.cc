// Adaptive S2 cells, leaf lookup and S2 cell ids over 1,000,000 points clustered around 50 world
// cities (fixed seed). Figures and the command: docs/BENCHMARKS.md.
//
//   cells_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/cells/adaptive_cells.h"
#include "core/cells/cell_hierarchy.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"

namespace geoloc::cells {
namespace {

constexpr int kNumPoints = 1000000;

// 50 large cities; photos cluster around them with a Zipf-like share and a spread of a few km,
// plus 10% scattered uniformly over the sphere (countryside, oceans, travel).
const std::vector<geo::LatLon>& Cities() {
  static const auto* cities = new std::vector<geo::LatLon>{
      {35.68, 139.69},  {28.61, 77.21},  {31.23, 121.47},  {-23.55, -46.63}, {19.43, -99.13},
      {30.04, 31.24},   {19.08, 72.88},  {39.90, 116.41},  {23.81, 90.41},   {34.69, 135.50},
      {40.71, -74.01},  {24.86, 67.01},  {-34.60, -58.38}, {41.01, 28.98},   {22.57, 88.36},
      {14.60, 120.98},  {6.52, 3.38},    {-22.91, -43.17}, {23.13, 113.26},  {-4.44, 15.27},
      {34.05, -118.24}, {55.76, 37.62},  {22.54, 114.06},  {-6.21, 106.85},  {48.86, 2.35},
      {-12.05, -77.04}, {51.51, -0.13},  {13.76, 100.50},  {4.71, -74.07},   {37.57, 126.98},
      {41.88, -87.63},  {35.69, 51.39},  {3.14, 101.69},   {-33.87, 151.21}, {43.65, -79.38},
      {1.35, 103.82},   {40.42, -3.70},  {52.52, 13.40},   {41.90, 12.50},   {-33.92, 18.42},
      {25.20, 55.27},   {59.33, 18.07},  {64.15, -21.94},  {-36.85, 174.76}, {21.31, -157.86},
      {61.22, -149.90}, {-17.83, 31.05}, {9.03, 38.74},    {45.50, -73.57},  {-41.29, 174.78}};
  return *cities;
}

const std::vector<geo::LatLon>& Points() {
  static const auto* points = [] {
    auto* out = new std::vector<geo::LatLon>();
    out->reserve(kNumPoints);
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::exponential_distribution<double> radius_km(1.0 / 8.0);
    std::vector<double> weights;
    for (size_t i = 0; i < Cities().size(); ++i) weights.push_back(1.0 / (1.0 + i));
    std::discrete_distribution<size_t> city(weights.begin(), weights.end());
    for (int i = 0; i < kNumPoints; ++i) {
      if (unit(rng) < 0.1) {
        out->push_back({std::asin(2 * unit(rng) - 1) * geo::kRadToDeg, -180 + 360 * unit(rng)});
      } else {
        out->push_back(geo::DestinationPoint(Cities()[city(rng)], 360 * unit(rng), radius_km(rng)));
      }
    }
    return out;
  }();
  return *points;
}

AdaptiveCellOptions Options(int64_t t_min, int64_t t_max) {
  AdaptiveCellOptions options;
  options.lvl_start = 2;
  options.lvl_end = 15;
  options.t_min = t_min;
  options.t_max = t_max;
  return options;
}

void BM_GenerateAdaptiveCells(benchmark::State& state) {
  const std::vector<geo::LatLon>& points = Points();
  const AdaptiveCellOptions options = Options(state.range(0), state.range(1));
  int classes = 0;
  for (auto _ : state) {
    auto h = GenerateAdaptiveCells(points, options);
    if (!h.ok()) {
      state.SkipWithError(std::string(h.status().message()).c_str());
      return;
    }
    classes = h->num_classes();
    benchmark::DoNotOptimize(classes);
  }
  state.counters["classes"] = classes;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(points.size()));
}
// The defaults (t_min 50, t_max 1000) and the seed's finest setting scaled to 1M points.
BENCHMARK(BM_GenerateAdaptiveCells)
    ->Args({50, 1000})
    ->Args({3000, 15000})
    ->Unit(benchmark::kMillisecond);

void BM_LeafClassOf(benchmark::State& state) {
  const std::vector<geo::LatLon>& points = Points();
  static const auto* hierarchy =
      new CellHierarchy(*GenerateAdaptiveCells(points, Options(50, 1000)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hierarchy->LeafClassOf(points[i]));
    if (++i == points.size()) i = 0;
  }
  state.counters["classes"] = hierarchy->num_classes();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeafClassOf);

void BM_CellIdAt(benchmark::State& state) {
  const std::vector<geo::LatLon>& points = Points();
  const int level = static_cast<int>(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(CellIdAt(points[i], level));
    if (++i == points.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CellIdAt)->Arg(10)->Arg(30);

void BM_HierarchyFromJson(benchmark::State& state) {
  const std::string json = *GenerateAdaptiveCells(Points(), Options(50, 1000))->ToJson();
  for (auto _ : state) {
    auto h = CellHierarchy::FromJson(json);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_HierarchyFromJson)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace geoloc::cells

BENCHMARK_MAIN();
