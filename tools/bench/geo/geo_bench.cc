// Benchmarks of core/geo: every estimator at k = 10, 60, 100 on spread-out and on tightly
// clustered neighbour sets, the spherical KDE against the width of one cluster, and the haversine
// distance. Figures and the command are in docs/BENCHMARKS.md; the spherical KDE's target is
// < 1 ms per query at k = 100 on one core.
//
//   taskset -c 0 build/tools/bench/geo/geo_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/geo/distance.h"
#include "core/geo/estimator.h"

namespace geoloc {
namespace geo {
namespace {

// Query sets are cycled so the timing is not one memorised input.
constexpr int kQuerySets = 32;

enum class Layout { kSpread, kClustered, kMixed };

const char* LayoutName(Layout l) {
  switch (l) {
    case Layout::kSpread:
      return "spread";
    case Layout::kClustered:
      return "clustered";
    case Layout::kMixed:
      return "mixed";
  }
  return "?";
}

// spread: uniform over a 4 x 4 degree box (about 440 x 290 km: a country, as in the seed);
// clustered: every neighbour within a Gaussian of 150 m around one place (every kernel term is
// active, the KDE's worst case); mixed: 60% in three 200 m clusters a few km apart, 40% spread.
// Similarities fall from 0.9 to 0.5 with rank, like a retrieval list.
std::vector<Neighbor> MakeNeighbors(Layout layout, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2.0, 2.0), bearing(0, 360);
  std::normal_distribution<double> g(0, 1);
  const LatLon centre{50.0 + 0.1 * u(rng), 15.0 + 0.1 * u(rng)};
  const LatLon clusters[3] = {centre, DestinationPoint(centre, 40, 3),
                              DestinationPoint(centre, 200, 7)};
  std::vector<Neighbor> out;
  for (int i = 0; i < k; ++i) {
    LatLon p;
    const bool spread = layout == Layout::kSpread || (layout == Layout::kMixed && i % 5 >= 3);
    if (spread) {
      p = {centre.lat + u(rng), centre.lon + u(rng)};
    } else {
      const LatLon c = layout == Layout::kClustered ? centre : clusters[i % 3];
      const double sd_km = layout == Layout::kClustered ? 0.15 : 0.2;
      p = DestinationPoint(c, bearing(rng), std::abs(g(rng)) * sd_km);
    }
    out.push_back({p, 0.9 - 0.4 * i / k});
  }
  return out;
}

void BM_Estimate(benchmark::State& state, EstimatorKind kind, Layout layout, int k) {
  std::vector<std::vector<Neighbor>> sets;
  for (int s = 0; s < kQuerySets; ++s) sets.push_back(MakeNeighbors(layout, k, 1000 + s));
  EstimatorOptions options;
  options.kind = kind;
  size_t peaks = 0;
  int s = 0;
  for (auto _ : state) {
    auto est = EstimateLocation(sets[s], ScoreKind::kSimilarity, options);
    if (!est.ok()) {
      state.SkipWithError(std::string(est.status().message()).c_str());
      return;
    }
    peaks += est->peaks.size();
    benchmark::DoNotOptimize(est->peaks.data());
    s = (s + 1) % kQuerySets;
  }
  state.counters["peaks"] =
      benchmark::Counter(static_cast<double>(peaks), benchmark::Counter::kAvgIterations);
}

// The spherical KDE at k = 100 against the scale of one Gaussian cluster (sd in metres, h = 500 m):
// mean-shift needs the most steps when the cluster's spread is close to the bandwidth.
void BM_SphericalKdeClusterScale(benchmark::State& state) {
  const double sd_km = state.range(0) / 1000.0;
  std::vector<std::vector<Neighbor>> sets;
  for (int s = 0; s < kQuerySets; ++s) {
    std::mt19937_64 rng(2000 + s);
    std::uniform_real_distribution<double> bearing(0, 360);
    std::normal_distribution<double> g(0, 1);
    std::vector<Neighbor> n;
    for (int i = 0; i < 100; ++i) {
      // Rayleigh radius: a 2-D Gaussian of standard deviation sd per axis.
      const double x = g(rng), y = g(rng);
      const double r = sd_km * std::hypot(x, y);
      n.push_back({DestinationPoint({48.2, 16.37}, bearing(rng), r), 0.9 - 0.004 * i});
    }
    sets.push_back(std::move(n));
  }
  const EstimatorOptions options;  // spherical KDE, h = 0.5 km
  size_t peaks = 0;
  int s = 0;
  for (auto _ : state) {
    auto est = EstimateLocation(sets[s], ScoreKind::kSimilarity, options);
    if (!est.ok()) {
      state.SkipWithError(std::string(est.status().message()).c_str());
      return;
    }
    peaks += est->peaks.size();
    benchmark::DoNotOptimize(est->peaks.data());
    s = (s + 1) % kQuerySets;
  }
  state.counters["peaks"] =
      benchmark::Counter(static_cast<double>(peaks), benchmark::Counter::kAvgIterations);
}

void BM_Haversine(benchmark::State& state) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180);
  std::vector<LatLon> a(1024), b(1024);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = {lat(rng), lon(rng)};
    b[i] = {lat(rng), lon(rng)};
  }
  for (auto _ : state) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) sum += HaversineKm(a[i], b[i]);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(a.size()));
}

void RegisterAll() {
  const EstimatorKind kinds[] = {EstimatorKind::kNearest, EstimatorKind::kMean,
                                 EstimatorKind::kWeightedMean, EstimatorKind::kGridKde,
                                 EstimatorKind::kSphericalKde};
  for (EstimatorKind kind : kinds) {
    for (Layout layout : {Layout::kSpread, Layout::kClustered, Layout::kMixed}) {
      // The mixed layout only matters to the estimators with more than one mode.
      if (layout == Layout::kMixed && kind != EstimatorKind::kSphericalKde) continue;
      for (int k : {10, 60, 100}) {
        benchmark::RegisterBenchmark(
            absl::StrCat("BM_Estimate/", EstimatorName(kind), "/", LayoutName(layout), "/k:", k)
                .c_str(),
            [=](benchmark::State& st) { BM_Estimate(st, kind, layout, k); })
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::RegisterBenchmark("BM_SphericalKdeClusterScale/k:100/sd_m",
                               BM_SphericalKdeClusterScale)
      ->Arg(50)
      ->Arg(150)
      ->Arg(500)
      ->Arg(1000)
      ->Arg(3000)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Haversine/1024_pairs", BM_Haversine)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc

int main(int argc, char** argv) {
  geoloc::geo::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
