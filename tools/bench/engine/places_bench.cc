// What naming places costs (docs/BENCHMARKS.md "Place names"): loading the gazetteer, one
// nearest-place lookup, and naming a whole Locate answer (engine::NamePlaces: best, retrieval,
// 5 peaks and 15 cells = 22 points, the server's defaults).
//
// The gazetteer is $GEOLOC_GAZETTEER (the full GeoNames one: tools/gazetteer/build_gazetteer.sh);
// unset, the committed 16-place test gazetteer, whose figures say little.
//
//   GEOLOC_GAZETTEER=build/places.gaz places_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/engine/place_names.h"
#include "core/geo/unit_vector.h"
#include "core/places/gazetteer.h"
#include "core/places/place_description.h"

namespace geoloc::engine {
namespace {

std::string GazetteerPath() {
  const char* path = std::getenv("GEOLOC_GAZETTEER");
  return path != nullptr && *path != '\0' ? path
                                          : std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz";
}

std::shared_ptr<const places::Gazetteer> Shared() {
  static const auto* gazetteer = [] {
    auto g = places::Gazetteer::Load(GazetteerPath());
    return new std::shared_ptr<const places::Gazetteer>(g.ok() ? *g : nullptr);
  }();
  return *gazetteer;
}

// Query points: half uniform on the sphere (oceans, deserts: the far, slow case), half within
// about 20 km of a place (where photos are taken).
std::vector<geo::LatLon> Queries(const places::Gazetteer& g, size_t n) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<size_t> pick(0, g.size() - 1);
  std::vector<geo::LatLon> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      out.push_back(geo::FromUnitVector(geo::Vec3{normal(rng), normal(rng), normal(rng)}));
    } else {
      const geo::LatLon at = g.place(pick(rng)).location;
      out.push_back({std::clamp(at.lat + 0.1 * normal(rng), -90.0, 90.0), at.lon + 0.1 * normal(rng)});
    }
  }
  return out;
}

void BM_LoadGazetteer(benchmark::State& state) {
  const std::string path = GazetteerPath();
  size_t places = 0;
  for (auto _ : state) {
    auto g = places::Gazetteer::Load(path);
    if (!g.ok()) {
      state.SkipWithError(std::string(g.status().message()).c_str());
      return;
    }
    places = (*g)->size();
  }
  state.counters["places"] = static_cast<double>(places);
}
BENCHMARK(BM_LoadGazetteer)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_NearestPlace(benchmark::State& state) {
  std::shared_ptr<const places::Gazetteer> g = Shared();
  if (g == nullptr) {
    state.SkipWithError("no gazetteer");
    return;
  }
  const std::vector<geo::LatLon> queries = Queries(*g, 4096);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(g->Nearest(queries[i++ % queries.size()]));
  }
  state.counters["places"] = static_cast<double>(g->size());
}
BENCHMARK(BM_NearestPlace);

void BM_NameNearest(benchmark::State& state) {
  std::shared_ptr<const places::Gazetteer> g = Shared();
  if (g == nullptr) {
    state.SkipWithError("no gazetteer");
    return;
  }
  const std::vector<geo::LatLon> queries = Queries(*g, 4096);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(places::NameNearest(*g, queries[i++ % queries.size()]));
  }
}
BENCHMARK(BM_NameNearest);

// One answer with the server's defaults: best, retrieval, 5 peaks, 3 levels x 5 cells.
void BM_NamePlacesPerAnswer(benchmark::State& state) {
  std::shared_ptr<const places::Gazetteer> g = Shared();
  if (g == nullptr) {
    state.SkipWithError("no gazetteer");
    return;
  }
  const std::vector<geo::LatLon> queries = Queries(*g, 4096);
  std::vector<LocateResult> answers(64);
  size_t q = 0;
  for (LocateResult& r : answers) {
    r.best.pos = queries[q++ % queries.size()];
    r.retrieval.pos = r.best.pos;
    r.peaks.resize(5);
    for (geo::Peak& p : r.peaks) p.pos = queries[q++ % queries.size()];
    r.cells.resize(15);
    for (CellConfidence& c : r.cells) c.center = queries[q++ % queries.size()];
  }
  size_t i = 0;
  for (auto _ : state) {
    LocateResult& r = answers[i++ % answers.size()];
    NamePlaces(*g, &r);
    benchmark::DoNotOptimize(r.best.place);
  }
  state.counters["points"] = 22;
}
BENCHMARK(BM_NamePlacesPerAnswer)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace geoloc::engine

BENCHMARK_MAIN();
