// geoloc-eval: how well does the whole stack geolocate a query set against a bundle?
//
//   geoloc-eval retrieve --model M.pt --bundle B --csv world/val.csv --out val.retrieval
//   geoloc-eval tune --retrieval val.retrieval --json > tuned.json
//   geoloc-eval run  --retrieval test.retrieval --tuned tuned.json --json > test.json
//   geoloc-eval run  --model M.pt --bundle B --csv world/test.csv          (all in one go)
//   geoloc-eval calibrate --model M.pt --bundle B --fit_retrieval val.retrieval
//       --calibration_retrieval calib.retrieval --estimators spherical_kde --k 60
//   geoloc-eval coverage --model M.pt --bundle B --retrieval test.retrieval --json
//   geoloc-eval quant-check --model M-int8.pt --bundle B-int8 --reference_model M.pt
//       --reference_bundle B --csv world/val.csv          (or --retrieval/--reference_retrieval)
//   geoloc-eval areas --model M.pt --bundle B --retrieval test.retrieval --area_radii_km 10,50
//
// `retrieve` decodes, encodes and searches every query once and stores the result; `run` and
// `tune` take either such a file or a model, bundle and query list. `run` prints, for every
// estimator side by side, accuracy at the distance thresholds, the median error and the
// estimator's time, plus recall@1/5/10/20 (25 m); with cell classifiers (the bundle's own head,
// or heads in other bundles given by --classifier_bundles) also each classifier alone (its top
// leaf cell, cell accuracy, IoR, ECE) and every estimator fused with it, the way Locate's `best`
// is (docs/CLASSIFIER.md "Fusion"). `tune` runs the grid search of every estimator and prints
// the best parameters per threshold; it refuses a query set whose split column says "test".
// Distractors (a localizable column of 0) are kept out of accuracy and recall and reported apart.
// `calibrate` answers two held-out splits with the engine (the given estimators, k, m and
// bandwidth: the settings geolocd will serve), fits calibration.json and writes it into the
// bundle (docs/CALIBRATION.md); it refuses the test split; with --incident_calibration_sizes it
// also fits incident calibrations on incidents drawn from both splits (docs/INCIDENTS.md).
// `coverage` reports a calibrated
// bundle's coverage, reliability (each ECE with its noise floor) and abstention on a split (the
// test split). `quant-check` is
// the int8 accuracy guard (tools/eval/quant_check.h, docs/MODEL.md "The accuracy guard"): the
// quantized model on its own bundle against its fp32 original on the original's bundle, one
// validation split; it refuses (exit 1) past the tolerance unless --accept_quantization_loss.
// `areas` measures search areas around the truth (a disc displaced by a random offset within it,
// seeded by --area_seed): accuracy at 1 and 25 km and the median error with no area, the disc's
// centre alone, the disc as a hard filter and as a soft prior, and the calibrated regions'
// coverage in each case (tools/eval/area_eval.h).
// `incidents` groups a split's photos of one place into incidents of 1, 2, 4 and 8 photos and
// reports the pooled answer's accuracy, regions (served and single-photo calibration) and dissent,
// with --dissent_ratios the flag's trade-off per ratio (tools/eval/incident_eval.h).
// Exit status: 0 ok, 1 evaluation failed or quantized model refused, 2 usage error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/calibration/fit.h"
#include "core/common/command_line.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/logging.h"
#include "core/common/option_range.h"
#include "core/common/status_macros.h"
#include "core/engine/bundle_classifier.h"
#include "core/engine/locator.h"
#include "core/index/bundle.h"
#include "core/index/image_source.h"
#include "core/model/cell_head_info.h"
#include "core/model/encoder.h"
#include "core/model/model_info.h"
#include "tools/eval/area_eval.h"
#include "tools/eval/calibration_eval.h"
#include "tools/eval/eval_files.h"
#include "tools/eval/evaluation.h"
#include "tools/eval/incident_eval.h"
#include "tools/eval/quant_check.h"

ABSL_FLAG(std::string, model, "", "the model archive the bundle was built with");
ABSL_FLAG(std::string, bundle, "", "the index bundle directory");
ABSL_FLAG(std::string, csv, "",
          "queries: CSV of path,lat,lon[,place][,localizable][,split] (header required)");
ABSL_FLAG(std::string, image_root, "", "with --csv: directory relative paths start from");
ABSL_FLAG(std::string, vpr_dir, "", "queries: a folder in the VPR-datasets naming convention");
ABSL_FLAG(std::string, exif_dir, "", "queries: a folder of photos with EXIF GPS tags");
ABSL_FLAG(std::string, retrieval, "",
          "run, tune: a stored retrieval (geoloc-eval retrieve --out) instead of --model, "
          "--bundle and a query list");
ABSL_FLAG(std::string, out, "", "retrieve: the file to store the retrieval in");
ABSL_FLAG(int32_t, k, 60, "run: neighbours given to each estimator (without --tuned)");
ABSL_FLAG(int32_t, max_k, 100, "neighbours retrieved per query (>= k and >= 20)");
ABSL_FLAG(std::string, estimators, "nearest,mean,weighted_mean,grid_kde,spherical_kde",
          "run, tune: estimators to compare, comma-separated");
ABSL_FLAG(double, weight_exponent, 5.0, "run: weight exponent m (without --tuned)");
ABSL_FLAG(double, sigma_deg, 0.0025, "run: grid KDE sigma in degrees (without --tuned)");
ABSL_FLAG(double, bandwidth_km, 0.5, "run: spherical KDE bandwidth in km (without --tuned)");
ABSL_FLAG(std::string, thresholds_km, "0.01,0.1,0.5,1,5,25,200,750,2500",
          "accuracy thresholds in km, comma-separated");
ABSL_FLAG(std::string, tuned, "",
          "run: a `tune --json` report; each estimator runs with the configuration tuned for "
          "--tuned_threshold_km, and the report adds every threshold's tuned configuration");
ABSL_FLAG(double, tuned_threshold_km, 0.1,
          "run with --tuned: the threshold whose configurations the main rows use (the thesis "
          "chose 100 m)");
ABSL_FLAG(std::vector<std::string>, classifier_bundles, {},
          "run: other cell classifiers, as name=BUNDLE_DIR (their cells and head; the model must "
          "be the one that made the retrieval), comma-separated");
ABSL_FLAG(int32_t, max_peaks, 5,
          "run, with classifiers: peaks the fused answer chooses from (Locate's default)");
ABSL_FLAG(std::string, queries_out, "",
          "run: also write one CSV row per query (rank of the first hit within 25 m, top-1 score, "
          "each row's error in km)");
ABSL_FLAG(std::string, fit_retrieval, "",
          "calibrate: the stored retrieval of the split that fixes the score function (val)");
ABSL_FLAG(std::string, calibration_retrieval, "",
          "calibrate: the stored retrieval of the calibration split (calib); never test");
ABSL_FLAG(bool, regional_term, geoloc::calibration::FitOptions{}.regional,
          "calibrate: also fit a regional KDE term (docs/CALIBRATION.md: removes the floor-tie "
          "atom of the scores, so the 90/95% regions are not the whole Earth); "
          "--noregional_term fits without it, as calibrations written before it");
