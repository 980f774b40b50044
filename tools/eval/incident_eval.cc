#include "tools/eval/incident_eval.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/cells/region_cells.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/engine/incident.h"
#include "core/geo/distance.h"
#include "core/geo/metrics.h"
#include "core/geo/unit_vector.h"
#include "tools/eval/region_tally.h"

namespace geoloc::eval {
namespace {

// Finish on the stored neighbours, as geolocd does after its search. The database id stands in
// for the bundle row, so that photos that retrieved the same database photo share it (the pool
// de-duplicates by row).
absl::StatusOr<engine::LocateResult> Answer(const engine::Locator& locator,
                                            const RetrievedQuery& q,
                                            const engine::LocateParams& params) {
  std::vector<index::Neighbor> neighbors(q.neighbors.size());
  for (size_t i = 0; i < q.neighbors.size(); ++i) {
    neighbors[i].row = q.neighbors[i].id;
    neighbors[i].id = q.neighbors[i].id;
    neighbors[i].score = static_cast<float>(q.neighbors[i].score);
    neighbors[i].lat = q.neighbors[i].pos.lat;
    neighbors[i].lon = q.neighbors[i].pos.lon;
  }
  return locator.Finish(q.descriptor, std::move(neighbors), params);
}

// Accumulates one row of the report.
struct Tally {
  std::vector<double> errors;
  double effective = 0;
  int64_t hit1 = 0, hit25 = 0, false_dissent = 0, intruder_reported = 0;
  bool calibrated = true;
  RegionTally served_regions;  // the served calibration's regions
  // The single-photo calibration's regions of the same answers (their cells only: no exact set).
  RegionTally single_regions;

  void AddSinglePhoto(const calibration::CalibratedAnswer& c, geo::LatLon truth) {
    single_regions.Add(c.regions, truth, std::numeric_limits<double>::quiet_NaN());
  }

  // Every incident's best_support per photo, and its intruder's slot (-1: none), to re-flag.
  std::vector<std::vector<double>> best_supports;
  std::vector<int> intruders;

  // `served`: the calibrator that calibrated r (null when uncalibrated).
  absl::Status Add(const engine::IncidentResult& r, geo::LatLon truth, int intruder,
                   const calibration::Calibrator* served) {
    const double error = geo::HaversineKm(r.combined.best.pos, truth);
    errors.push_back(error);
    hit1 += error <= 1;
    hit25 += error <= 25;
    effective += r.effective_photos;
    bool other_dissent = false;
    for (size_t i = 0; i < r.photos.size(); ++i) {
      if (static_cast<int>(i) == intruder) {
        intruder_reported += r.photos[i].dissents;
      } else {
        other_dissent |= r.photos[i].dissents;
      }
    }
    false_dissent += other_dissent;
    std::vector<double>& supports = best_supports.emplace_back();
    for (const engine::IncidentResult::Photo& photo : r.photos) {
      supports.push_back(photo.best_support);
    }
    intruders.push_back(intruder);
    if (!r.combined.calibration.has_value() || served == nullptr) {
      calibrated = false;
      return absl::OkStatus();
    }
    GEOLOC_ASSIGN_OR_RETURN(const double score, TruthScore(r.combined, truth, *served));
    served_regions.Add(r.combined.calibration->regions, truth, score);
    return absl::OkStatus();
  }

  // The flag at `ratio` on these incidents.
  struct FlagShares {
    double some_genuine = 0;   // incidents with some genuine photo flagged
    double intruder = 0;       // incidents with the intruder flagged
    double genuine_photo = 0;  // genuine photos flagged, per genuine photo
  };
  FlagShares Flags(double ratio) const {
    int64_t some_genuine = 0, intruder = 0, genuine_flagged = 0, genuine_photos = 0;
    for (size_t k = 0; k < best_supports.size(); ++k) {
      const std::vector<bool> d = engine::Dissents(best_supports[k], ratio);
      bool other = false;
      for (size_t i = 0; i < d.size(); ++i) {
        if (static_cast<int>(i) == intruders[k]) {
          intruder += d[i];
        } else {
          other |= d[i];
          genuine_flagged += d[i];
          ++genuine_photos;
        }
      }
      some_genuine += other;
    }
    const double n = std::max<double>(1, static_cast<double>(best_supports.size()));
    FlagShares out;
    out.some_genuine = some_genuine / n;
    out.intruder = intruder / n;
    out.genuine_photo = static_cast<double>(genuine_flagged) /
                        std::max<double>(1, static_cast<double>(genuine_photos));
    return out;
  }

