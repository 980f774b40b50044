#include "tools/eval/evaluation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/geo/distance.h"
#include "core/geo/estimator.h"
#include "core/engine/fusion.h"
#include "core/geo/metrics.h"
#include "core/model/image_decoder.h"
#include "core/model/preprocess.h"

namespace geoloc::eval {
namespace {

std::string Label(const geo::EstimatorOptions& o, int k) {
  std::string label = absl::StrFormat("%s k=%d", geo::EstimatorName(o.kind), k);
  switch (o.kind) {
    case geo::EstimatorKind::kWeightedMean:
      absl::StrAppendFormat(&label, " m=%g", o.weight_exponent_m);
      break;
    case geo::EstimatorKind::kGridKde:
      absl::StrAppendFormat(&label, " m=%g sigma=%gdeg", o.weight_exponent_m, o.sigma_deg);
      break;
    case geo::EstimatorKind::kSphericalKde:
      absl::StrAppendFormat(&label, " m=%g h=%gkm", o.weight_exponent_m, o.bandwidth_km);
      break;
    default:
      break;
  }
  return label;
}

}  // namespace

absl::StatusOr<RetrievalRun> RetrieveAll(const engine::Locator& locator,
                                         const index::SourceList& queries,
                                         const RetrieveOptions& options) {
  const model::ModelInfo& info = locator.model_info();
  const size_t image_floats = model::PreprocessedSize(info);
  const int threads = options.decode_threads > 0
                          ? options.decode_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  size_t total = queries.entries.size();
  if (options.max_queries > 0) total = std::min<size_t>(total, options.max_queries);
  RetrievalRun run;
  run.queries.reserve(total);
  ProgressReporter progress("retrieve", static_cast<int64_t>(total), "img");
  model::DecodeOptions decode;
  decode.target_min_side = std::min(info.input_height, info.input_width);
  const absl::Time start = absl::Now();
  std::vector<float> pixels(image_floats * options.batch);
  std::vector<char> ok(options.batch);
  for (size_t begin = 0; begin < total; begin += options.batch) {
    const int n = static_cast<int>(std::min<size_t>(options.batch, total - begin));
    ParallelFor(&pool, n, [&](int64_t i) {
      const index::SourceEntry& e = queries.entries[begin + i];
      ok[i] = 0;
      auto bytes = ReadFileToString(e.path);
      if (!bytes.ok()) return;
      auto bgr = model::DecodeImage(*bytes, decode);
      if (!bgr.ok()) return;
      ok[i] = model::PreprocessInto(*bgr, info, pixels.data() + i * image_floats).ok() ? 1 : 0;
    });
    // Compact the readable images to the front of the batch.
    std::vector<size_t> kept;
    for (int i = 0; i < n; ++i) {
      if (!ok[i]) {
        ++run.unreadable;
        GEOLOC_LOG(WARNING) << "skipping unreadable query " << queries.entries[begin + i].path;
        continue;
      }
      if (kept.size() != static_cast<size_t>(i)) {
        std::copy_n(pixels.data() + i * image_floats, image_floats,
                    pixels.data() + kept.size() * image_floats);
      }
      kept.push_back(begin + i);
    }
    if (!kept.empty()) {
      const int m = static_cast<int>(kept.size());
      std::vector<float> descriptors(static_cast<size_t>(m) * info.dim);
      GEOLOC_RETURN_IF_ERROR(locator.Encode(pixels.data(), m, descriptors.data()));
      GEOLOC_ASSIGN_OR_RETURN(auto hits, locator.Search(descriptors, options.max_k, 0, 0));
      std::vector<float> probs;
      const engine::BundleClassifier* classifier = locator.classifier();
      if (classifier != nullptr) {
        probs.resize(static_cast<size_t>(m) * classifier->num_classes());
        const absl::Time t0 = absl::Now();
        GEOLOC_RETURN_IF_ERROR(classifier->Predict(descriptors.data(), m, probs.data()));
        run.classifier_seconds += absl::ToDoubleSeconds(absl::Now() - t0);
      }
      for (int i = 0; i < m; ++i) {
        const index::SourceEntry& e = queries.entries[kept[i]];
        RetrievedQuery q{e.meta.source, geo::LatLon{e.meta.lat, e.meta.lon}, std::move(hits[i]),
                         {}};
        if (classifier != nullptr) {
          const auto row = probs.begin() + static_cast<size_t>(i) * classifier->num_classes();
          q.classifier_probs.assign(row, row + classifier->num_classes());
        }
        run.queries.push_back(std::move(q));
      }
    }
    if (options.show_progress) progress.Add(n);
  }
  if (options.show_progress) progress.Finish();
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  run.images_per_second = run.seconds > 0 ? run.queries.size() / run.seconds : 0;
  if (run.queries.empty()) return absl::InvalidArgumentError("no readable query image");
  return run;
}

namespace {

// Evaluate and EvaluateFused: `fuse_with` null answers with the top peak.
EstimatorReport EvaluateEstimator(const RetrievalRun& run, geo::ScoreKind kind, int k,
                                  const geo::EstimatorOptions& options,
                                  const std::vector<double>& thresholds_km, int max_peaks,
                                  const engine::BundleClassifier* fuse_with) {
  EstimatorReport report;
  report.label = Label(options, k);
  report.options = options;
  report.k = k;
  report.thresholds_km = thresholds_km;
  std::vector<double> errors;
  errors.reserve(run.queries.size());
  std::vector<geo::Neighbor> neighbors;
  absl::Duration spent;
  for (const RetrievedQuery& q : run.queries) {
    neighbors.clear();
    for (const index::Neighbor& n : q.neighbors) {
      if (static_cast<int>(neighbors.size()) == k) break;
      neighbors.push_back(geo::Neighbor{geo::LatLon{n.lat, n.lon}, n.score});
    }
    const absl::Time t0 = absl::Now();
    absl::StatusOr<geo::Estimate> estimate = geo::EstimateLocation(neighbors, kind, options);
    spent += absl::Now() - t0;
    if (!estimate.ok()) {
      ++report.failures;
      errors.push_back(std::numeric_limits<double>::infinity());
      continue;
    }
    geo::LatLon answer = estimate->peaks.front().pos;
    if (fuse_with != nullptr) {
      const size_t n = std::min<size_t>(estimate->peaks.size(), max_peaks);
      std::vector<double> leaf_probability(n);
      for (size_t i = 0; i < n; ++i) {
        leaf_probability[i] = fuse_with->LeafProbabilityAt(q.classifier_probs,
                                                           estimate->peaks[i].pos);
      }
      const engine::FusedChoice fused =
          engine::FusePeaks(absl::MakeConstSpan(estimate->peaks).first(n), leaf_probability,
                            fuse_with->num_classes());
      answer = estimate->peaks[fused.peak].pos;
    }
    errors.push_back(geo::HaversineKm(answer, q.truth));
  }
  report.accuracy = geo::AccuracyAtThresholds(errors, thresholds_km);
  report.median_error_km = geo::MedianError(errors);
  report.ms_per_query =
      run.queries.empty() ? 0 : absl::ToDoubleMilliseconds(spent) / run.queries.size();
  return report;
}

}  // namespace

EstimatorReport Evaluate(const RetrievalRun& run, geo::ScoreKind kind, int k,
                         const geo::EstimatorOptions& options,
                         const std::vector<double>& thresholds_km) {
  return EvaluateEstimator(run, kind, k, options, thresholds_km, 0, nullptr);
}

EstimatorReport EvaluateFused(const RetrievalRun& run, geo::ScoreKind kind, int k,
                              const geo::EstimatorOptions& options, int max_peaks,
                              const engine::BundleClassifier& classifier,
                              const std::vector<double>& thresholds_km) {
  EstimatorReport report = EvaluateEstimator(run, kind, k, options, thresholds_km,
                                             std::max(max_peaks, 1), &classifier);
  report.label = "fused " + report.label;
  report.method = "fused";
  return report;
}

EstimatorReport EvaluateClassifier(const RetrievalRun& run,
                                   const engine::BundleClassifier& classifier,
                                   const std::vector<double>& thresholds_km) {
  EstimatorReport report;
  report.label = absl::StrFormat("classifier (top leaf of %d, %s)", classifier.num_classes(),
                                 model::CellHeadVariantName(classifier.info().variant));
  report.method = "classifier";
  report.thresholds_km = thresholds_km;
  std::vector<double> errors;
  errors.reserve(run.queries.size());
  for (const RetrievedQuery& q : run.queries) {
    errors.push_back(geo::HaversineKm(classifier.Estimate(q.classifier_probs).pos, q.truth));
  }
  report.accuracy = geo::AccuracyAtThresholds(errors, thresholds_km);
  report.median_error_km = geo::MedianError(errors);
  // The head's forward pass (batched, measured in RetrieveAll), per query.
  report.ms_per_query = run.queries.empty() ? 0
                                            : run.classifier_seconds * 1000 / run.queries.size();
  return report;
}

std::vector<double> RecallAtN(const RetrievalRun& run, const std::vector<int>& ns,
                              double radius_km) {
  std::vector<std::vector<geo::LatLon>> ranked;
  std::vector<geo::LatLon> truths;
  for (const RetrievedQuery& q : run.queries) {
    std::vector<geo::LatLon> positions;
    for (const auto& n : q.neighbors) positions.push_back(geo::LatLon{n.lat, n.lon});
    ranked.push_back(std::move(positions));
    truths.push_back(q.truth);
  }
  return geo::RecallAtN(ranked, truths, ns, radius_km);
}

std::vector<TuneBest> Tune(const RetrievalRun& run, geo::ScoreKind kind, const TuneGrid& grid,
                           const std::vector<double>& thresholds_km, bool show_progress) {
  std::vector<TuneBest> best(thresholds_km.size());
  for (size_t t = 0; t < thresholds_km.size(); ++t) best[t].threshold_km = thresholds_km[t];
  const int64_t combos = static_cast<int64_t>(grid.k.size() * grid.m.size() *
                                              (grid.sigma_deg.size() + grid.bandwidth_km.size()));
  ProgressReporter progress("tune", combos, "configs");
  auto consider = [&](const EstimatorReport& r, bool grid_kde) {
    for (size_t t = 0; t < thresholds_km.size(); ++t) {
      EstimatorReport& slot = grid_kde ? best[t].grid_kde : best[t].spherical_kde;
      if (slot.accuracy.empty() || r.accuracy[t] > slot.accuracy[t]) slot = r;
    }
    if (show_progress) progress.Add(1);
  };
  for (int k : grid.k) {
    for (double m : grid.m) {
      for (double sigma : grid.sigma_deg) {
        geo::EstimatorOptions o;
        o.kind = geo::EstimatorKind::kGridKde;
        o.weight_exponent_m = m;
        o.sigma_deg = sigma;
        consider(Evaluate(run, kind, k, o, thresholds_km), true);
      }
      for (double h : grid.bandwidth_km) {
        geo::EstimatorOptions o;
        o.kind = geo::EstimatorKind::kSphericalKde;
        o.weight_exponent_m = m;
        o.bandwidth_km = h;
        consider(Evaluate(run, kind, k, o, thresholds_km), false);
      }
    }
  }
  if (show_progress) progress.Finish();
  return best;
}

}  // namespace geoloc::eval