ABSL_FLAG(std::string, incident_calibration_sizes, "",
          "calibrate: also fit incident calibrations for these photo counts (each in [2, 16], "
          "e.g. 2,4,8; the spherical KDE only), on --incident_draws incidents per place with "
          "that many photos in each split (docs/INCIDENTS.md); empty: incident answers of two "
          "or more photos stay uncalibrated");
ABSL_FLAG(std::string, region_levels, "0.5,0.68,0.9,0.95",
          "coverage: the confidence levels to report");
ABSL_FLAG(bool, per_photo, false,
          "coverage: also report every photo's score, group, error and probabilities (--json)");
ABSL_FLAG(double, abstain_below, 0,
          "coverage: the abstention threshold on P(localizable) to report (as geolocd's flag)");
ABSL_FLAG(int32_t, region_cells_per_level, geoloc::engine::kDefaultRegionCellsPerLevel,
          "coverage: the cells each confidence region may evaluate (as geolocd's flag)");
ABSL_FLAG(std::string, reference_model, "",
          "quant-check: the fp32 original of --model (always run in fp32)");
ABSL_FLAG(std::string, reference_bundle, "",
          "quant-check: the bundle built with --reference_model");
ABSL_FLAG(std::string, reference_retrieval, "",
          "quant-check: a stored retrieval of the fp32 original (instead of --reference_model "
          "and --reference_bundle; then --retrieval for the quantized model)");
ABSL_FLAG(double, max_drop_points, 1.0,
          "quant-check: the most recall@1, recall@5, accuracy at 1 km or at 25 km may drop, in "
          "percentage points");
ABSL_FLAG(double, min_mean_cosine, 0.99,
          "quant-check: the least mean cosine between the quantized and fp32 query descriptors");
ABSL_FLAG(bool, accept_quantization_loss, false,
          "quant-check: report a loss past the tolerance as a warning and exit 0");
ABSL_FLAG(std::string, incident_sizes, "1,2,4,8",
          "incidents: photos per incident (each in [1, 16]); only places with the largest count "
          "of photos take part");
ABSL_FLAG(std::string, incident_pooling, "geometric",
          "incidents: geometric (the served rule) or shared_evidence (docs/INCIDENTS.md)");
ABSL_FLAG(std::string, dissent_ratios, "",
          "incidents: also report the dissent flag at these ratios (comma-separated, in [0, 1]; "
          "tune on val, docs/INCIDENTS.md)");
ABSL_FLAG(int32_t, incident_draws, 5, "incidents: random incidents per place and size");
ABSL_FLAG(uint64_t, incident_seed, 1, "incidents: seed of the draws");
ABSL_FLAG(int32_t, batch, 16, "images per encoder forward pass");
ABSL_FLAG(int32_t, max_queries, 0, "evaluate at most this many queries (0: all)");
ABSL_FLAG(std::string, precision, "auto", "encoder precision: auto, fp32 or bf16");
ABSL_FLAG(int32_t, threads, 0, "LibTorch intra-op threads (0: LibTorch's default)");
ABSL_FLAG(int32_t, tune_threads, 0, "tune: threads evaluating configurations (0: all cores)");
ABSL_FLAG(bool, json, false, "print one JSON object instead of tables");
ABSL_FLAG(bool, progress, true, "progress with rate and ETA on stderr (retrieval, tuning)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::vector<std::string>, area_radii_km, std::vector<std::string>({"10", "50"}),
          "areas: radii of the prior discs, km");
ABSL_FLAG(uint64_t, area_seed, 1, "areas: seed of the discs' random offsets");

namespace geoloc::eval {
namespace {

constexpr char kTestSplit[] = "test";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "geoloc-eval: %s\n", status.ToString().c_str());
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

absl::StatusOr<std::vector<double>> ParseThresholds(const std::string& text) {
  std::vector<double> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double v;
    if (!absl::SimpleAtod(part, &v) || !(v > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("--thresholds_km: bad value '", part, "'"));
    }
    out.push_back(v);
  }
  if (out.empty()) return absl::InvalidArgumentError("--thresholds_km is empty");
  return out;
}

absl::StatusOr<std::vector<geo::EstimatorKind>> ParseEstimators() {
  std::vector<geo::EstimatorKind> kinds;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_estimators), ',', absl::SkipWhitespace())) {
    GEOLOC_ASSIGN_OR_RETURN(geo::EstimatorKind kind, geo::ParseEstimatorKind(name));
    kinds.push_back(kind);
  }
  if (kinds.empty()) return absl::InvalidArgumentError("--estimators is empty");
  return kinds;
}

absl::StatusOr<QueryList> ReadQueries() {
  const std::string csv = absl::GetFlag(FLAGS_csv);
  const std::string vpr = absl::GetFlag(FLAGS_vpr_dir);
  const std::string exif = absl::GetFlag(FLAGS_exif_dir);
  const int given = !csv.empty() + !vpr.empty() + !exif.empty();
  if (given != 1) {
    return absl::InvalidArgumentError("give exactly one of --csv, --vpr_dir, --exif_dir");
  }
  if (!csv.empty()) return ReadQueryCsv(csv, absl::GetFlag(FLAGS_image_root));
  if (!vpr.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(index::SourceList list, index::ScanVprFolder(vpr));
    return AllLocalizable(std::move(list));
  }
  GEOLOC_ASSIGN_OR_RETURN(index::SourceList list, index::ScanExifFolder(exif, 0));
  return AllLocalizable(std::move(list));
}

// The model, bundle and locator of a direct run (or of `retrieve`).
struct Stack {
  std::shared_ptr<const engine::Locator> locator;
};

// `want_int8`: also FAILED_PRECONDITION unless the archive is int8 (quant-check's --model).
absl::StatusOr<Stack> LoadStackFor(const std::string& model_path, const std::string& bundle_path,
                                   const std::string& precision, bool want_int8 = false) {
  model::EncoderOptions encoder_options;
  GEOLOC_ASSIGN_OR_RETURN(encoder_options.precision, model::ParsePrecision(precision));
  encoder_options.intra_op_threads = absl::GetFlag(FLAGS_threads);
  GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<model::Encoder> encoder,
                          model::Encoder::Load(model_path, encoder_options));
  if (want_int8 && !encoder->int8()) {
    return absl::FailedPreconditionError(absl::StrCat(
        model_path, " is not an int8 archive (export it with tools/export_model.py --quantize "
                    "int8); quant-check compares an int8 model with its fp32 original"));
  }
  Stack stack;
  GEOLOC_ASSIGN_OR_RETURN(
      stack.locator,
      engine::Locator::Load(std::shared_ptr<const model::Encoder>(std::move(encoder)), nullptr,
                            bundle_path, {}));
  return stack;
}

absl::StatusOr<Stack> LoadStack() {
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_bundle).empty()) {
    return absl::InvalidArgumentError(
        "--model and --bundle are required (or --retrieval for run and tune)");
  }
  return LoadStackFor(absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_bundle),
                      absl::GetFlag(FLAGS_precision));
}

