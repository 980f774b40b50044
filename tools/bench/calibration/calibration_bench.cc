// Benchmarks of core/calibration: the whole per-answer apply step (regions at the four default
// levels with their cells, areas, pieces and outlines, P(within t km) at the five im2gps scales and
// P(localizable)) at k = 100, and its stages. The calibration is fitted by the library itself
// (FitCalibrationEntry) on synthetic answers (synthetic_answers.h: a world of towns, 60% of photos
// localizable, 10% distractors) and applied to held-out synthetic answers of three kinds:
//   localized   the retrieval found the place: half the neighbours within ~0.4 km of it
//   lost        a photo with a place whose neighbours are all in random towns
//   distractor  a photo with no place (random neighbours)
// The goal: the apply step under 1 ms per answer at k = 100. Figures and the command are in
// docs/BENCHMARKS.md:
//
//   taskset -c 0 build/tools/bench/calibration/calibration_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/calibration/calibrator.h"
#include "core/calibration/fit.h"
#include "core/calibration/superlevel_set.h"
#include "core/calibration/synthetic_answers.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/cell_union_outline.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"

namespace geoloc::calibration {
namespace {

constexpr int kAnswersPerKind = 32;

enum class Kind { kLocalized, kLost, kDistractor };
const char* KindName(Kind k) {
  return k == Kind::kLocalized ? "localized" : k == Kind::kLost ? "lost" : "distractor";
}

SyntheticAnswerOptions Options() {
  SyntheticAnswerOptions o;
  o.k = 100;
  return o;
}

// The calibration, fitted once on 1,500 + 1,500 synthetic photos.
const Calibrator& SharedCalibrator() {
  static const Calibrator* calibrator = [] {
    const SyntheticAnswerOptions o = Options();
    const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 101, 1500);
    const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 102, 1500);
    const proto::CalibrationEntry entry =
        *FitCalibrationEntry(SyntheticSettings(o), {"val", val}, {"calib", calib});
    return new Calibrator(*Calibrator::Create(entry));
  }();
  return *calibrator;
}

// Held-out answers of one kind.
const std::vector<CalibrationExample>& Answers(Kind kind) {
  static std::vector<CalibrationExample>* answers = [] {
    auto* all = new std::vector<CalibrationExample>[3];
    const SyntheticAnswerOptions o = Options();
    for (int64_t i = 0; all[0].size() < kAnswersPerKind || all[1].size() < kAnswersPerKind ||
                        all[2].size() < kAnswersPerKind;
         ++i) {
      CalibrationExample e = MakeSyntheticExample(o, 103, i);
      const int k = !e.truth.has_value() ? 2 : geo::HaversineKm(e.best, *e.truth) <= 1.0 ? 0 : 1;
      if (all[k].size() < kAnswersPerKind) all[k].push_back(std::move(e));
    }
    return all;
  }();
  return answers[static_cast<int>(kind)];
}

void Report(benchmark::State& state, double regions_cells, double evaluated, double pieces,
            double area95) {
  const double n = static_cast<double>(state.iterations());
  state.counters["cells"] = regions_cells / n;
  state.counters["evaluated"] = evaluated / n;
  state.counters["pieces"] = pieces / n;
  state.counters["area95_km2"] = area95 / n;
}

// The whole per-answer step: what the engine adds to a Locate.
// What the regions carry: cells and areas only, plus pieces, plus outline rings.
enum class Detail { kCells, kPieces, kOutlines };
const char* DetailName(Detail d) {
  return d == Detail::kCells ? "cells" : d == Detail::kPieces ? "pieces" : "outlines";
}

void BM_Apply(benchmark::State& state, Kind kind, Detail detail) {
  const Calibrator& calibrator = SharedCalibrator();
  const std::vector<CalibrationExample>& answers = Answers(kind);
  ApplyOptions options;
  options.pieces = detail != Detail::kCells;
  options.outlines = detail == Detail::kOutlines;
  double cells = 0, evaluated = 0, pieces = 0, area95 = 0, capped = 0;
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<CalibratedAnswer> a = calibrator.Apply(answers[i].Evidence(), options);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    for (const ConfidenceRegion& r : a->regions) {
      cells += static_cast<double>(r.cells.size());
      pieces += static_cast<double>(r.pieces.size());
    }
    evaluated += static_cast<double>(a->cells_evaluated);
    capped += a->regions_capped;
    area95 += a->regions.back().area_km2;
    benchmark::DoNotOptimize(a->p_localizable);
    i = (i + 1) % answers.size();
  }
  Report(state, cells, evaluated, pieces, area95);
  state.counters["capped"] = capped / static_cast<double>(state.iterations());
}

