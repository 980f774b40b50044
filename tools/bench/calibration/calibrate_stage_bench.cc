// Benchmark of the product path: the calibrate stage of a Locate (engine::CalibrateAnswer, what
// Locator::Calibrate runs per answer) at k = 100: the answer's evidence, its predictive density,
// P(localizable) and its score group, the conformal thresholds, regions at the four default levels
// (50, 68, 90, 95%) with boundary cells included, their pieces and outline rings, and P(within t)
// at 1, 25, 200, 750 and 2500 km.
//
// The calibration is fitted by the library (FitCalibrationEntry, as geoloc-eval calibrate does) on
// 1,500 + 1,500 synthetic answers (core/calibration/synthetic_answers.h) and applied to held-out
// answers handed over as engine::LocateResult, as the Locator hands them:
//   mix         consecutive held-out photos (60% localizable, 10% distractors): the mean per answer
//   localized   the retrieval found the place (best estimate within 1 km of the truth)
//   lost        a photo with a place, best estimate over 1 km away
//   distractor  a photo with no place
// and (/no_regional) the same with a calibration fitted without the regional term
// (FitOptions::regional = false, as calibrations written before it; docs/CALIBRATION.md), and
// (/hard_circle_25km) the mix under a hard 25 km search area centred on each answer's best
// estimate: the same stage plus clipping every region to the area (ClipRegionsToArea), the area's
// geometry built per answer as Locate builds it; and (/cells_per_level:N) the mix and the lost
// answers under another cell budget per region (LocateParams::region_cells_per_level, geolocd's
// --region_cells_per_level; 1,000 by default). The issue's goal: under 1 ms per answer at k = 100.
// Figures and the command in docs/BENCHMARKS.md:
//
//   taskset -c 0 build/tools/bench/calibration/calibrate_stage_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true   (one command line)
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/calibration/calibrator.h"
#include "core/calibration/fit.h"
#include "core/calibration/synthetic_answers.h"
#include "core/engine/bundle_calibration.h"
#include "core/engine/locator.h"
#include "core/geo/distance.h"