absl::StatusOr<RetrievalRun> Retrieve(const Stack& stack) {
  GEOLOC_ASSIGN_OR_RETURN(QueryList queries, ReadQueries());
  if (queries.sources.entries.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no query images in ", queries.sources.description));
  }
  RetrieveOptions retrieve;
  retrieve.max_k = absl::GetFlag(FLAGS_max_k);
  retrieve.batch = absl::GetFlag(FLAGS_batch);
  retrieve.max_queries = absl::GetFlag(FLAGS_max_queries);
  retrieve.show_progress = absl::GetFlag(FLAGS_progress);
  return RetrieveAll(*stack.locator, queries, retrieve);
}

// A classifier to evaluate: its cells (and the bundle holding them) and its outputs.
struct LoadedClassifier {
  std::shared_ptr<const index::Bundle> bundle;  // null for the run's own bundle
  std::unique_ptr<const engine::BundleClassifier> owned;
  std::unique_ptr<LeafCells> cells;
  ClassifierOutputs outputs;
};

absl::StatusOr<std::vector<std::unique_ptr<LoadedClassifier>>> LoadClassifiers(
    const RetrievalRun& run, const engine::Locator* locator) {
  std::vector<std::unique_ptr<LoadedClassifier>> out;
  if (locator != nullptr && locator->classifier() != nullptr) {
    auto c = std::make_unique<LoadedClassifier>();
    c->cells = CellsOf(*locator->classifier());
    GEOLOC_ASSIGN_OR_RETURN(
        c->outputs,
        StoredOutputs(run, *c->cells,
                      std::string(model::CellHeadVariantName(locator->classifier()->info().variant))));
    out.push_back(std::move(c));
  }
  const std::vector<std::string> items = absl::GetFlag(FLAGS_classifier_bundles);
  if (items.empty()) return out;
  GEOLOC_ASSIGN_OR_RETURN(model::ModelInfo info, model::ParseModelInfoJson(run.model_info_json));
  for (const std::string& item : items) {
    const std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--classifier_bundles wants name=BUNDLE_DIR items, got '", item, "'"));
    }
    auto c = std::make_unique<LoadedClassifier>();
    GEOLOC_ASSIGN_OR_RETURN(c->bundle, index::Bundle::Load(parts[1]));
    GEOLOC_ASSIGN_OR_RETURN(c->owned, engine::BundleClassifier::Load(*c->bundle, info));
    if (c->owned == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(parts[1], " has no cell classifier (cells and head extras)"));
    }
    c->cells = CellsOf(*c->owned);
    GEOLOC_ASSIGN_OR_RETURN(c->outputs, PredictOutputs(run, *c->owned, *c->cells, parts[0]));
    out.push_back(std::move(c));
  }
  return out;
}

void PrintTable(const std::vector<EstimatorReport>& reports) {
  if (reports.empty()) return;
  absl::PrintF("%-48s", "estimator");
  for (double t : reports[0].thresholds_km) absl::PrintF(" %7s", ThresholdName(t));
  absl::PrintF(" %10s %9s\n", "median km", "ms/query");
  for (const auto& r : reports) {
    absl::PrintF("%-48s", r.label);
    for (double a : r.accuracy) absl::PrintF(" %7.3f", a);
    absl::PrintF(" %10.3f %9.3f%s\n", r.median_error_km, r.ms_per_query,
                 r.failures > 0 ? absl::StrCat("  (", r.failures, " failed)") : std::string());
  }
  for (const auto& r : reports) {
    if (r.method != "classifier") continue;
    const CellMetrics& m = r.cell_metrics;
    absl::PrintF("%-48s cell accuracy %.3f  IoR %.2f  ECE %.3f  NLL %.3f  (%d classes, %.1f%% "
                 "covered)\n",
                 r.label, m.cell_accuracy, m.ior, m.ece, m.nll, m.num_classes, 100 * m.covered);
  }
}

// The configuration `tuned` chose for `kind` at threshold `threshold_km`; NOT_FOUND when absent.
absl::StatusOr<std::pair<int, geo::EstimatorOptions>> TunedConfiguration(
    const files::TuneReport& tuned, geo::EstimatorKind kind, double threshold_km) {
  for (const files::TunedThreshold& t : tuned.thresholds()) {
    if (std::fabs(t.threshold_km() - threshold_km) > 1e-9 * threshold_km) continue;
    for (const files::EstimatorRow& row : t.best()) {
      if (row.estimator() != geo::EstimatorName(kind)) continue;
      geo::EstimatorOptions o;
      o.kind = kind;
      o.weight_exponent_m = row.weight_exponent();
      o.sigma_deg = row.sigma_deg();
      o.bandwidth_km = row.bandwidth_km();
      GEOLOC_RETURN_IF_ERROR(geo::ValidateEstimatorOptions(o));
      return std::make_pair(row.k(), o);
    }
  }
  return absl::NotFoundError(absl::StrCat("the tuned report has no ", geo::EstimatorName(kind),
                                          " configuration for ", ThresholdName(threshold_km)));
}

absl::Status WriteQueriesCsv(const std::string& path, const RetrievalRun& run,
                             const std::vector<EstimatorReport>& reports) {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  std::string csv = "source,place,localizable,top1_score,first_hit_rank";
  for (const EstimatorReport& r : reports) absl::StrAppend(&csv, ",", quote(r.label));
  csv += "\n";
  for (size_t i = 0; i < run.queries.size(); ++i) {
    const RetrievedQuery& q = run.queries[i];
    absl::StrAppend(&csv, quote(q.source), ",", quote(q.place), ",", q.localizable ? 1 : 0, ",",
                    q.neighbors.empty() ? 0.0 : q.neighbors.front().score, ",", FirstHitRank(q));
    for (const EstimatorReport& r : reports) {
      const double e = r.errors_km[i];
      absl::StrAppend(&csv, ",", std::isnan(e) ? std::string() : absl::StrFormat("%.6f", e));
    }
    csv += "\n";
  }
  return WriteFileAtomically(path, csv);
}

absl::StatusOr<RetrievalRun> GetRun(std::optional<Stack>* stack) {
  if (!absl::GetFlag(FLAGS_retrieval).empty()) {
    if (!absl::GetFlag(FLAGS_csv).empty() || !absl::GetFlag(FLAGS_vpr_dir).empty() ||
        !absl::GetFlag(FLAGS_exif_dir).empty() || !absl::GetFlag(FLAGS_bundle).empty()) {
      return absl::InvalidArgumentError(
          "--retrieval replaces --bundle and the query list; give one or the other");
    }
    return LoadRetrieval(absl::GetFlag(FLAGS_retrieval));
  }
  GEOLOC_ASSIGN_OR_RETURN(*stack, LoadStack());
  return Retrieve(**stack);
}

