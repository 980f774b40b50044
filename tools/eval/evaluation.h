// Offline evaluation of the whole stack against a bundle: every query photo is decoded, encoded
// and searched once (in batches, decoding in parallel), then each estimator runs on the stored
// neighbours, so estimators and their parameters are compared on exactly the same retrieval. The
// retrieval can be saved and reloaded (retrieval_file.h), so a query set is encoded once however
// often it is evaluated.
//
//   GEOLOC_ASSIGN_OR_RETURN(RetrievalRun run, RetrieveAll(*locator, queries, {.max_k = 100}));
//   EstimatorReport kde = Evaluate(run, 60, options, thresholds);
//
// Metrics (core/geo/metrics.h) are over the localizable queries only: distractors (a query list's
// localizable column says 0) count in DistractorSeparation, never in accuracy or recall.
// Accuracy at distance thresholds (share of queries whose estimate lies within the threshold of
// the truth, inclusive), median error, recall@N (a query counts at N when any of its top N
// database images lies within 25 m; seeds 003/004).
// Pure functions over their inputs; RetrieveAll and Tune use their own threads.
#ifndef GEOLOC_TOOLS_EVAL_EVALUATION_H_
#define GEOLOC_TOOLS_EVAL_EVALUATION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/engine/bundle_classifier.h"
#include "core/engine/locator.h"
#include "core/geo/estimator_options.h"
#include "core/geo/lat_lon.h"
#include "core/geo/neighbor_weights.h"
#include "core/index/image_source.h"

