// The cost of combining an incident (Locator::CombineIncident's pooling and peaks) on top of its
// photos' own Locates: PoolIncidentEvidence and the spherical KDE peaks of the pooled neighbours
// for 2 to 16 photos of k = 60 neighbours each (half around the place, half scattered decoys;
// fixed seed). Figures and the command: docs/BENCHMARKS.md.
//
//   incident_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/engine/incident.h"
#include "core/geo/spherical_kde.h"

namespace geoloc::engine {
namespace {

constexpr int kK = 60;
constexpr double kBandwidthKm = 0.5;

std::vector<LocateResult> Photos(int n) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> near(0, 0.003);  // about 300 m
  std::uniform_real_distribution<double> lat(-60, 60), lon(-180, 180);
  std::vector<LocateResult> photos(n);
  int64_t row = 0;
  for (LocateResult& p : photos) {
    for (int i = 0; i < kK; ++i) {
      index::Neighbor nb;
      nb.row = row++;
      const bool at_place = i % 2 == 0;
      nb.lat = at_place ? 48.8582 + near(rng) : lat(rng);
      nb.lon = at_place ? 2.2945 + near(rng) : lon(rng);
      nb.score = 0.5f;
      p.neighbors.push_back(nb);
      p.weights.push_back(1.0 / kK);
    }
  }
  return photos;
}

void BM_PoolIncidentEvidence(benchmark::State& state) {
  const std::vector<LocateResult> photos = Photos(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto pooled = PoolIncidentEvidence(photos, kBandwidthKm, {});
    benchmark::DoNotOptimize(pooled);
  }
}
BENCHMARK(BM_PoolIncidentEvidence)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMicrosecond);

void BM_PooledPeaks(benchmark::State& state) {
  const std::vector<LocateResult> photos = Photos(static_cast<int>(state.range(0)));
  auto pooled = PoolIncidentEvidence(photos, kBandwidthKm, {});
  if (!pooled.ok()) {
    state.SkipWithError("pooling failed");
    return;
  }
  std::vector<geo::LatLon> positions;
  for (const index::Neighbor& n : pooled->neighbors) positions.push_back({n.lat, n.lon});
  geo::EstimatorOptions options;
  options.bandwidth_km = kBandwidthKm;
  for (auto _ : state) {
    auto peaks = geo::FindSphericalKdePeaks(positions, pooled->weights, options);
    benchmark::DoNotOptimize(peaks);
  }
}
BENCHMARK(BM_PooledPeaks)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace geoloc::engine

BENCHMARK_MAIN();