int Run(const std::vector<double>& thresholds, const std::vector<geo::EstimatorKind>& kinds) {
  const int k = absl::GetFlag(FLAGS_k);
  if (absl::GetFlag(FLAGS_max_peaks) < 1) {
    return Fail(absl::InvalidArgumentError("--max_peaks must be >= 1"));
  }
  std::optional<files::TuneReport> tuned;
  if (const std::string path = absl::GetFlag(FLAGS_tuned); !path.empty()) {
    tuned.emplace();
    if (absl::Status st = ReadJsonProtoFile(path, &*tuned); !st.ok()) return Fail(st);
  }
  std::optional<Stack> stack;
  absl::StatusOr<RetrievalRun> run = GetRun(&stack);
  if (!run.ok()) return Fail(run.status());
  if (tuned && !tuned->split().empty() && tuned->split() == run->split) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "the configurations were tuned on the split '", tuned->split(),
        "' this run reports on; report on queries nothing was tuned on")));
  }

  std::vector<EstimatorReport> reports;
  for (geo::EstimatorKind kind : kinds) {
    int use_k = k;
    geo::EstimatorOptions o;
    o.kind = kind;
    o.weight_exponent_m = absl::GetFlag(FLAGS_weight_exponent);
    o.sigma_deg = absl::GetFlag(FLAGS_sigma_deg);
    o.bandwidth_km = absl::GetFlag(FLAGS_bandwidth_km);
    if (tuned) {
      auto config = TunedConfiguration(*tuned, kind, absl::GetFlag(FLAGS_tuned_threshold_km));
      if (!config.ok()) return Fail(config.status());
      std::tie(use_k, o) = *config;
    }
    if (absl::Status st = geo::ValidateEstimatorOptions(o); !st.ok()) return Fail(st);
    if (use_k < 1) return Fail(absl::InvalidArgumentError("--k must be >= 1"));
    reports.push_back(Evaluate(*run, use_k, o, thresholds));
  }
  const size_t retrieval_rows = reports.size();
  auto classifiers = LoadClassifiers(*run, stack ? stack->locator.get() : nullptr);
  if (!classifiers.ok()) return Fail(classifiers.status());
  for (const auto& c : *classifiers) {
    reports.push_back(EvaluateClassifier(*run, c->outputs, thresholds));
    for (size_t i = 0; i < retrieval_rows; ++i) {
      reports.push_back(EvaluateFused(*run, reports[i].k, reports[i].options,
                                      absl::GetFlag(FLAGS_max_peaks), c->outputs, thresholds));
    }
  }
  std::vector<files::EstimatorRow> per_threshold;
  if (tuned) {
    for (double t : thresholds) {
      for (geo::EstimatorKind kind : kinds) {
        auto config = TunedConfiguration(*tuned, kind, t);
        if (!config.ok()) continue;  // the tuning did not cover this threshold
        per_threshold.push_back(
            ToRow(Evaluate(*run, config->first, config->second, thresholds), ThresholdName(t)));
      }
    }
  }
  const std::vector<int> ns = {1, 5, 10, 20};
  const std::vector<double> recall = RecallAtN(*run, ns);
  const DistractorSeparation separation = SeparateDistractors(*run);
  const RetrievalStats stats = ComputeRetrievalStats(*run, k);
  if (const std::string path = absl::GetFlag(FLAGS_queries_out); !path.empty()) {
    if (absl::Status st = WriteQueriesCsv(path, *run, reports); !st.ok()) return Fail(st);
  }
  int64_t localizable = 0;
  for (const RetrievedQuery& q : run->queries) localizable += q.localizable;
  const std::string tuned_for =
      tuned ? ThresholdName(absl::GetFlag(FLAGS_tuned_threshold_km)) : std::string();

  if (absl::GetFlag(FLAGS_json)) {
    files::RunReport out;
    out.set_queries(localizable);
    out.set_distractors(static_cast<int64_t>(run->queries.size()) - localizable);
    out.set_unreadable(run->unreadable);
    out.set_source(run->source);
    out.set_split(run->split);
    out.set_bundle(run->bundle);
    out.set_model(run->model);
    out.set_retrieval_images_per_second(run->images_per_second);
    for (size_t i = 0; i < ns.size(); ++i) (*out.mutable_recall_at())[absl::StrCat(ns[i])] = recall[i];
    for (size_t i = 0; i < reports.size(); ++i) {
      *out.add_estimators() = ToRow(reports[i], i < retrieval_rows || reports[i].method == "fused"
                                                    ? tuned_for
                                                    : std::string());
    }
    for (files::EstimatorRow& row : per_threshold) *out.add_per_threshold() = std::move(row);
    if (tuned) out.set_tuned_on(tuned->split());
    files::DistractorSeparation* d = out.mutable_distractor_separation();
    d->set_distractors(separation.distractors);
    d->set_auroc(separation.auroc);
    d->set_median_top1_localizable(separation.median_top1_localizable);
    d->set_median_top1_distractor(separation.median_top1_distractor);
    files::RetrievalStats* rs = out.mutable_retrieval_stats();
    rs->set_k(stats.k);
    rs->set_median_top1_score(stats.median_top1_score);
    rs->set_median_kth_score(stats.median_kth_score);
    rs->set_median_weight_ratio(stats.median_weight_ratio);
    rs->set_top1_within_100m(stats.top1_within_100m);
    rs->set_any_within_100m(stats.any_within_100m);
    rs->set_mean_within_100m(stats.mean_within_100m);
    rs->set_mean_within_1km(stats.mean_within_1km);
    rs->set_mean_within_25km(stats.mean_within_25km);
    absl::StatusOr<std::string> text = ToJsonString(out);
    if (!text.ok()) return Fail(text.status());
    std::cout << *text << "\n";
    return 0;
  }
  absl::PrintF("%d queries (%d distractors kept apart, %d unreadable) from %s against bundle %s, "
               "model %s\n",
               localizable, run->queries.size() - localizable, run->unreadable, run->source,
               run->bundle, run->model);
  absl::PrintF("retrieval: %.1f images/s (decode + encode + search)\n", run->images_per_second);
  absl::PrintF("recall@1/5/10/20 (25 m): %.3f %.3f %.3f %.3f\n", recall[0], recall[1], recall[2],
               recall[3]);
  if (separation.distractors > 0) {
    absl::PrintF("distractors: top-1 score AUROC %.3f (median top-1 %.4f localizable, %.4f "
                 "distractors)\n",
                 separation.auroc, separation.median_top1_localizable,
                 separation.median_top1_distractor);
  }
  absl::PrintF("neighbours (first %d): median score %.4f (best) / %.4f (last), best within 100 m "
               "for %.3f, some within 100 m for %.3f, %.2f within 100 m on average\n",
               stats.k, stats.median_top1_score, stats.median_kth_score, stats.top1_within_100m,
               stats.any_within_100m, stats.mean_within_100m);
  if (tuned) {
    absl::PrintF("configurations tuned on '%s' for %s\n", tuned->split(), tuned_for);
  }
  absl::PrintF("\n");
  PrintTable(reports);
  return 0;
}

