// geoloc-eval's metrics on hand-made query sets whose answers are known in advance: accuracy at
// thresholds, median error, recall@N, distractors kept apart, the classifier's cell accuracy,
// IoR, ECE and NLL, fusion, the tuned grid point, and the stored-retrieval file.
#include "tools/eval/evaluation.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tools/eval/eval_files.h"

namespace geoloc::eval {
namespace {
namespace fs = std::filesystem;

constexpr double kEarthKm = 6371.0088;
constexpr double kRad = 3.14159265358979323846 / 180.0;

// Independent of core/geo: what the evaluation must agree with.
double TestHaversineKm(geo::LatLon a, geo::LatLon b) {
  const double dlat = (b.lat - a.lat) * kRad, dlon = (b.lon - a.lon) * kRad;
  const double h = std::pow(std::sin(dlat / 2), 2) +
                   std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::pow(std::sin(dlon / 2), 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(h)));
}

// `km` due north of `p` (exact on the sphere).
geo::LatLon North(geo::LatLon p, double km) { return {p.lat + km / kEarthKm / kRad, p.lon}; }

RetrievedQuery Query(const std::string& source, geo::LatLon truth,
                     const std::vector<std::pair<geo::LatLon, double>>& hits,
                     bool localizable = true) {
  RetrievedQuery q;
  q.source = source;
  q.truth = truth;
  q.localizable = localizable;
  int64_t id = 0;
  for (const auto& [pos, score] : hits) q.neighbors.push_back(Hit{id++, score, pos});
  return q;
}

// Four localizable queries whose best neighbour lies 50 m, 5 km, 300 km and 3000 km from the
// truth, and whose first neighbour within 25 m is at rank 1, 3, 7 and none; plus a distractor
// whose best neighbour lies exactly on its position (it must count nowhere).
RetrievalRun FourQueries() {
  RetrievalRun run;
  run.split = "val";
  const double distances[] = {0.05, 5, 300, 3000};
  const int hit_rank[] = {1, 3, 7, 0};
  for (int i = 0; i < 4; ++i) {
    const geo::LatLon truth{10.0 * i, 20.0};
    std::vector<std::pair<geo::LatLon, double>> hits;
    for (int r = 1; r <= 10; ++r) {
      geo::LatLon pos = North(truth, 5000);  // far away by default
      if (r == 1) pos = North(truth, distances[i]);
      if (r == hit_rank[i]) pos = North(truth, r == 1 ? 0.01 : 0.02);
      hits.push_back({pos, 0.9 - 0.01 * r});
    }
    // Rank 1 must be both the 50 m neighbour (accuracy) and within 25 m (recall) for query 0:
    // 10 m north is within 100 m and within 25 m.
    run.queries.push_back(Query(absl::StrCat("q", i), truth, hits));
  }
  run.queries.push_back(Query("distractor", {50, 50}, {{{50, 50}, 0.99}}, /*localizable=*/false));
  return run;
}

const std::vector<double> kThresholds = {0.1, 1, 25, 200, 750, 2500};

TEST(EvaluateTest, NearestNeighbourAccuracyAndMedianOverLocalizableQueriesOnly) {
  const RetrievalRun run = FourQueries();
  geo::EstimatorOptions o;
  o.kind = geo::EstimatorKind::kNearest;
  const EstimatorReport r = Evaluate(run, 10, o, kThresholds);
  // Errors: 0.01 km (query 0's rank-1 neighbour is its 10 m hit), 5, 300, 3000 km.
  ASSERT_EQ(r.accuracy.size(), kThresholds.size());
  EXPECT_DOUBLE_EQ(r.accuracy[0], 0.25);  // 100 m
  EXPECT_DOUBLE_EQ(r.accuracy[1], 0.25);  // 1 km
  EXPECT_DOUBLE_EQ(r.accuracy[2], 0.5);   // 25 km
  EXPECT_DOUBLE_EQ(r.accuracy[3], 0.5);   // 200 km
  EXPECT_DOUBLE_EQ(r.accuracy[4], 0.75);  // 750 km
  EXPECT_DOUBLE_EQ(r.accuracy[5], 0.75);  // 2500 km
  EXPECT_NEAR(r.median_error_km, (5 + 300) / 2.0, 1e-6);
  EXPECT_EQ(r.failures, 0);
  ASSERT_EQ(r.errors_km.size(), 5u);
  EXPECT_NEAR(r.errors_km[3], 3000, 1e-6);
  EXPECT_TRUE(std::isnan(r.errors_km[4])) << "the distractor is not evaluated";
}

TEST(EvaluateTest, MeanOfTwoSymmetricNeighboursIsTheTruth) {
  RetrievalRun run;
  const geo::LatLon truth{45, 7};
  run.queries.push_back(
      Query("q", truth, {{North(truth, 2), 0.9}, {North(truth, -2), 0.8}, {{0, 0}, 0.7}}));
  geo::EstimatorOptions o;
  o.kind = geo::EstimatorKind::kMean;
  EXPECT_NEAR(Evaluate(run, 2, o, {0.001}).median_error_km, 0.0, 1e-6);
  // With the third neighbour, thousands of km away, the mean moves off by hundreds of km.
  EXPECT_GT(Evaluate(run, 3, o, {0.001}).median_error_km, 500);
}

TEST(RecallTest, RecallAtNCountsTheFirstNeighbourWithin25Metres) {
  const RetrievalRun run = FourQueries();
  const std::vector<double> recall = RecallAtN(run, {1, 5, 10, 20});
  EXPECT_DOUBLE_EQ(recall[0], 0.25);
  EXPECT_DOUBLE_EQ(recall[1], 0.5);
  EXPECT_DOUBLE_EQ(recall[2], 0.75);
  EXPECT_DOUBLE_EQ(recall[3], 0.75);
  EXPECT_EQ(FirstHitRank(run.queries[1]), 3);
  EXPECT_EQ(FirstHitRank(run.queries[3]), 0);
  EXPECT_EQ(FirstHitRank(run.queries[4]), 1);  // the distractor's hit exists, but is not counted
}

TEST(RecallTest, RetrievalStatsCountTheNeighboursThatAgreeWithTheTruth) {
  const RetrievalStats s = ComputeRetrievalStats(FourQueries(), 10);
  EXPECT_EQ(s.k, 10);
  EXPECT_DOUBLE_EQ(s.top1_within_100m, 0.25);  // only query 0's best neighbour
  EXPECT_DOUBLE_EQ(s.any_within_100m, 0.75);   // queries 0, 1, 2 have one hit each
  EXPECT_DOUBLE_EQ(s.mean_within_100m, 0.75);
  EXPECT_DOUBLE_EQ(s.mean_within_1km, 0.75);
  // Within 25 km: each query's hit, plus query 1's best neighbour (5 km off).
  EXPECT_DOUBLE_EQ(s.mean_within_25km, 1.0);
  EXPECT_NEAR(s.median_top1_score, 0.89, 1e-12);
  EXPECT_NEAR(s.median_kth_score, 0.80, 1e-12);
  EXPECT_NEAR(s.median_weight_ratio, std::pow(1.89 / 1.80, 5), 1e-9);
}

TEST(DistractorTest, AurocOfTheTopScore) {
  RetrievalRun run;
  for (double s : {0.9, 0.8, 0.7}) run.queries.push_back(Query("q", {0, 0}, {{{0, 0}, s}}));
  for (double s : {0.75, 0.6}) run.queries.push_back(Query("d", {0, 0}, {{{0, 0}, s}}, false));
  const DistractorSeparation d = SeparateDistractors(run);
  EXPECT_EQ(d.distractors, 2);
  // Localizable above distractor in 5 of the 6 pairs (0.7 < 0.75).
  EXPECT_DOUBLE_EQ(d.auroc, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(d.median_top1_localizable, 0.8);
  EXPECT_DOUBLE_EQ(d.median_top1_distractor, 0.675);
  // Distance bundles: smaller is better, so the same numbers as distances flip the AUROC.
  run.score_kind = geo::ScoreKind::kDistance;
  EXPECT_DOUBLE_EQ(SeparateDistractors(run).auroc, 1.0 / 6.0);
}

// Three leaves: squares of 2 degrees around (0, 0), (10, 0) and (20, 0).
class ThreeLeaves : public LeafCells {
 public:
  int num_classes() const override { return 3; }
  geo::LatLon LeafCentre(int leaf) const override { return {10.0 * leaf, 0}; }
  int LeafClassAt(geo::LatLon p) const override {
    for (int leaf = 0; leaf < 3; ++leaf) {
      if (std::fabs(p.lat - 10.0 * leaf) <= 1 && std::fabs(p.lon) <= 1) return leaf;
    }
    return -1;
  }
};

TEST(ClassifierTest, CellAccuracyIorEceAndNllKnownInAdvance) {
  RetrievalRun run;
  run.queries.push_back(Query("a", {0, 0}, {}));       // leaf 0
  run.queries.push_back(Query("b", {10, 0.5}, {}));    // leaf 1
  run.queries.push_back(Query("c", {20, 0}, {}));      // leaf 2
  run.queries.push_back(Query("d", {50, 50}, {}));     // no leaf
  run.queries.push_back(Query("x", {0, 0}, {}, false));  // distractor: never counted
  const ThreeLeaves leaves;
  ClassifierOutputs out;
  out.name = "hand";
  out.cells = &leaves;
  out.probs = {{0.72f, 0.18f, 0.10f},   // right, confidence 0.72
               {0.61f, 0.29f, 0.10f},   // wrong (leaf 0 for a leaf-1 truth), 0.61
               {0.07f, 0.10f, 0.83f},   // right, 0.83
               {0.20f, 0.52f, 0.28f},   // wrong (truth in no leaf), 0.52
               {0.0f, 0.0f, 1.0f}};
  const EstimatorReport r = EvaluateClassifier(run, out, kThresholds);
  const CellMetrics& m = r.cell_metrics;
  EXPECT_EQ(m.num_classes, 3);
  EXPECT_DOUBLE_EQ(m.cell_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.ior, 1.5);
  EXPECT_DOUBLE_EQ(m.covered, 0.75);
  EXPECT_NEAR(m.nll, -(std::log(0.72) + std::log(0.29) + std::log(0.83)) / 3, 1e-6);
  // One query per bin: |1 - .72| + |0 - .61| + |1 - .83| + |0 - .52|, over 4.
  EXPECT_NEAR(m.ece, (0.28 + 0.61 + 0.17 + 0.52) / 4, 1e-6);
  EXPECT_NEAR(m.mean_confidence, (0.72 + 0.61 + 0.83 + 0.52) / 4, 1e-6);
  ASSERT_EQ(m.reliability.size(), 20u);
  EXPECT_EQ(m.reliability[14].count, 1);  // 0.72 in [0.70, 0.75)
  EXPECT_DOUBLE_EQ(m.reliability[14].accuracy, 1.0);
  EXPECT_EQ(m.reliability[12].count, 1);  // 0.61
  EXPECT_DOUBLE_EQ(m.reliability[12].accuracy, 0.0);
  // Distances: the top leaf's centre. a and c exact, b answered with leaf 0's centre (1,113 km
  // off), d with leaf 1's (about 6,000 km off).
  EXPECT_DOUBLE_EQ(r.accuracy[0], 0.5);   // 100 m
  EXPECT_DOUBLE_EQ(r.accuracy[3], 0.5);   // 200 km
  EXPECT_DOUBLE_EQ(r.accuracy[4], 0.5);   // 750 km
  EXPECT_DOUBLE_EQ(r.accuracy[5], 0.75);  // 2500 km
  EXPECT_NEAR(r.errors_km[1], TestHaversineKm({0, 0}, {10, 0.5}), 1e-6);
  EXPECT_NEAR(r.errors_km[3], TestHaversineKm({10, 0}, {50, 50}), 1e-6);
  EXPECT_EQ(r.method, "classifier");
}

TEST(ClassifierTest, FusionPicksThePeakInTheCellTheClassifierFavours) {
  // Two agreeing neighbours in leaf 1 (the spherical KDE's top peak) and one at the truth in
  // leaf 0, which the classifier is sure of.
  RetrievalRun run;
  const geo::LatLon truth{0, 0};
  run.queries.push_back(Query("q", truth,
                              {{{10, 0}, 0.9}, {North({10, 0}, 0.005), 0.9}, {truth, 0.9}}));
  const ThreeLeaves leaves;
  ClassifierOutputs out;
  out.name = "hand";
  out.cells = &leaves;
  out.probs = {{0.9f, 0.05f, 0.05f}};
  geo::EstimatorOptions kde;
  kde.kind = geo::EstimatorKind::kSphericalKde;
  kde.bandwidth_km = 0.01;
  kde.weight_exponent_m = 2;
  const EstimatorReport retrieval = Evaluate(run, 3, kde, {1});
  EXPECT_NEAR(retrieval.errors_km[0], 1112, 2) << "retrieval alone answers the 2-photo peak";
  // Fused: 2/3 (0.05 + 1/3) = 0.26 for the pair against 1/3 (0.9 + 1/3) = 0.41 for the truth.
  const EstimatorReport fused = EvaluateFused(run, 3, kde, 5, out, {1});
  EXPECT_LT(fused.errors_km[0], 0.001);
  EXPECT_DOUBLE_EQ(fused.accuracy[0], 1.0);
  EXPECT_EQ(fused.method, "fused");
  EXPECT_EQ(fused.classifier, "hand");
  // Allowed only the top peak, fusion has nothing to choose from.
  EXPECT_NEAR(EvaluateFused(run, 3, kde, 1, out, {1}).errors_km[0], 1112, 2);
}

// An outlier 50 km away scores best; two neighbours within 5 m of the truth agree.
RetrievalRun OutlierAndPair(const std::string& split) {
  RetrievalRun run;
  run.split = split;
  for (int i = 0; i < 3; ++i) {
    const geo::LatLon truth{40.0 + i, -3.0};
    run.queries.push_back(Query(absl::StrCat("q", i), truth,
                                {{North(truth, 50), 0.90},
                                 {North(truth, 0.005), 0.89},
                                 {North(truth, -0.005), 0.88}}));
  }
  return run;
}

TEST(TuneTest, TheBestGridPointIsTheOneThatPoolsTheAgreeingPair) {
  const RetrievalRun run = OutlierAndPair("val");
  TuneGrid grid;
  grid.estimators = {geo::EstimatorKind::kNearest, geo::EstimatorKind::kSphericalKde};
  grid.k = {1, 3};
  grid.m = {2};
  grid.bandwidth_km = {0.01, 1000};
  EXPECT_EQ(TuneConfigurations(grid).size(), 1u + 2 * 1 * 2);
  const std::vector<TuneBest> best = Tune(run, grid, {1, 100, 20000}, false, 2);
  ASSERT_EQ(best.size(), 3u);
  // 1 km: only k = 3 with h = 10 m finds the pair; nearest answers the outlier.
  const EstimatorReport& kde = best[0].best[1];
  EXPECT_EQ(kde.k, 3);
  EXPECT_DOUBLE_EQ(kde.options.bandwidth_km, 0.01);
  EXPECT_DOUBLE_EQ(kde.accuracy[0], 1.0);
  EXPECT_DOUBLE_EQ(best[0].best[0].accuracy[0], 0.0);
  EXPECT_EQ(best[0].best[0].options.kind, geo::EstimatorKind::kNearest);
  // 20000 km: every configuration is right; ties go to the first in grid order (k = 1, h = 10 m).
  EXPECT_EQ(best[2].best[1].k, 1);
  EXPECT_DOUBLE_EQ(best[2].best[1].options.bandwidth_km, 0.01);
  // The default grid: nearest 1, mean 8, weighted mean 32, grid KDE 256, spherical KDE 320.
  EXPECT_EQ(TuneConfigurations(TuneGrid()).size(), 617u);
}

TEST(EvalFilesTest, StoredRetrievalRoundTripsAndBadFilesAreRefused) {
  RetrievalRun run = FourQueries();
  run.model = "m@1";
  run.bundle = "b-1";
  run.source = "csv:with \"quote\".csv";
  run.queries[0].descriptor = {0.5f, -0.5f};
  run.queries[0].classifier_probs = {0.25f, 0.75f};
  run.queries[0].place = "17";
  const geoloc::testing::ScratchDir scratch("eval_files");
  const fs::path dir = scratch.path();
  const std::string path = (dir / "run.retrieval").string();
  ASSERT_TRUE(SaveRetrieval(run, path).ok());
  absl::StatusOr<RetrievalRun> back = LoadRetrieval(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->source, run.source);
  EXPECT_EQ(back->split, "val");
  ASSERT_EQ(back->queries.size(), run.queries.size());
  for (size_t i = 0; i < run.queries.size(); ++i) {
    EXPECT_EQ(back->queries[i].source, run.queries[i].source);
    EXPECT_EQ(back->queries[i].localizable, run.queries[i].localizable);
    ASSERT_EQ(back->queries[i].neighbors.size(), run.queries[i].neighbors.size());
    EXPECT_EQ(back->queries[i].neighbors[0].pos.lat, run.queries[i].neighbors[0].pos.lat);
  }
  EXPECT_EQ(back->queries[0].descriptor, run.queries[0].descriptor);
  EXPECT_EQ(back->queries[0].classifier_probs, run.queries[0].classifier_probs);
  EXPECT_EQ(back->queries[0].place, "17");
  // The same evaluation from the file.
  geo::EstimatorOptions o;
  o.kind = geo::EstimatorKind::kNearest;
  EXPECT_EQ(Evaluate(*back, 10, o, kThresholds).accuracy, Evaluate(run, 10, o, kThresholds).accuracy);

  std::ofstream(dir / "junk") << "not a protobuf \xff\xff\xff";
  EXPECT_EQ(LoadRetrieval((dir / "junk").string()).status().code(),
            absl::StatusCode::kInvalidArgument);
  files::StoredRun newer = ToStoredRun(run);
  newer.set_format_version(kStoredRunFormatVersion + 1);
  EXPECT_EQ(FromStoredRun(newer).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace geoloc::eval
