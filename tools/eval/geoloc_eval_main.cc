// geoloc-eval: how well does the whole stack geolocate a query set against a bundle?
//
//   geoloc-eval run  --model M.pt --bundle B --csv world/query.csv [--k 60] [--json]
//   geoloc-eval tune --model M.pt --bundle B --csv world/val.csv [--json]
//
// `run` prints, for every estimator side by side, accuracy at the distance thresholds, the median
// error and the estimator's time, plus recall@1/5/10/20 (25 m) and the retrieval throughput.
// When the bundle has a cell classifier, also the classifier alone (its top leaf cell) and every
// estimator fused with it, the way Locate's `best` is (docs/CLASSIFIER.md "Fusion").
// `tune` runs the seed's grid search over k, m and sigma (grid KDE) and our bandwidth in km
// (spherical KDE) and prints the best parameters per threshold, like the thesis' table.
// Exit status: 0 ok, 1 evaluation failed, 2 usage error.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/common/command_line.h"
#include "core/common/logging.h"
#include "core/engine/locator.h"
#include "core/geo/metrics.h"
#include "core/index/image_source.h"
#include "core/model/encoder.h"
#include "tools/eval/evaluation.h"

ABSL_FLAG(std::string, model, "", "the model archive the bundle was built with");
ABSL_FLAG(std::string, bundle, "", "the index bundle directory");
ABSL_FLAG(std::string, csv, "", "queries: CSV of path,lat,lon[,...] (header required)");
ABSL_FLAG(std::string, image_root, "", "with --csv: directory relative paths start from");
ABSL_FLAG(std::string, vpr_dir, "", "queries: a folder in the VPR-datasets naming convention");
ABSL_FLAG(std::string, exif_dir, "", "queries: a folder of photos with EXIF GPS tags");
ABSL_FLAG(int32_t, k, 60, "run: neighbours given to each estimator");
ABSL_FLAG(int32_t, max_k, 100, "neighbours retrieved per query (>= k and >= 20)");
ABSL_FLAG(std::string, estimators, "nearest,mean,weighted_mean,grid_kde,spherical_kde",
          "run: estimators to compare, comma-separated");
ABSL_FLAG(double, weight_exponent, 5.0, "run: weight exponent m");
ABSL_FLAG(double, sigma_deg, 0.0025, "run: grid KDE sigma in degrees");
ABSL_FLAG(double, bandwidth_km, 0.5, "run: spherical KDE bandwidth in km");
ABSL_FLAG(std::string, thresholds_km, "0.01,0.1,0.5,1,5,25,200,750,2500",
          "accuracy thresholds in km, comma-separated");
ABSL_FLAG(int32_t, max_peaks, 5,
          "run, bundles with a classifier: peaks the fused answer chooses from (Locate's default)");