int Tune(const std::vector<double>& thresholds, const std::vector<geo::EstimatorKind>& kinds) {
  std::optional<Stack> stack;
  absl::StatusOr<RetrievalRun> run = GetRun(&stack);
  if (!run.ok()) return Fail(run.status());
  if (run->split == kTestSplit) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("refusing to tune on ", run->source,
                     ": its split is 'test', which is reported on and never tuned on; tune on a "
                     "validation split")));
  }
  TuneGrid grid;
  grid.estimators = kinds;
  const bool json = absl::GetFlag(FLAGS_json);
  const std::vector<TuneBest> best =
      Tune(*run, grid, thresholds, absl::GetFlag(FLAGS_progress), absl::GetFlag(FLAGS_tune_threads));
  int64_t localizable = 0;
  for (const RetrievedQuery& q : run->queries) localizable += q.localizable;
  if (json) {
    files::TuneReport out;
    out.set_queries(localizable);
    out.set_source(run->source);
    out.set_split(run->split);
    out.set_bundle(run->bundle);
    out.set_model(run->model);
    out.set_configurations(static_cast<int64_t>(TuneConfigurations(grid).size()));
    for (const TuneBest& b : best) {
      files::TunedThreshold* t = out.add_thresholds();
      t->set_threshold_km(b.threshold_km);
      t->set_threshold(ThresholdName(b.threshold_km));
      for (const EstimatorReport& r : b.best) *t->add_best() = ToRow(r, ThresholdName(b.threshold_km));
    }
    absl::StatusOr<std::string> text = ToJsonString(out);
    if (!text.ok()) return Fail(text.status());
    std::cout << *text << "\n";
    return 0;
  }
  absl::PrintF("%d queries from %s (split '%s'), %d configurations\n\n", localizable, run->source,
               run->split, TuneConfigurations(grid).size());
  absl::PrintF("best configuration per threshold (accuracy at that threshold):\n");
  for (size_t t = 0; t < best.size(); ++t) {
    absl::PrintF("%s\n", ThresholdName(best[t].threshold_km));
    for (const EstimatorReport& r : best[t].best) {
      absl::PrintF("  %-44s %.3f\n", r.label, r.accuracy[t]);
    }
  }
  return 0;
}

int RetrieveCommand() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Fail(absl::InvalidArgumentError("retrieve: --out is required"));
  absl::StatusOr<Stack> stack = LoadStack();
  if (!stack.ok()) return Fail(stack.status());
  absl::StatusOr<RetrievalRun> run = Retrieve(*stack);
  if (!run.ok()) return Fail(run.status());
  if (absl::Status st = SaveRetrieval(*run, out); !st.ok()) return Fail(st);
  int64_t localizable = 0;
  for (const RetrievedQuery& q : run->queries) localizable += q.localizable;
  absl::PrintF("stored %d queries (%d localizable, %d unreadable) from %s in %s: %.1f images/s\n",
               run->queries.size(), localizable, run->unreadable, run->source, out,
               run->images_per_second);
  return 0;
}

// One LocateParams per --estimators, with --k, --weight_exponent, --bandwidth_km, --sigma_deg
// and --max_peaks: the settings geolocd serves when its flags say the same.
absl::StatusOr<std::vector<engine::LocateParams>> ServedConfigs(
    const std::vector<geo::EstimatorKind>& kinds) {
  std::vector<engine::LocateParams> configs;
  for (geo::EstimatorKind kind : kinds) {
    engine::LocateParams p;
    p.k = absl::GetFlag(FLAGS_k);
    p.estimator.kind = kind;
    p.estimator.weight_exponent_m = absl::GetFlag(FLAGS_weight_exponent);
    p.estimator.bandwidth_km = absl::GetFlag(FLAGS_bandwidth_km);
    p.estimator.sigma_deg = absl::GetFlag(FLAGS_sigma_deg);
    p.max_peaks = absl::GetFlag(FLAGS_max_peaks);
    p.region_levels.clear();
    for (absl::string_view part :
         absl::StrSplit(absl::GetFlag(FLAGS_region_levels), ',', absl::SkipWhitespace())) {
      double level;
      if (!absl::SimpleAtod(part, &level)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--region_levels: '", part, "' is not a number"));
      }
      p.region_levels.push_back(level);
    }
    p.abstain_below = absl::GetFlag(FLAGS_abstain_below);
    p.region_cells_per_level = absl::GetFlag(FLAGS_region_cells_per_level);
    GEOLOC_RETURN_IF_ERROR(engine::ValidateLocateParams(p, engine::kMaxK));
    configs.push_back(std::move(p));
  }
  return configs;
}

int CalibrateCommand(const std::vector<geo::EstimatorKind>& kinds) {
  const std::string fit_path = absl::GetFlag(FLAGS_fit_retrieval);
  const std::string calibration_path = absl::GetFlag(FLAGS_calibration_retrieval);
  if (fit_path.empty() || calibration_path.empty()) {
    return Fail(absl::InvalidArgumentError(
        "calibrate: --fit_retrieval and --calibration_retrieval are required"));
  }
  absl::StatusOr<std::vector<engine::LocateParams>> configs = ServedConfigs(kinds);
  if (!configs.ok()) return Fail(configs.status());
  absl::StatusOr<RetrievalRun> fit = LoadRetrieval(fit_path);
  if (!fit.ok()) return Fail(fit.status());
  absl::StatusOr<RetrievalRun> calibration = LoadRetrieval(calibration_path);
  if (!calibration.ok()) return Fail(calibration.status());
  // Refused before the model loads: the test split is never calibrated on.
  for (const RetrievalRun* run : {&*fit, &*calibration}) {
    if (SplitName(*run) == "test") {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "calibrate: ", run->source, " is the test split; calibrate on val and calib, report on "
          "test with `geoloc-eval coverage`")));
    }
  }
  std::vector<int> incident_photo_counts;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_incident_calibration_sizes), ',',
                                               absl::SkipWhitespace())) {
    int size;
    if (!absl::SimpleAtoi(part, &size) || size < 2 || size > engine::kMaxIncidentPhotos) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("--incident_calibration_sizes: '", part,
                                                          "' is not an integer in [2, ",
                                                          engine::kMaxIncidentPhotos, "]")));
    }
    incident_photo_counts.push_back(size);
  }
  if (absl::GetFlag(FLAGS_incident_draws) < 1) {
    return Fail(absl::InvalidArgumentError("--incident_draws must be >= 1"));
  }
  absl::StatusOr<Stack> stack = LoadStack();
  if (!stack.ok()) return Fail(stack.status());
  absl::StatusOr<files::CalibrateReport> report;
  calibration::FitOptions fit_options;
  fit_options.regional = absl::GetFlag(FLAGS_regional_term);
  IncidentFitOptions incidents;
  incidents.sizes = incident_photo_counts;
  incidents.draws_per_place = absl::GetFlag(FLAGS_incident_draws);
  incidents.seed = absl::GetFlag(FLAGS_incident_seed);
  const std::string incident_sizes = absl::GetFlag(FLAGS_incident_calibration_sizes);
  std::string created_by =
      absl::StrCat("geoloc-eval calibrate --fit_retrieval ", fit_path, " --calibration_retrieval ",
                   calibration_path, fit_options.regional ? "" : " --noregional_term");
  if (!incident_sizes.empty()) {
    absl::StrAppend(&created_by, " --incident_calibration_sizes ", incident_sizes,
                    " --incident_draws ", incidents.draws_per_place, " --incident_seed ",
                    incidents.seed);
  }
  report =
      CalibrateBundle(*stack->locator, absl::GetFlag(FLAGS_bundle), *fit, *calibration, *configs,
                      fit_options, incidents, created_by, absl::GetFlag(FLAGS_progress));
  if (!report.ok()) return Fail(report.status());
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonString(*report);
    if (!json.ok()) return Fail(json.status());
    absl::PrintF("%s\n", *json);
    return 0;
  }
  absl::PrintF("calibrated %s (now %s) in %.1f s\n", report->bundle(), report->version(),
               report->seconds());
  for (const files::CalibratedEntry& e : report->entries()) {
    std::vector<std::string> sizes;
    for (int64_t n : e.score_group_sizes()) sizes.push_back(absl::StrCat(n));
    absl::PrintF(
        "  %s: fit on %s (%d photos, %d with a place), calibrated on %s (%d, %d); score groups "
        "[%s]; mixture narrow %.3f broad %.3f (%.0f km) regional %.3f (%.0f km) classifier %.3f "
        "floor %.4f\n",
        e.settings(), e.fit_split().name(), e.fit_split().photos(), e.fit_split().with_place(),
        e.calibration_split().name(), e.calibration_split().photos(),
        e.calibration_split().with_place(), absl::StrJoin(sizes, ", "), e.narrow(), e.broad(),
        e.broad_bandwidth_km(), e.regional(), e.regional_bandwidth_km(), e.classifier(),
        e.floor());
    for (const files::CalibratedIncidents& i : e.incidents()) {
      std::vector<std::string> groups;
      for (int64_t n : i.score_group_sizes()) groups.push_back(absl::StrCat(n));
      absl::PrintF(
          "    incidents of %d photos: fit on %d incidents, calibrated on %d; score "
          "groups [%s]; broad %.0f km\n",
          i.photos(), i.fit_incidents(), i.calibration_incidents(), absl::StrJoin(groups, ", "),
          i.broad_bandwidth_km());
    }
  }
  return 0;
}

