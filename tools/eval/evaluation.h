// Offline evaluation of the whole stack against a bundle: every query photo is decoded, encoded
// and searched once (in batches, decoding in parallel), then each estimator runs on the stored
// neighbours, so estimators and their parameters are compared on exactly the same retrieval.
//
//   GEOLOC_ASSIGN_OR_RETURN(RetrievalRun run, RetrieveAll(*locator, queries, {.max_k = 100}));
//   GEOLOC_ASSIGN_OR_RETURN(EstimatorReport kde, Evaluate(run, kind, 60, options, thresholds));
//
// Metrics (core/geo/metrics.h): accuracy at distance thresholds (share of queries whose estimate
// lies within the threshold of the truth), median error, recall@N (a query counts at N when any
// of its top N database images lies within 25 m; seeds 003/004).
// Pure functions over their inputs; RetrieveAll uses its own threads.
#ifndef GEOLOC_TOOLS_EVAL_EVALUATION_H_
#define GEOLOC_TOOLS_EVAL_EVALUATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/engine/locator.h"
#include "core/geo/estimator_options.h"
#include "core/index/image_source.h"

namespace geoloc::eval {

struct RetrieveOptions {
  int max_k = 100;          // neighbours kept per query (>= every k evaluated, >= 20 for recall)
  int batch = 16;           // images per forward pass
  int decode_threads = 0;   // 0: hardware concurrency
  int max_queries = 0;      // 0: all
  bool show_progress = true;
};

struct RetrievedQuery {
  std::string source;
  geo::LatLon truth;
  std::vector<index::Neighbor> neighbors;  // best first, up to max_k
  // The bundle's cell classifier's leaf probabilities (empty when the bundle has no head).
  std::vector<float> classifier_probs;
};

struct RetrievalRun {
  std::vector<RetrievedQuery> queries;
  int64_t unreadable = 0;  // queries skipped because the image could not be decoded
  double seconds = 0;      // wall time of decoding + encoding + searching everything
  double images_per_second = 0;
  double classifier_seconds = 0;  // the classifier head's share of `seconds`
};

absl::StatusOr<RetrievalRun> RetrieveAll(const engine::Locator& locator,
                                         const index::SourceList& queries,
                                         const RetrieveOptions& options);

struct EstimatorReport {
  std::string label;               // e.g. "spherical_kde k=60 m=5 h=0.5km"
  // "retrieval" (the estimator's top peak), "classifier" (its top leaf cell; options unused) or
  // "fused" (the estimator's peaks re-ranked by the classifier).
  std::string method = "retrieval";
  geo::EstimatorOptions options;
  int k = 0;
  std::vector<double> thresholds_km;
  std::vector<double> accuracy;    // per threshold, in [0, 1]
  double median_error_km = 0;
  int failures = 0;                // queries the estimator rejected (counted as infinitely far)
  double ms_per_query = 0;         // estimator time only
};

// Runs one estimator with the first `k` neighbours of every query.
EstimatorReport Evaluate(const RetrievalRun& run, geo::ScoreKind kind, int k,
                         const geo::EstimatorOptions& options,
                         const std::vector<double>& thresholds_km);

// The same estimator, answering with the fused best as Locate does with a classifier
// (core/engine/fusion.h): its first `max_peaks` peaks re-ranked by the classifier's probability
// of each peak's leaf cell. Needs RetrievedQuery::classifier_probs.
EstimatorReport EvaluateFused(const RetrievalRun& run, geo::ScoreKind kind, int k,
                              const geo::EstimatorOptions& options, int max_peaks,
                              const engine::BundleClassifier& classifier,
                              const std::vector<double>& thresholds_km);

// The classifier alone: the most probable leaf cell's centre.
EstimatorReport EvaluateClassifier(const RetrievalRun& run,
                                   const engine::BundleClassifier& classifier,
                                   const std::vector<double>& thresholds_km);

// recall@N for each N (within radius_km of the query's truth).
std::vector<double> RecallAtN(const RetrievalRun& run, const std::vector<int>& ns,
                              double radius_km = 0.025);

// The seed's grid search (thesis section on parameter tuning) extended with our bandwidth in km:
// every combination of k x m x (sigma for grid KDE | bandwidth for spherical KDE), and for each
// threshold the combination with the best accuracy (ties: the first in grid order).
struct TuneGrid {
  std::vector<int> k = {10, 20, 30, 40, 50, 60, 80, 100};
  std::vector<double> m = {2, 5, 8, 10};
  std::vector<double> sigma_deg = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01};
  std::vector<double> bandwidth_km = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 25};
};

struct TuneBest {
  double threshold_km = 0;
  EstimatorReport grid_kde;       // best grid KDE for this threshold
  EstimatorReport spherical_kde;  // best spherical KDE for this threshold
};

std::vector<TuneBest> Tune(const RetrievalRun& run, geo::ScoreKind kind, const TuneGrid& grid,
                           const std::vector<double>& thresholds_km, bool show_progress);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_EVALUATION_H_
