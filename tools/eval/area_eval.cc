#include "tools/eval/area_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/cells/region_cells.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"
#include "core/geo/metrics.h"
#include "core/geo/unit_vector.h"
#include "tools/eval/region_tally.h"

namespace geoloc::eval {
namespace {

struct Errors {
  std::vector<double> km;
  int64_t no_answer = 0;
  RegionTally regions;  // the calibrated regions
  bool calibrated = true;

  // One answer's regions against the truth; `calibrator` calibrated it (null: uncalibrated).
  absl::Status AddRegions(const engine::LocateResult& answer, geo::LatLon truth,
                          const calibration::Calibrator* calibrator) {
    if (!answer.calibration.has_value() || calibrator == nullptr) {
      calibrated = false;
      return absl::OkStatus();
    }
    GEOLOC_ASSIGN_OR_RETURN(const double score, TruthScore(answer, truth, *calibrator));
    regions.Add(answer.calibration->regions, truth, score);
    return absl::OkStatus();
  }
};

AreaRow Summarise(double radius_km, const std::string& mode, const Errors& e) {
  AreaRow row;
  row.radius_km = radius_km;
  row.mode = mode;
  row.queries = static_cast<int64_t>(e.km.size());
  row.no_answer = e.no_answer;
  const std::vector<double> acc = geo::AccuracyAtThresholds(e.km, {1.0, 25.0});
  row.accuracy_1km = acc[0];
  row.accuracy_25km = acc[1];
  row.median_error_km = geo::MedianError(e.km);
  const RegionTally& t = e.regions;
  if (e.calibrated && !t.levels.empty() && !e.km.empty()) {
    const double n = static_cast<double>(e.km.size());
    for (size_t l = 0; l < t.levels.size(); ++l) {
      row.levels.push_back(
          AreaLevelCoverage{t.levels[l], t.inside[l] / n, t.exact[l] / n, Median(t.areas[l])});
    }
  }
  return row;
}

}  // namespace

absl::StatusOr<std::vector<AreaRow>> EvaluateAreas(const engine::Locator& locator,
                                                   const RetrievalRun& run,
                                                   const engine::LocateParams& params,
                                                   const std::vector<double>& radii_km,
                                                   uint64_t seed, bool show_progress) {
  constexpr double kNoAnswer = std::numeric_limits<double>::infinity();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Errors none;
  const calibration::Calibrator* calibrator =
      locator.calibration().Find(locator.AnswerSettingsFor(params));
  std::vector<Errors> centre(radii_km.size()), hard(radii_km.size()), soft(radii_km.size());
  std::unique_ptr<ProgressReporter> progress;
  if (show_progress) progress = std::make_unique<ProgressReporter>("areas", run.queries.size());
  for (const RetrievedQuery& q : run.queries) {
    if (progress) progress->Add(1);
    if (!q.localizable) continue;
    GEOLOC_ASSIGN_OR_RETURN(
        auto global, locator.Search(q.descriptor, params.k, params.nprobe, params.ef_search));
    GEOLOC_ASSIGN_OR_RETURN(engine::LocateResult plain,
                            locator.Finish(q.descriptor, global.front(), params));
    none.km.push_back(geo::HaversineKm(plain.best.pos, q.truth));
    GEOLOC_RETURN_IF_ERROR(none.AddRegions(plain, q.truth, calibrator));
    for (size_t r = 0; r < radii_km.size(); ++r) {
      // Uniform in the disc: distance R sqrt(u), bearing uniform.
      const double offset = radii_km[r] * std::sqrt(unit(rng));
      const double bearing = 360.0 * unit(rng);
      engine::LocateParams p = params;
      p.area.shape = geo::SearchArea::Shape::kCircle;
      p.area.center = geo::DestinationPoint(q.truth, bearing, offset);
      p.area.radius_km = radii_km[r];
      centre[r].km.push_back(geo::HaversineKm(p.area.center, q.truth));

      p.area.mode = geo::AreaMode::kHard;
      absl::StatusOr<index::RowSet> rows = locator.AreaRows(p.area);
      if (!rows.ok() && rows.status().code() != absl::StatusCode::kFailedPrecondition) {
        return rows.status();
      }
      if (!rows.ok()) {
        hard[r].km.push_back(kNoAnswer);
        ++hard[r].no_answer;
      } else {
        GEOLOC_ASSIGN_OR_RETURN(auto inside,
                                locator.Search(q.descriptor, p.k, p.nprobe, p.ef_search, &*rows));
        GEOLOC_ASSIGN_OR_RETURN(engine::LocateResult answer,
                                locator.Finish(q.descriptor, inside.front(), p));
        hard[r].km.push_back(geo::HaversineKm(answer.best.pos, q.truth));
        GEOLOC_RETURN_IF_ERROR(hard[r].AddRegions(answer, q.truth, calibrator));
      }

      p.area.mode = geo::AreaMode::kSoft;
      GEOLOC_ASSIGN_OR_RETURN(auto candidates,
                              locator.WithPriorSupport(q.descriptor, global.front(), p));
      GEOLOC_ASSIGN_OR_RETURN(engine::LocateResult prior,
                              locator.Finish(q.descriptor, std::move(candidates), p));
      soft[r].km.push_back(geo::HaversineKm(prior.best.pos, q.truth));
      GEOLOC_RETURN_IF_ERROR(soft[r].AddRegions(prior, q.truth, calibrator));
    }
  }
  if (progress) progress->Finish();
  if (none.km.empty()) return absl::InvalidArgumentError("no localizable query");
  std::vector<AreaRow> out = {Summarise(0, "none", none)};
  for (size_t r = 0; r < radii_km.size(); ++r) {
    out.push_back(Summarise(radii_km[r], "disc centre", centre[r]));
    out.push_back(Summarise(radii_km[r], "hard", hard[r]));
    out.push_back(Summarise(radii_km[r], "soft", soft[r]));
  }
  return out;
}

}  // namespace geoloc::eval