// The ECE's noise floor in one line (coverage's human output).
std::string NoiseLine(const files::EceNoise& n) {
  return absl::StrFormat(
      "a perfectly calibrated P scores median %.4f, 95th percentile %.4f (%d draws); %.1f%% of "
      "draws at or above: %s; debiased l2 error %.4f",
      n.median(), n.p95(), n.draws(), 100 * n.share_at_or_above(),
      n.beyond_noise() ? "BEYOND the noise" : "within the noise", n.debiased_l2());
}

int CoverageCommand(const std::vector<geo::EstimatorKind>& kinds) {
  const std::string path = absl::GetFlag(FLAGS_retrieval);
  if (path.empty()) return Fail(absl::InvalidArgumentError("coverage: --retrieval is required"));
  absl::StatusOr<std::vector<engine::LocateParams>> configs = ServedConfigs(kinds);
  if (!configs.ok()) return Fail(configs.status());
  absl::StatusOr<RetrievalRun> run = LoadRetrieval(path);
  if (!run.ok()) return Fail(run.status());
  absl::StatusOr<Stack> stack = LoadStack();
  if (!stack.ok()) return Fail(stack.status());
  files::CoverageReports reports;
  for (const engine::LocateParams& params : *configs) {
    absl::StatusOr<files::CoverageReport> report =
        ReportCoverage(*stack->locator, *run, params, params.abstain_below,
                       absl::GetFlag(FLAGS_progress), absl::GetFlag(FLAGS_per_photo));
    if (!report.ok()) return Fail(report.status());
    *reports.add_reports() = *std::move(report);
  }
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonString(reports);
    if (!json.ok()) return Fail(json.status());
    absl::PrintF("%s\n", *json);
    return 0;
  }
  for (const files::CoverageReport& r : reports.reports()) {
    absl::PrintF("%s on %s: %d photos (%d with a place, %d distractors)\n", r.settings(),
                 r.split(), r.photos(), r.with_place(), r.distractors());
    absl::PrintF("  %-6s %9s %16s %12s %12s\n", "level", "coverage", "median km^2", "whole sphere",
                 "empty");
    for (const files::LevelCoverage& l : r.levels()) {
      absl::PrintF("  %-6.2f %9.3f %16.1f %12.3f %12.3f\n", l.level(), l.coverage(),
                   l.median_area_km2(), l.whole_sphere_share(), l.empty_share());
    }
    absl::PrintF("  peak-radius disc: coverage %.3f, median %.1f km^2\n", r.disc_coverage(),
                 r.disc_median_area_km2());
    for (const files::WithinCalibration& w : r.within()) {
      absl::PrintF("  P(within %g km): ECE %.4f (uncalibrated mass %.4f), mean %.3f, observed %.3f\n",
                   w.threshold_km(), w.ece(), w.raw_mass_ece(), w.mean_probability(),
                   w.frequency());
      absl::PrintF("    %s\n", NoiseLine(w.ece_noise()));
    }
    absl::PrintF("  P(localizable within %g km): ECE %.4f; abstain below %.3f: %.3f of "
                 "distractors abstained, %.3f of localized photos lost, %.3f answered with risk "
                 "%.3f\n",
                 r.localizable_within_km(), r.localizable_ece(), r.abstain_below(),
                 r.distractors_abstained(), r.localized_lost(), r.answered(), r.answered_risk());
    absl::PrintF("    %s\n", NoiseLine(r.localizable_ece_noise()));
    absl::PrintF("  calibration: %.3f ms per answer\n", r.calibrate_ms_per_answer());
  }
  return 0;
}

// The quantized model's and the fp32 original's runs over one query list: both stored, or both
// retrieved now (the reference always in fp32, whatever --precision says).
absl::StatusOr<std::pair<RetrievalRun, RetrievalRun>> QuantCheckRuns() {
  const std::string ref_retrieval = absl::GetFlag(FLAGS_reference_retrieval);
  if (!ref_retrieval.empty()) {
    if (absl::GetFlag(FLAGS_retrieval).empty() || !absl::GetFlag(FLAGS_reference_model).empty() ||
        !absl::GetFlag(FLAGS_model).empty()) {
      return absl::InvalidArgumentError(
          "quant-check: --reference_retrieval goes with --retrieval (and no models)");
    }
    GEOLOC_ASSIGN_OR_RETURN(RetrievalRun reference, LoadRetrieval(ref_retrieval));
    GEOLOC_ASSIGN_OR_RETURN(RetrievalRun quantized, LoadRetrieval(absl::GetFlag(FLAGS_retrieval)));
    return std::make_pair(std::move(reference), std::move(quantized));
  }
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_bundle).empty() ||
      absl::GetFlag(FLAGS_reference_model).empty() ||
      absl::GetFlag(FLAGS_reference_bundle).empty() || !absl::GetFlag(FLAGS_retrieval).empty()) {
    return absl::InvalidArgumentError(
        "quant-check needs --model, --bundle, --reference_model, --reference_bundle and a query "
        "list, or --retrieval with --reference_retrieval");
  }
  GEOLOC_ASSIGN_OR_RETURN(Stack reference_stack,
                          LoadStackFor(absl::GetFlag(FLAGS_reference_model),
                                       absl::GetFlag(FLAGS_reference_bundle), "fp32"));
  GEOLOC_ASSIGN_OR_RETURN(RetrievalRun reference, Retrieve(reference_stack));
  GEOLOC_ASSIGN_OR_RETURN(Stack quantized_stack,
                          LoadStackFor(absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_bundle),
                                       absl::GetFlag(FLAGS_precision), /*want_int8=*/true));
  GEOLOC_ASSIGN_OR_RETURN(RetrievalRun quantized, Retrieve(quantized_stack));
  return std::make_pair(std::move(reference), std::move(quantized));
}