namespace geoloc::eval {

// A query list with what evaluation needs beyond path, lat and lon.
struct QueryList {
  index::SourceList sources;
  std::vector<bool> localizable;   // per entry; false for distractors
  std::vector<std::string> place;  // per entry; "" when the list has no place (or group) column
  std::string split;               // the split column's value when every row agrees, else ""
};

// A CSV of path,lat,lon[,...] (index::ReadCsvSource) plus its optional columns `localizable`
// (0 or 1; default 1), `place` (or `group`) and `split`. INVALID_ARGUMENT naming the line for a
// localizable value other than 0 or 1.
absl::StatusOr<QueryList> ReadQueryCsv(const std::string& csv_path, const std::string& image_root);
// Every entry localizable, no places, no split (VPR and EXIF folders).
QueryList AllLocalizable(index::SourceList sources);

struct RetrieveOptions {
  int max_k = 100;         // neighbours kept per query (>= every k evaluated, >= 20 for recall)
  int batch = 16;          // images per forward pass
  int decode_threads = 0;  // 0: hardware concurrency
  int max_queries = 0;     // 0: all
  bool show_progress = true;
};

struct Hit {  // one retrieved database photo
  int64_t id = 0;
  double score = 0;
  geo::LatLon pos;  // its coordinates as indexed
};

struct RetrievedQuery {
  std::string source;
  geo::LatLon truth;
  bool localizable = true;
  std::string place;
  std::vector<Hit> neighbors;  // best first, up to max_k
  std::vector<float> descriptor;
  // The bundle's cell classifier's leaf probabilities (empty when the bundle has no head).
  std::vector<float> classifier_probs;
};

struct RetrievalRun {
  std::vector<RetrievedQuery> queries;
  geo::ScoreKind score_kind = geo::ScoreKind::kSimilarity;
  std::string model;            // name@fingerprint
  std::string model_info_json;  // to check other classifier heads against
  std::string bundle;           // the bundle's version
  std::string source;           // the query list's description
  std::string split;            // QueryList::split
  int64_t unreadable = 0;       // queries skipped because the image could not be decoded
  double seconds = 0;           // wall time of decoding + encoding + searching everything
  double images_per_second = 0;
  double classifier_seconds = 0;  // the classifier head's share of `seconds`
};

absl::StatusOr<RetrievalRun> RetrieveAll(const engine::Locator& locator, const QueryList& queries,
                                         const RetrieveOptions& options);

// The cells of a classifier, as evaluation needs them (an interface so that tests can hand-make
// them).
class LeafCells {
 public:
  virtual ~LeafCells() = default;
  virtual int num_classes() const = 0;
  virtual geo::LatLon LeafCentre(int leaf) const = 0;
  // The leaf holding `point`, or -1 when no kept leaf does.
  virtual int LeafClassAt(geo::LatLon point) const = 0;
};

// A bundle classifier's cells. The classifier must outlive the result.
std::unique_ptr<LeafCells> CellsOf(const engine::BundleClassifier& classifier);

// One head's leaf probabilities for every query of a run.
struct ClassifierOutputs {
  std::string name;                 // e.g. "hmc"
  const LeafCells* cells = nullptr;  // not owned
  std::vector<std::vector<float>> probs;  // per query of the run, num_classes() each
  double ms_per_query = 0;          // the head's forward pass
};

// The probabilities RetrieveAll stored (the bundle's own head). FAILED_PRECONDITION when the run
// has none or their size is not cells.num_classes().
absl::StatusOr<ClassifierOutputs> StoredOutputs(const RetrievalRun& run, const LeafCells& cells,
                                                std::string name);
// Another head applied to the run's stored descriptors.
absl::StatusOr<ClassifierOutputs> PredictOutputs(const RetrievalRun& run,
                                                 const engine::BundleClassifier& classifier,
                                                 const LeafCells& cells, std::string name);

struct ReliabilityBin {
  double lo = 0, hi = 0;
  int64_t count = 0;
  double mean_confidence = 0, accuracy = 0;
};

// The classifier's own figures (seed 001): over the localizable queries.
struct CellMetrics {
  int num_classes = 0;
  double cell_accuracy = 0;  // top-1 leaf == the leaf holding the truth (no such leaf: wrong)
  double ior = 0;            // cell_accuracy x num_classes
  double ece = 0;            // 20 bins
  double nll = 0;            // over the covered queries
  double covered = 0;        // share of queries whose truth lies in a kept leaf
  double mean_confidence = 0;
  std::vector<ReliabilityBin> reliability;  // 20 equal-width bins of the top-1 probability
};

struct EstimatorReport {
  std::string label;  // e.g. "spherical_kde k=60 m=5 h=0.5km"
  // "retrieval" (the estimator's top peak), "classifier" (its top leaf cell; options unused) or
  // "fused" (the estimator's peaks re-ranked by the classifier).
  std::string method = "retrieval";
  std::string classifier;  // classifier and fused rows: ClassifierOutputs::name
  geo::EstimatorOptions options;
  int k = 0;
  std::vector<double> thresholds_km;
  std::vector<double> accuracy;  // per threshold, in [0, 1]
  double median_error_km = 0;
  int failures = 0;           // queries the estimator rejected (counted as infinitely far)
  double ms_per_query = 0;    // estimator time only
  CellMetrics cell_metrics;   // classifier rows only
  std::vector<double> errors_km;  // per query of the run (distractors: NaN)
};

// Runs one estimator with the first `k` neighbours of every localizable query.
EstimatorReport Evaluate(const RetrievalRun& run, int k, const geo::EstimatorOptions& options,
                         const std::vector<double>& thresholds_km);

// The same estimator, answering with the fused best as Locate does with a classifier
// (core/engine/fusion.h): its first `max_peaks` peaks re-ranked by the classifier's probability
// of each peak's leaf cell.
EstimatorReport EvaluateFused(const RetrievalRun& run, int k, const geo::EstimatorOptions& options,
                              int max_peaks, const ClassifierOutputs& classifier,
                              const std::vector<double>& thresholds_km);

// The classifier alone: the most probable leaf cell's centre, plus CellMetrics.
EstimatorReport EvaluateClassifier(const RetrievalRun& run, const ClassifierOutputs& classifier,
                                   const std::vector<double>& thresholds_km);

// recall@N for each N over the localizable queries (a neighbour within radius_km of the truth).
std::vector<double> RecallAtN(const RetrievalRun& run, const std::vector<int>& ns,
                              double radius_km = 0.025);

// The 1-based rank of the first neighbour within radius_km of the truth, 0 when none is.
int FirstHitRank(const RetrievedQuery& query, double radius_km = 0.025);

struct DistractorSeparation {
  int64_t distractors = 0;
  double auroc = 0;  // NaN without distractors or without localizable queries
  double median_top1_localizable = 0, median_top1_distractor = 0;
};
// Top-1 scores (similarities; for distance bundles the negated distance) of localizable queries
// against distractors.
DistractorSeparation SeparateDistractors(const RetrievalRun& run);

// What the neighbours offer the estimators, over the localizable queries (see eval.proto).
struct RetrievalStats {
  int k = 0;
  double median_top1_score = 0, median_kth_score = 0, median_weight_ratio = 0;
  double top1_within_100m = 0, any_within_100m = 0, mean_within_100m = 0, mean_within_1km = 0;
  double mean_within_25km = 0;
};
RetrievalStats ComputeRetrievalStats(const RetrievalRun& run, int k);

// The seed's grid search (thesis section on parameter tuning), extended to every estimator and
// to our bandwidth in km: for each estimator, every combination of its parameters below, and for
// each threshold the combination with the best accuracy (ties: the first in grid order, which is
// k, then m, then sigma or h, each in the order listed).
//   | estimator      | parameters                  |
//   | nearest        | none (one configuration)    |
//   | mean           | k                           |
//   | weighted_mean  | k x m                       |
//   | grid_kde       | k x m x sigma_deg           |
//   | spherical_kde  | k x m x bandwidth_km        |
struct TuneGrid {
  std::vector<geo::EstimatorKind> estimators = {
      geo::EstimatorKind::kNearest, geo::EstimatorKind::kMean, geo::EstimatorKind::kWeightedMean,
      geo::EstimatorKind::kGridKde, geo::EstimatorKind::kSphericalKde};
  std::vector<int> k = {10, 20, 30, 40, 50, 60, 80, 100};
  std::vector<double> m = {2, 5, 8, 10};
  std::vector<double> sigma_deg = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01};
  std::vector<double> bandwidth_km = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 25};
};

// The grid's configurations, in grid order.
std::vector<std::pair<int, geo::EstimatorOptions>> TuneConfigurations(const TuneGrid& grid);

struct TuneBest {
  double threshold_km = 0;
  std::vector<EstimatorReport> best;  // one per grid.estimators entry, in that order
};

// threads: 0 = hardware concurrency (never changes the result).
std::vector<TuneBest> Tune(const RetrievalRun& run, const TuneGrid& grid,
                           const std::vector<double>& thresholds_km, bool show_progress,
                           int threads = 0);

// "100m", "1km", "2500km": thresholds under 1 km in metres.
std::string ThresholdName(double km);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_EVALUATION_H_