  IncidentSizeReport Report(int size, bool with_intruder) const {
    IncidentSizeReport out;
    out.size = size;
    out.with_intruder = with_intruder;
    const double n = static_cast<double>(errors.size());
    out.incidents = static_cast<int64_t>(errors.size());
    if (errors.empty()) return out;
    out.accuracy_1km = hit1 / n;
    out.accuracy_25km = hit25 / n;
    out.median_error_km = Median(errors);
    out.mean_effective_photos = effective / n;
    out.false_dissent_share = false_dissent / n;
    out.intruder_reported_share = with_intruder ? intruder_reported / n : 0;
    const RegionTally& single = single_regions;
    for (size_t l = 0; l < single.levels.size(); ++l) {
      out.single_photo_coverage.push_back(single.inside[l] / n);
      out.single_photo_median_area_km2.push_back(Median(single.areas[l]));
    }
    const RegionTally& t = served_regions;
    out.calibrated = calibrated && !t.levels.empty();
    if (out.calibrated) {
      out.levels = t.levels;
      for (size_t l = 0; l < t.levels.size(); ++l) {
        out.coverage.push_back(t.inside[l] / n);
        out.exact_coverage.push_back(t.exact[l] / n);
        out.median_area_km2.push_back(Median(t.areas[l]));
      }
    }
    return out;
  }
};

// Places with at least `photos` localizable photos with a place, in a deterministic order, each
// with its photos' query indices.
using Places = std::vector<std::pair<std::string, std::vector<int>>>;
Places PlacesWith(const RetrievalRun& run, int photos) {
  std::map<std::string, std::vector<int>> by_place;  // ordered: deterministic draws
  for (size_t i = 0; i < run.queries.size(); ++i) {
    const RetrievedQuery& q = run.queries[i];
    if (q.localizable && !q.place.empty()) by_place[q.place].push_back(static_cast<int>(i));
  }
  Places places;
  for (auto& [place, indices] : by_place) {
    if (static_cast<int>(indices.size()) >= photos) places.emplace_back(place, indices);
  }
  return places;
}

absl::Status CheckRun(const engine::Locator& locator, const RetrievalRun& run) {
  if (run.model != locator.model_version()) {
    return absl::FailedPreconditionError(absl::StrCat("the retrieval of ", run.source,
                                                      " was made with model ", run.model, ", not ",
                                                      locator.model_version()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<calibration::CalibrationExample>> IncidentExamples(
    const engine::Locator& locator, const RetrievalRun& run, const engine::LocateParams& params,
    int photos, int draws_per_place, uint64_t seed, bool show_progress) {
  if (photos < 2 || photos > engine::kMaxIncidentPhotos || draws_per_place < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("incident examples: photos must be in [2, ", engine::kMaxIncidentPhotos,
                     "] and draws_per_place >= 1, got ", photos, " and ", draws_per_place));
  }
  GEOLOC_RETURN_IF_ERROR(CheckRun(locator, run));
  const Places places = PlacesWith(run, photos);
  if (places.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("no place of ", run.source, " has ", photos,
                                                      " photos (is there a place column?)"));
  }
  std::optional<ProgressReporter> progress;
  if (show_progress) {
    progress.emplace(absl::StrCat("incidents of ", photos, " photos"),
                     static_cast<int64_t>(places.size()) * draws_per_place, "incidents");
  }
  std::map<int, engine::LocateResult> answers;
  std::mt19937_64 rng(seed);
  std::vector<calibration::CalibrationExample> out;
  for (const auto& [place, indices] : places) {
    for (int d = 0; d < draws_per_place; ++d) {
      std::vector<int> chosen = indices;
      std::shuffle(chosen.begin(), chosen.end(), rng);
      chosen.resize(photos);
      std::vector<engine::LocateResult> results;
      for (int i : chosen) {
        if (!answers.count(i)) {
          GEOLOC_ASSIGN_OR_RETURN(answers[i], Answer(locator, run.queries[i], params));
        }
        results.push_back(answers.at(i));
      }
      GEOLOC_ASSIGN_OR_RETURN(engine::IncidentResult r,
                              locator.CombineIncident(results, params, {}));
      out.push_back(engine::CalibrationExampleOf(r.combined, run.queries[chosen.front()].truth));
      if (progress) progress->Add(1);
    }
  }
  if (progress) progress->Finish();
  return out;
}

absl::StatusOr<IncidentEvalReport> EvaluateIncidents(const engine::Locator& locator,
                                                     const RetrievalRun& run,
                                                     const engine::LocateParams& params,
                                                     const IncidentEvalOptions& options) {
  if (options.sizes.empty() || options.draws_per_place < 1) {
    return absl::InvalidArgumentError("incidents: need sizes and draws_per_place >= 1");
  }
  for (double ratio : options.dissent_ratios) {
    if (!(ratio >= 0 && ratio <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("incidents: dissent ratio ", ratio, " is not in [0, 1]"));
    }
  }
  for (int s : options.sizes) {
    if (s < 1 || s > engine::kMaxIncidentPhotos) {
      return absl::InvalidArgumentError(absl::StrCat("incident size ", s, " is not in [1, ",
                                                     engine::kMaxIncidentPhotos, "]"));
    }
  }
  GEOLOC_RETURN_IF_ERROR(CheckRun(locator, run));
  const int largest = *std::max_element(options.sizes.begin(), options.sizes.end());
  const Places places = PlacesWith(run, largest);
  if (places.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no place of ", run.source, " has ", largest, " photos (is there a place column?)"));
  }
  // Every photo's own answer, once.
  std::map<int, engine::LocateResult> answers;
  std::optional<ProgressReporter> progress;
  int64_t photos_needed = 0;
  for (const auto& [place, photos] : places) photos_needed += static_cast<int64_t>(photos.size());
  if (options.show_progress) progress.emplace("incident photos", photos_needed, "photos");
  for (const auto& [place, photos] : places) {
    for (int i : photos) {
      GEOLOC_ASSIGN_OR_RETURN(answers[i], Answer(locator, run.queries[i], params));
      if (progress) progress->Add(1);
    }
  }
  if (progress) progress->Finish();
  // Intruders come from any localizable photo of another place (answered on demand).
  std::vector<int> everyone;
  for (const auto& [place, photos] : PlacesWith(run, 1)) {
    everyone.insert(everyone.end(), photos.begin(), photos.end());
  }
  // The baseline: the single-photo calibration for these settings, if the bundle has one.
  const calibration::Calibrator* single_photo =
      locator.calibration().Find(locator.AnswerSettingsFor(params));

  IncidentEvalReport report;
  report.split = run.split.empty() ? run.source : run.split;
  report.places = static_cast<int64_t>(places.size());
  std::mt19937_64 rng(options.seed);
  engine::IncidentOptions incident_options;
  incident_options.pooling = options.pooling;
  for (int size : options.sizes) {
    Tally plain, intruded;
    const calibration::Calibrator* served =
        locator.calibration().FindIncident(locator.AnswerSettingsFor(params), size);
    for (const auto& [place, photos] : places) {
      for (int d = 0; d < options.draws_per_place; ++d) {
        std::vector<int> chosen = photos;
        std::shuffle(chosen.begin(), chosen.end(), rng);
        chosen.resize(size);
        std::vector<engine::LocateResult> results;
        for (int i : chosen) results.push_back(answers.at(i));
        const geo::LatLon truth = run.queries[chosen.front()].truth;
        GEOLOC_ASSIGN_OR_RETURN(engine::IncidentResult r,
                                locator.CombineIncident(results, params, incident_options));
        GEOLOC_RETURN_IF_ERROR(plain.Add(r, truth, /*intruder=*/-1, served));
        if (single_photo != nullptr) {
          GEOLOC_ASSIGN_OR_RETURN(const calibration::CalibratedAnswer baseline,
                                  engine::CalibrateAnswer(*single_photo, r.combined, params));
          plain.AddSinglePhoto(baseline, truth);
        }
        if (!options.intruders || size < 2) continue;
        int other = -1;
        while (other < 0 || run.queries[other].place == place) {
          other = everyone[std::uniform_int_distribution<size_t>(0, everyone.size() - 1)(rng)];
        }
        if (!answers.count(other)) {
          GEOLOC_ASSIGN_OR_RETURN(answers[other], Answer(locator, run.queries[other], params));
        }
        const int slot = size - 1;  // the last photo is replaced (the draw is random anyway)
        results[slot] = answers.at(other);
        GEOLOC_ASSIGN_OR_RETURN(engine::IncidentResult with,
                                locator.CombineIncident(results, params, incident_options));
        GEOLOC_RETURN_IF_ERROR(intruded.Add(with, truth, slot, served));
      }
    }
    report.sizes.push_back(plain.Report(size, false));
    for (double ratio : size >= 2 ? options.dissent_ratios : std::vector<double>{}) {
      DissentPoint point;
      point.ratio = ratio;
      const Tally::FlagShares genuine = plain.Flags(ratio);
      point.false_dissent_share = genuine.some_genuine;
      point.genuine_photo_flag_rate = genuine.genuine_photo;
      if (options.intruders) {
        const Tally::FlagShares with = intruded.Flags(ratio);
        point.intruded_false_share = with.some_genuine;
        point.intruder_reported_share = with.intruder;
      }
      report.sizes.back().dissent_curve.push_back(point);
    }
    if (options.intruders && size >= 2) report.sizes.push_back(intruded.Report(size, true));
  }
  return report;
}

}  // namespace geoloc::eval