// Stages: the density and probabilities alone, the cells alone, the pieces and outlines alone.
void BM_Probabilities(benchmark::State& state, Kind kind) {
  const Calibrator& calibrator = SharedCalibrator();
  const std::vector<CalibrationExample>& answers = Answers(kind);
  ApplyOptions options;
  options.levels = {};
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<CalibratedAnswer> a = calibrator.Apply(answers[i].Evidence(), options);
    benchmark::DoNotOptimize(a->p_localizable);
    i = (i + 1) % answers.size();
  }
}

void BM_RegionCells(benchmark::State& state, Kind kind) {
  const Calibrator& calibrator = SharedCalibrator();
  const std::vector<CalibrationExample>& answers = Answers(kind);
  std::vector<PredictiveDensity> densities;
  std::vector<std::vector<double>> thresholds;
  ApplyOptions no_regions;
  no_regions.levels = {};
  for (const CalibrationExample& e : answers) {
    densities.push_back(*calibrator.Density(e.Evidence()));
    const int group = calibrator.Apply(e.Evidence(), no_regions)->score_group;
    std::vector<double> t;
    for (double level : kDefaultLevels) t.push_back(std::exp(-calibrator.Quantile(level, group)));
    thresholds.push_back(std::move(t));
  }
  double evaluated = 0;
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<SuperlevelResult> r = ExtractSuperlevelSets(densities[i], thresholds[i]);
    evaluated += static_cast<double>(r->cells_evaluated);
    i = (i + 1) % answers.size();
  }
  state.counters["evaluated"] = evaluated / static_cast<double>(state.iterations());
}

void BM_Outlines(benchmark::State& state, Kind kind) {
  const Calibrator& calibrator = SharedCalibrator();
  const std::vector<CalibrationExample>& answers = Answers(kind);
  ApplyOptions options;
  options.pieces = false;
  options.outlines = false;
  std::vector<std::vector<std::vector<cells::CellId>>> unions;
  for (const CalibrationExample& e : answers) {
    std::vector<std::vector<cells::CellId>> u;
    const CalibratedAnswer a = *calibrator.Apply(e.Evidence(), options);
    for (const ConfidenceRegion& r : a.regions) {
      u.push_back(r.cells);
    }
    unions.push_back(std::move(u));
  }
  size_t i = 0;
  for (auto _ : state) {
    for (const std::vector<cells::CellId>& u : unions[i]) {
      benchmark::DoNotOptimize(cells::CellUnionPieces(u).size());
    }
    i = (i + 1) % answers.size();
  }
}

// The hot loop of region extraction: bounds of a k-kernel KDE over one cell.
void BM_KernelBounds(benchmark::State& state) {
  const CalibrationExample& e = Answers(Kind::kLost)[0];
  const VmfKdeComponent kde = *VmfKdeComponent::Create(e.positions, e.weights, 400.0);
  std::vector<cells::CellGeometry> cells;
  for (const geo::LatLon& p : e.positions)
    cells.push_back(cells::CellGeometryOf(cells::CellIdAt(p, 8)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(kde.BoundsOverCell(0, cells[i]).hi);
    i = (i + 1) % cells.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kde.size()));
}

void RegisterAll() {
  benchmark::RegisterBenchmark("BM_KernelBounds/k:100", BM_KernelBounds)
      ->Unit(benchmark::kNanosecond);
  for (Kind kind : {Kind::kLocalized, Kind::kLost, Kind::kDistractor}) {
    const std::string k = KindName(kind);
    for (Detail detail : {Detail::kOutlines, Detail::kPieces, Detail::kCells}) {
      benchmark::RegisterBenchmark(("BM_Apply/" + k + "/k:100/" + DetailName(detail)).c_str(),
                                   [=](benchmark::State& st) { BM_Apply(st, kind, detail); })
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("BM_Stage_Probabilities/" + k).c_str(),
                                 [=](benchmark::State& st) { BM_Probabilities(st, kind); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_Stage_RegionCells/" + k).c_str(), [=](benchmark::State& st) {
      BM_RegionCells(st, kind);
    })->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_Stage_Outlines/" + k).c_str(), [=](benchmark::State& st) {
      BM_Outlines(st, kind);
    })->Unit(benchmark::kMicrosecond);
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