namespace geoloc::engine {
namespace {

constexpr int kAnswersPerKind = 64;

enum class Kind { kMix, kLocalized, kLost, kDistractor };
const char* KindName(Kind k) {
  switch (k) {
    case Kind::kMix:
      return "mix";
    case Kind::kLocalized:
      return "localized";
    case Kind::kLost:
      return "lost";
    case Kind::kDistractor:
      return "distractor";
  }
  return "";
}

calibration::SyntheticAnswerOptions Options() {
  calibration::SyntheticAnswerOptions o;
  o.k = 100;
  return o;
}

// The default fit (with the regional term), and one without it (FitOptions::regional = false).
const calibration::Calibrator& SharedCalibrator(bool regional) {
  static const std::vector<calibration::Calibrator>* calibrators = [] {
    const calibration::SyntheticAnswerOptions o = Options();
    const std::vector<calibration::CalibrationExample> val =
        calibration::MakeSyntheticSplit(o, 101, 1500);
    const std::vector<calibration::CalibrationExample> calib =
        calibration::MakeSyntheticSplit(o, 102, 1500);
    auto* out = new std::vector<calibration::Calibrator>();
    for (bool with_regional : {true, false}) {
      calibration::FitOptions fit;
      fit.regional = with_regional;
      const calibration::proto::CalibrationEntry entry = *calibration::FitCalibrationEntry(
          calibration::SyntheticSettings(o), {"val", val}, {"calib", calib}, fit);
      out->push_back(*calibration::Calibrator::Create(entry));
    }
    return out;
  }();
  return (*calibrators)[regional ? 0 : 1];
}

// The answer as the Locator holds it when it reaches the calibrate stage.
LocateResult ResultOf(const calibration::CalibrationExample& e) {
  LocateResult r;
  for (size_t i = 0; i < e.positions.size(); ++i) {
    index::Neighbor n;
    n.row = static_cast<int64_t>(i);
    n.id = static_cast<int64_t>(i);
    n.score = static_cast<float>(e.scores[i]);
    n.lat = e.positions[i].lat;
    n.lon = e.positions[i].lon;
    r.neighbors.push_back(n);
  }
  r.weights = e.weights;
  r.best.pos = e.best;
  r.retrieval.pos = e.best;
  r.peak_masses = e.peak_masses;
  return r;
}

const std::vector<LocateResult>& Answers(Kind kind) {
  static std::vector<LocateResult>* answers = [] {
    auto* all = new std::vector<LocateResult>[4];
    const calibration::SyntheticAnswerOptions o = Options();
    auto full = [&](int k) { return all[k].size() >= kAnswersPerKind; };
    for (int64_t i = 0; !(full(0) && full(1) && full(2) && full(3)); ++i) {
      const calibration::CalibrationExample e = calibration::MakeSyntheticExample(o, 103, i);
      const int k = !e.truth.has_value() ? 3 : geo::HaversineKm(e.best, *e.truth) <= 1.0 ? 1 : 2;
      if (!full(0)) all[0].push_back(ResultOf(e));
      if (!full(k)) all[k].push_back(ResultOf(e));
    }
    return all;
  }();
  return answers[static_cast<int>(kind)];
}

void BM_CalibrateStage(benchmark::State& state, Kind kind, bool regional, double hard_km,
                       int cells_per_level) {
  const calibration::Calibrator& calibrator = SharedCalibrator(regional);
  const std::vector<LocateResult>& answers = Answers(kind);
  LocateParams params;  // the default region levels and budget, as Locate serves them
  if (cells_per_level > 0) params.region_cells_per_level = cells_per_level;
  if (hard_km > 0) {
    params.area.shape = geo::SearchArea::Shape::kCircle;
    params.area.mode = geo::AreaMode::kHard;
    params.area.radius_km = hard_km;
  }
  double cells = 0, evaluated = 0, capped = 0;
  size_t i = 0;
  for (auto _ : state) {
    if (hard_km > 0) params.area.center = answers[i].best.pos;
    absl::StatusOr<calibration::CalibratedAnswer> a =
        CalibrateAnswer(calibrator, answers[i], params);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    for (const calibration::ConfidenceRegion& r : a->regions) {
      cells += static_cast<double>(r.cells.size());
    }
    evaluated += static_cast<double>(a->cells_evaluated);
    capped += a->regions_capped;
    benchmark::DoNotOptimize(a->p_localizable);
    i = (i + 1) % answers.size();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["cells"] = cells / n;
  state.counters["evaluated"] = evaluated / n;
  state.counters["capped"] = capped / n;
}

void RegisterAll() {
  for (bool regional : {true, false}) {
    for (Kind kind : {Kind::kMix, Kind::kLocalized, Kind::kLost, Kind::kDistractor}) {
      benchmark::RegisterBenchmark(
          (std::string("BM_CalibrateStage/") + KindName(kind) + "/k:100" +
           (regional ? "" : "/no_regional"))
              .c_str(),
          [=](benchmark::State& st) { BM_CalibrateStage(st, kind, regional, 0, 0); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark(
      "BM_CalibrateStage/mix/k:100/hard_circle_25km",
      [](benchmark::State& st) { BM_CalibrateStage(st, Kind::kMix, true, 25, 0); })
      ->Unit(benchmark::kMicrosecond);
  for (Kind kind : {Kind::kMix, Kind::kLost}) {
    for (int cells : {500, 250, 150}) {
      benchmark::RegisterBenchmark(
          (std::string("BM_CalibrateStage/") + KindName(kind) +
           "/k:100/cells_per_level:" + std::to_string(cells))
              .c_str(),
          [=](benchmark::State& st) { BM_CalibrateStage(st, kind, true, 0, cells); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace geoloc::engine

int main(int argc, char** argv) {
  geoloc::engine::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