int QuantCheckCommand(const std::vector<geo::EstimatorKind>& kinds) {
  QuantTolerance tolerance;
  tolerance.max_drop_points = absl::GetFlag(FLAGS_max_drop_points);
  tolerance.min_mean_cosine = absl::GetFlag(FLAGS_min_mean_cosine);
  if (!(tolerance.max_drop_points >= 0) || !(tolerance.min_mean_cosine >= -1) ||
      !(tolerance.min_mean_cosine <= 1)) {
    return Fail(absl::InvalidArgumentError(
        "quant-check: --max_drop_points must be >= 0 and --min_mean_cosine in [-1, 1]"));
  }
  absl::StatusOr<std::vector<engine::LocateParams>> configs = ServedConfigs({kinds.front()});
  if (!configs.ok()) return Fail(configs.status());
  absl::StatusOr<std::pair<RetrievalRun, RetrievalRun>> runs = QuantCheckRuns();
  if (!runs.ok()) return Fail(runs.status());
  const auto& [reference, quantized] = *runs;
  for (const RetrievalRun* run : {&reference, &quantized}) {
    if (run->split == kTestSplit) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "quant-check refuses ", run->source,
          ": its split is 'test', which is reported on and never decided on; check on a "
          "validation split")));
    }
  }
  absl::StatusOr<QuantCheckReport> report =
      CompareQuantized(reference, quantized, configs->front().k, configs->front().estimator,
                       tolerance);
  if (!report.ok()) return Fail(report.status());
  absl::PrintF("quant-check: %s against its fp32 original %s\n", report->quantized_model,
               report->reference_model);
  absl::PrintF("%d localizable queries from %s (split '%s')\n", report->queries,
               reference.source, reference.split);
  absl::PrintF("descriptor cosine to fp32: mean %.5f, min %.5f\n", report->cosine_mean,
               report->cosine_min);
  absl::PrintF("accuracy rows: %s\n", report->estimator);
  absl::PrintF("%-16s %8s %8s %12s\n", "metric", "fp32", "int8", "drop (pts)");
  for (const QuantMetric& m : report->metrics) {
    absl::PrintF("%-16s %8.4f %8.4f %12.2f\n", m.name, m.reference, m.quantized,
                 m.drop_points());
  }
  if (report->refusals.empty()) {
    absl::PrintF("ACCEPTED: within the tolerance (drops <= %.2f points, mean cosine >= %.4f)\n",
                 tolerance.max_drop_points, tolerance.min_mean_cosine);
    return 0;
  }
  const bool accept = absl::GetFlag(FLAGS_accept_quantization_loss);
  for (const std::string& r : report->refusals) {
    std::fprintf(stderr, "geoloc-eval: quant-check: %s\n", r.c_str());
  }
  if (accept) {
    std::fprintf(stderr,
                 "geoloc-eval: WARNING: the quantized model is past the tolerance and "
                 "--accept_quantization_loss serves it anyway; tell its users what it costs\n");
    absl::PrintF("ACCEPTED WITH LOSS (--accept_quantization_loss)\n");
    return 0;
  }
  std::fprintf(stderr,
               "geoloc-eval: REFUSED: the quantized model is outside the tolerance (above); serve "
               "the fp32 model, calibrate on more photos of the served domain, or "
               "pass --accept_quantization_loss to serve it knowingly\n");
  absl::PrintF("REFUSED\n");
  return 1;
}

int AreasCommand(const std::vector<geo::EstimatorKind>& kinds) {
  const std::string path = absl::GetFlag(FLAGS_retrieval);
  if (path.empty()) return Fail(absl::InvalidArgumentError("areas: --retrieval is required"));
  std::vector<double> radii;
  for (const std::string& text : absl::GetFlag(FLAGS_area_radii_km)) {
    double r = 0;
    if (!absl::SimpleAtod(text, &r) || !InRange(geo::kAreaRadiusKmRange, r)) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "--area_radii_km: '", text, "' is not a radius (", DescribeRange(geo::kAreaRadiusKmRange),
          ")")));
    }
    radii.push_back(r);
  }
  absl::StatusOr<std::vector<engine::LocateParams>> configs = ServedConfigs(kinds);
  if (!configs.ok()) return Fail(configs.status());
  absl::StatusOr<RetrievalRun> run = LoadRetrieval(path);
  if (!run.ok()) return Fail(run.status());
  absl::StatusOr<Stack> stack = LoadStack();
  if (!stack.ok()) return Fail(stack.status());
  for (const engine::LocateParams& params : *configs) {
    absl::StatusOr<std::vector<AreaRow>> rows =
        EvaluateAreas(*stack->locator, *run, params, radii, absl::GetFlag(FLAGS_area_seed),
                      absl::GetFlag(FLAGS_progress));
    if (!rows.ok()) return Fail(rows.status());
    absl::PrintF("%s, k %d, on %s (seed %d)\n", geo::EstimatorName(params.estimator.kind),
                 params.k, run->source, absl::GetFlag(FLAGS_area_seed));
    absl::PrintF(
        "| prior disc | mode | queries | no answer | acc@1km | acc@25km | median km | "
        "regions: cells / exact coverage, median km^2 per level |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const AreaRow& r : *rows) {
      std::string regions = r.levels.empty() ? "-" : "";
      for (const AreaLevelCoverage& c : r.levels) {
        absl::StrAppendFormat(&regions, "%s%.2f: %.3f / %.3f, %.1f", regions.empty() ? "" : "; ",
                              c.level, c.coverage, c.exact_coverage, c.median_area_km2);
      }
      absl::PrintF("| %s | %s | %d | %d | %.3f | %.3f | %.2f | %s |\n",
                   r.radius_km > 0 ? absl::StrCat(r.radius_km, " km") : "-", r.mode, r.queries,
                   r.no_answer, r.accuracy_1km, r.accuracy_25km, r.median_error_km, regions);
    }
  }
  return 0;
}