ABSL_FLAG(int32_t, batch, 16, "images per encoder forward pass");
ABSL_FLAG(int32_t, max_queries, 0, "evaluate at most this many queries (0: all)");
ABSL_FLAG(std::string, precision, "auto", "encoder precision: auto, fp32 or bf16");
ABSL_FLAG(int32_t, threads, 0, "LibTorch intra-op threads (0: LibTorch's default)");
ABSL_FLAG(bool, json, false, "print one JSON object instead of tables");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace geoloc::eval {
namespace {

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

std::string ThresholdName(double km) {
  return km < 1 ? absl::StrFormat("%gm", km * 1000) : absl::StrFormat("%gkm", km);
}

absl::StatusOr<index::SourceList> ReadQueries() {
  const std::string csv = absl::GetFlag(FLAGS_csv);
  const std::string vpr = absl::GetFlag(FLAGS_vpr_dir);
  const std::string exif = absl::GetFlag(FLAGS_exif_dir);
  const int given = !csv.empty() + !vpr.empty() + !exif.empty();
  if (given != 1) {
    return absl::InvalidArgumentError("give exactly one of --csv, --vpr_dir, --exif_dir");
  }
  if (!csv.empty()) return index::ReadCsvSource(csv, absl::GetFlag(FLAGS_image_root));
  if (!vpr.empty()) return index::ScanVprFolder(vpr);
  return index::ScanExifFolder(exif, 0);
}

std::string JsonReport(const EstimatorReport& r) {
  std::vector<std::string> acc;
  for (size_t t = 0; t < r.thresholds_km.size(); ++t) {
    acc.push_back(absl::StrFormat("\"%s\": %.6f", ThresholdName(r.thresholds_km[t]), r.accuracy[t]));
  }
  return absl::StrFormat(
      "{\"label\": \"%s\", \"method\": \"%s\", \"estimator\": \"%s\", \"k\": %d, "
      "\"weight_exponent\": %g, \"sigma_deg\": %g, \"bandwidth_km\": %g, \"accuracy\": {%s}, "
      "\"median_error_km\": %.6f, "
      "\"failures\": %d, \"ms_per_query\": %.4f}",
      r.label, r.method, geo::EstimatorName(r.options.kind), r.k, r.options.weight_exponent_m,
      r.options.sigma_deg, r.options.bandwidth_km, absl::StrJoin(acc, ", "), r.median_error_km,
      r.failures, r.ms_per_query);
}

void PrintTable(const std::vector<EstimatorReport>& reports) {
  if (reports.empty()) return;
  absl::PrintF("%-42s", "estimator");
  for (double t : reports[0].thresholds_km) absl::PrintF(" %7s", ThresholdName(t).c_str());
  absl::PrintF(" %10s %9s\n", "median km", "ms/query");
  for (const auto& r : reports) {
    absl::PrintF("%-42s", r.label.c_str());
    for (double a : r.accuracy) absl::PrintF(" %7.3f", a);
    absl::PrintF(" %10.3f %9.3f%s\n", r.median_error_km, r.ms_per_query,
                r.failures > 0 ? absl::StrCat("  (", r.failures, " failed)") : std::string());
  }
}

int Main(const std::string& command) {
  auto thresholds = ParseThresholds(absl::GetFlag(FLAGS_thresholds_km));
  if (!thresholds.ok()) return Fail(thresholds.status());
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_bundle).empty()) {
    return Fail(absl::InvalidArgumentError("--model and --bundle are required"));
  }
  const int k = absl::GetFlag(FLAGS_k);
  const int max_k = absl::GetFlag(FLAGS_max_k);
  if (k < 1 || max_k < std::max(k, 20)) {
    return Fail(absl::InvalidArgumentError("need 1 <= --k <= --max_k and --max_k >= 20"));
  }
  if (absl::GetFlag(FLAGS_max_peaks) < 1) {
    return Fail(absl::InvalidArgumentError("--max_peaks must be >= 1"));
  }
  std::vector<geo::EstimatorKind> kinds;
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_estimators), ',',
                                               absl::SkipWhitespace())) {
    auto kind = geo::ParseEstimatorKind(name);
    if (!kind.ok()) return Fail(kind.status());
    kinds.push_back(*kind);
  }
  auto queries = ReadQueries();
  if (!queries.ok()) return Fail(queries.status());
  if (queries->entries.empty()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("no query images in ",
                                                        queries->description)));
  }

  model::EncoderOptions encoder_options;
  auto precision = model::ParsePrecision(absl::GetFlag(FLAGS_precision));
  if (!precision.ok()) return Fail(precision.status());
  encoder_options.precision = *precision;
  encoder_options.intra_op_threads = absl::GetFlag(FLAGS_threads);
  auto encoder = model::Encoder::Load(absl::GetFlag(FLAGS_model), encoder_options);
  if (!encoder.ok()) return Fail(encoder.status());
  auto locator = engine::Locator::Load(std::shared_ptr<const model::Encoder>(std::move(*encoder)),
                                       nullptr, absl::GetFlag(FLAGS_bundle), {});
  if (!locator.ok()) return Fail(locator.status());

  RetrieveOptions retrieve;
  retrieve.max_k = max_k;
  retrieve.batch = absl::GetFlag(FLAGS_batch);
  retrieve.max_queries = absl::GetFlag(FLAGS_max_queries);
  retrieve.show_progress = !absl::GetFlag(FLAGS_json);
  auto run = RetrieveAll(**locator, *queries, retrieve);
  if (!run.ok()) return Fail(run.status());
  const geo::ScoreKind score_kind = (*locator)->bundle().score_kind();
  const std::vector<int> ns = {1, 5, 10, 20};
  const std::vector<double> recall = RecallAtN(*run, ns);
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string header = absl::StrFormat(
      "%d queries (%d unreadable) from %s against bundle %s (%d vectors), model %s",
      run->queries.size(), run->unreadable, queries->description, (*locator)->bundle_version(),
      (*locator)->bundle().size(), (*locator)->model_version());

  if (command == "run") {
    std::vector<EstimatorReport> reports;
    for (geo::EstimatorKind kind : kinds) {
      geo::EstimatorOptions o;
      o.kind = kind;
      o.weight_exponent_m = absl::GetFlag(FLAGS_weight_exponent);
      o.sigma_deg = absl::GetFlag(FLAGS_sigma_deg);
      o.bandwidth_km = absl::GetFlag(FLAGS_bandwidth_km);
      if (absl::Status st = geo::ValidateEstimatorOptions(o); !st.ok()) return Fail(st);
      reports.push_back(Evaluate(*run, score_kind, k, o, *thresholds));
    }
    // With a cell classifier: its own answer, and each estimator fused with it (as Locate's best).
    if (const engine::BundleClassifier* classifier = (*locator)->classifier()) {
      const size_t retrieval_rows = reports.size();
      reports.push_back(EvaluateClassifier(*run, *classifier, *thresholds));
      for (size_t i = 0; i < retrieval_rows; ++i) {
        reports.push_back(EvaluateFused(*run, score_kind, k, reports[i].options,
                                        absl::GetFlag(FLAGS_max_peaks), *classifier,
                                        *thresholds));
      }
    }
    if (json) {
      std::vector<std::string> rows;
      for (const auto& r : reports) rows.push_back(JsonReport(r));
      absl::PrintF(
          "{\"queries\": %d, \"unreadable\": %d, \"bundle\": \"%s\", \"model\": \"%s\", "
          "\"retrieval_images_per_second\": %.3f, \"recall_at\": {\"1\": %.6f, \"5\": %.6f, "
          "\"10\": %.6f, \"20\": %.6f}, \"estimators\": [%s]}\n",
          run->queries.size(), run->unreadable, (*locator)->bundle_version(),
          (*locator)->model_version(), run->images_per_second, recall[0], recall[1], recall[2],
          recall[3], absl::StrJoin(rows, ", "));
      return 0;
    }
    absl::PrintF("%s\n", header.c_str());
    absl::PrintF("retrieval: %.1f images/s (decode + encode + search, batch %d)\n",
                run->images_per_second, retrieve.batch);
    absl::PrintF("recall@1/5/10/20 (25 m): %.3f %.3f %.3f %.3f\n\n", recall[0], recall[1],
                recall[2], recall[3]);
    PrintTable(reports);
    return 0;
  }

  // tune
  const std::vector<TuneBest> best = Tune(*run, score_kind, TuneGrid(), *thresholds, !json);
  if (json) {
    std::vector<std::string> rows;
    for (const auto& b : best) {
      rows.push_back(absl::StrFormat("{\"threshold_km\": %g, \"grid_kde\": %s, \"spherical_kde\": %s}",
                                     b.threshold_km, JsonReport(b.grid_kde),
                                     JsonReport(b.spherical_kde)));
    }
    absl::PrintF("{\"queries\": %d, \"best\": [%s]}\n", run->queries.size(),
                absl::StrJoin(rows, ", "));
    return 0;
  }
  absl::PrintF("%s\n\nbest parameters per threshold (accuracy at that threshold):\n", header.c_str());
  absl::PrintF("%-9s | %-4s %-4s %-9s %-8s | %-4s %-4s %-8s %-8s\n", "threshold", "k", "m",
              "sigma deg", "grid KDE", "k", "m", "h km", "sph. KDE");
  for (const auto& b : best) {
    size_t t = &b - best.data();
    absl::PrintF("%-9s | %-4d %-4g %-9g %-8.3f | %-4d %-4g %-8g %-8.3f\n",
                ThresholdName(b.threshold_km).c_str(), b.grid_kde.k,
                b.grid_kde.options.weight_exponent_m, b.grid_kde.options.sigma_deg,
                b.grid_kde.accuracy[t], b.spherical_kde.k,
                b.spherical_kde.options.weight_exponent_m, b.spherical_kde.options.bandwidth_km,
                b.spherical_kde.accuracy[t]);
  }
  return 0;
}

}  // namespace
}  // namespace geoloc::eval

int main(int argc, char** argv) {
  std::vector<char*> args = geoloc::ParseCommandLineOrExit(
      argc, argv, "geoloc-eval",
      "evaluates estimators on geotagged queries (docs/EVALUATION.md).\n"
      "  geoloc-eval run|tune --model M.pt --bundle DIR (--csv F | --vpr_dir D | --exif_dir D)");
  auto level = geoloc::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return geoloc::eval::Fail(level.status());
  geoloc::SetMinLogLevel(*level);
  if (args.size() != 2 || (std::string(args[1]) != "run" && std::string(args[1]) != "tune")) {
    std::fprintf(stderr, "usage: geoloc-eval run|tune --model M.pt --bundle DIR "
                         "(--csv F | --vpr_dir D | --exif_dir D) [flags]\n");
    return 2;
  }
  return geoloc::eval::Main(args[1]);
}
