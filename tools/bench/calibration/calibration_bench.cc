// Benchmarks of core/calibration (temporary skeleton, regions only).
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/calibration/superlevel_set.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/cell_union_outline.h"
#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"

namespace geoloc::calibration {
namespace {

constexpr int kQuerySets = 16;
enum class Layout { kSpread, kClustered, kMixed };
const char* LayoutName(Layout l) {
  return l == Layout::kSpread ? "spread" : l == Layout::kClustered ? "clustered" : "mixed";
}

struct Answer {
  std::vector<geo::LatLon> pos;
  std::vector<double> w;
};

Answer MakeAnswer(Layout layout, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2.0, 2.0), bearing(0, 360);
  std::normal_distribution<double> g(0, 1);
  const geo::LatLon centre{50.0 + 0.1 * u(rng), 15.0 + 0.1 * u(rng)};
  const geo::LatLon clusters[3] = {centre, geo::DestinationPoint(centre, 40, 3),
                                   geo::DestinationPoint(centre, 200, 7)};
  Answer a;
  for (int i = 0; i < k; ++i) {
    geo::LatLon p;
    const bool spread = layout == Layout::kSpread || (layout == Layout::kMixed && i % 5 >= 3);
    if (spread) {
      p = {centre.lat + u(rng), centre.lon + u(rng)};
    } else {
      const geo::LatLon c = layout == Layout::kClustered ? centre : clusters[i % 3];
      const double sd_km = layout == Layout::kClustered ? 0.15 : 0.2;
      p = geo::DestinationPoint(c, bearing(rng), std::abs(g(rng)) * sd_km);
    }
    a.pos.push_back(p);
    a.w.push_back(std::pow(1.9 - 0.4 * i / k, 5));
  }
  return a;
}

void BM_Regions(benchmark::State& state, Layout layout) {
  std::vector<PredictiveDensity> fs;
  std::vector<std::vector<double>> ts;
  for (int s = 0; s < kQuerySets; ++s) {
    const Answer a = MakeAnswer(layout, 100, 100 + s);
    std::vector<PredictiveDensity::Part> parts;
    parts.push_back({0.9, std::make_unique<VmfKdeComponent>(*VmfKdeComponent::Create(a.pos, a.w, 0.5))});
    parts.push_back({0.09, std::make_unique<VmfKdeComponent>(*VmfKdeComponent::Create(a.pos, a.w, 100))});
    fs.push_back(*PredictiveDensity::Create(std::move(parts), 0.01));
    double top = 0;
    for (const auto& p : a.pos) top = std::max(top, fs.back().Density(geo::ToUnitVector(p)));
    ts.push_back({top * std::exp(-0.69), top * std::exp(-1.2), top * std::exp(-2.3), top * std::exp(-3)});
  }
  int s = 0;
  double cells = 0, evaluated = 0, pieces = 0;
  for (auto _ : state) {
    auto r = ExtractSuperlevelSets(fs[s], ts[s]);
    for (const auto& set : r->sets) {
      cells += set.cells.size();
      if (state.range(0)) pieces += cells::CellUnionPieces(set.cells).size();
    }
    evaluated += r->cells_evaluated;
    s = (s + 1) % kQuerySets;
  }
  state.counters["cells"] = benchmark::Counter(cells, benchmark::Counter::kAvgIterations);
  state.counters["evaluated"] = benchmark::Counter(evaluated, benchmark::Counter::kAvgIterations);
  state.counters["pieces"] = benchmark::Counter(pieces, benchmark::Counter::kAvgIterations);
}

void RegisterAll() {
  for (Layout layout : {Layout::kSpread, Layout::kClustered, Layout::kMixed}) {
    benchmark::RegisterBenchmark(absl::StrCat("BM_Regions/", LayoutName(layout)).c_str(),
                                 [=](benchmark::State& st) { BM_Regions(st, layout); })
        ->Arg(0)->Arg(1)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace geoloc::calibration

int main(int argc, char** argv) {
  geoloc::calibration::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