int IncidentsCommand() {
  const std::string path = absl::GetFlag(FLAGS_retrieval);
  if (path.empty()) return Fail(absl::InvalidArgumentError("incidents: --retrieval is required"));
  IncidentEvalOptions options;
  options.sizes.clear();
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_incident_sizes), ',', absl::SkipWhitespace())) {
    int size;
    if (!absl::SimpleAtoi(part, &size)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--incident_sizes: '", part, "' is not an integer")));
    }
    options.sizes.push_back(size);
  }
  options.draws_per_place = absl::GetFlag(FLAGS_incident_draws);
  options.seed = absl::GetFlag(FLAGS_incident_seed);
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_dissent_ratios), ',', absl::SkipWhitespace())) {
    double ratio;
    if (!absl::SimpleAtod(part, &ratio) || !(ratio >= 0 && ratio <= 1)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--dissent_ratios: '", part, "' is not a number in [0, 1]")));
    }
    options.dissent_ratios.push_back(ratio);
  }
  const std::string pooling = absl::GetFlag(FLAGS_incident_pooling);
  if (pooling == "geometric") {
    options.pooling = engine::IncidentPooling::kGeometricMean;
  } else if (pooling == "shared_evidence") {
    options.pooling = engine::IncidentPooling::kSharedEvidence;
  } else {
    return Fail(absl::InvalidArgumentError(
        "--incident_pooling: must be geometric or shared_evidence"));
  }
  options.show_progress = absl::GetFlag(FLAGS_progress);
  // Incidents pool densities: the spherical KDE with the served settings.
  absl::StatusOr<std::vector<engine::LocateParams>> configs =
      ServedConfigs({geo::EstimatorKind::kSphericalKde});
  if (!configs.ok()) return Fail(configs.status());
  absl::StatusOr<RetrievalRun> run = LoadRetrieval(path);
  if (!run.ok()) return Fail(run.status());
  absl::StatusOr<Stack> stack = LoadStack();
  if (!stack.ok()) return Fail(stack.status());
  absl::StatusOr<IncidentEvalReport> report =
      EvaluateIncidents(*stack->locator, *run, configs->front(), options);
  if (!report.ok()) return Fail(report.status());
  absl::PrintF(
      "incidents on %s (%s pooling): %d places with >= %d photos, %d draws each; %s\n",
      report->split, pooling, report->places,
      *std::max_element(options.sizes.begin(), options.sizes.end()), options.draws_per_place,
      stack->locator->calibration().present() ? "bundle calibrated" : "bundle not calibrated");
  absl::PrintF(
      "| photos | intruder | incidents | acc@1km | acc@25km | median km | effective |"
      " false dissent | intruder reported | served calibration: coverage / median area "
      "km^2 per level | single-photo calibration on the same answers |\n");
  absl::PrintF("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const IncidentSizeReport& r : report->sizes) {
    std::string regions = r.calibrated ? "" : "not calibrated";
    for (size_t l = 0; l < r.levels.size(); ++l) {
      absl::StrAppendFormat(&regions, "%s%.2f: %.3f (exact %.3f) / %.1f", l ? ", " : "",
                            r.levels[l], r.coverage[l], r.exact_coverage[l], r.median_area_km2[l]);
    }
    std::string single = r.single_photo_coverage.empty() ? "-" : "";
    for (size_t l = 0; l < r.single_photo_coverage.size(); ++l) {
      absl::StrAppendFormat(&single, "%s%.3f / %.1f", l ? ", " : "", r.single_photo_coverage[l],
                            r.single_photo_median_area_km2[l]);
    }
    absl::PrintF("| %d | %s | %d | %.3f | %.3f | %.2f | %.2f | %.3f | %s | %s | %s |\n", r.size,
                 r.with_intruder ? "yes" : "no", r.incidents, r.accuracy_1km, r.accuracy_25km,
                 r.median_error_km, r.mean_effective_photos, r.false_dissent_share,
                 r.with_intruder ? absl::StrFormat("%.3f", r.intruder_reported_share) : "-",
                 regions, single);
  }
  if (!options.dissent_ratios.empty()) {
    absl::PrintF("\ndissent flag by ratio (the served ratio is %g):\n",
                 engine::IncidentOptions().dissent_ratio);
    absl::PrintF(
        "| photos | ratio | incidents with a genuine photo flagged | genuine photos "
        "flagged | with an intruder: intruder flagged | with an intruder: incidents "
        "with a genuine photo flagged |\n| --- | --- | --- | --- | --- | --- |\n");
    for (const IncidentSizeReport& r : report->sizes) {
      for (const DissentPoint& p : r.dissent_curve) {
        absl::PrintF("| %d | %g | %.3f | %.3f | %.3f | %.3f |\n", r.size, p.ratio,
                     p.false_dissent_share, p.genuine_photo_flag_rate, p.intruder_reported_share,
                     p.intruded_false_share);
      }
    }
  }
  return 0;
}

int Main(const std::string& command) {
  auto thresholds = ParseThresholds(absl::GetFlag(FLAGS_thresholds_km));
  if (!thresholds.ok()) return Fail(thresholds.status());
  const int k = absl::GetFlag(FLAGS_k);
  const int max_k = absl::GetFlag(FLAGS_max_k);
  if (k < 1 || max_k < std::max(k, 20)) {
    return Fail(absl::InvalidArgumentError("need 1 <= --k <= --max_k and --max_k >= 20"));
  }
  auto kinds = ParseEstimators();
  if (!kinds.ok()) return Fail(kinds.status());
  if (command == "retrieve") return RetrieveCommand();
  if (command == "run") return Run(*thresholds, *kinds);
  if (command == "calibrate") return CalibrateCommand(*kinds);
  if (command == "coverage") return CoverageCommand(*kinds);
  if (command == "quant-check") return QuantCheckCommand(*kinds);
  if (command == "areas") return AreasCommand(*kinds);
  if (command == "incidents") return IncidentsCommand();
  return Tune(*thresholds, *kinds);
}

}  // namespace
}  // namespace geoloc::eval

int main(int argc, char** argv) {
  std::vector<char*> args = geoloc::ParseCommandLineOrExit(
      argc, argv, "geoloc-eval",
      "evaluates estimators and classifiers on geotagged queries (docs/EVALUATION.md).\n"
      "  geoloc-eval retrieve --model M.pt --bundle DIR (--csv F | --vpr_dir D | --exif_dir D) "
      "--out FILE\n"
      "  geoloc-eval run|tune (--retrieval FILE | --model M.pt --bundle DIR (--csv F | ...)) "
      "[flags]\n"
      "  geoloc-eval calibrate --model M.pt --bundle DIR --fit_retrieval VAL "
      "--calibration_retrieval CALIB [--estimators E --k K ...]\n"
      "  geoloc-eval coverage --model M.pt --bundle DIR --retrieval TEST [--estimators E ...]\n"
      "  geoloc-eval quant-check --model INT8.pt --bundle DIR --reference_model FP32.pt "
      "--reference_bundle DIR (--csv VAL | ...) [--max_drop_points P]\n"
      "  geoloc-eval areas --model M.pt --bundle DIR --retrieval TEST [--area_radii_km 10,50 "
      "--area_seed 1 --estimators E ...]\n"
      "  geoloc-eval incidents --model M.pt --bundle DIR --retrieval TEST "
      "[--incident_sizes 1,2,4,8 --incident_draws 5]");
  auto level = geoloc::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return geoloc::eval::Fail(level.status());
  geoloc::SetMinLogLevel(*level);
  const std::string command = args.size() == 2 ? args[1] : "";
  if (command != "run" && command != "tune" && command != "retrieve" && command != "calibrate" &&
      command != "coverage" && command != "quant-check" && command != "areas" &&
      command != "incidents") {
    std::fprintf(stderr,
                 "usage: geoloc-eval retrieve|run|tune|calibrate|coverage|quant-check|areas|"
                 "incidents (see --help)\n");
    return 2;
  }
  return geoloc::eval::Main(command);
}
