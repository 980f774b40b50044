// The geoloc-eval command: tune on one split and run on another from stored retrievals whose
// answers are known in advance, the refusals that keep the test split untouched, JSON that a real
// parser reads back (paths with quotes included), the per-query CSV, and one retrieval through a
// real model and bundle; quant-check accepting an int8 model against its fp32 original and
// refusing another model's reference.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/json_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
#include "tools/eval/eval.pb.h"
#include "tools/eval/eval_files.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr double kEarthKm = 6371.0088;
constexpr double kRad = 3.14159265358979323846 / 180.0;

geo::LatLon North(geo::LatLon p, double km) { return {p.lat + km / kEarthKm / kRad, p.lon}; }

// Three queries: an outlier 50 km north scores best, two neighbours within 5 m of the truth agree.
// Whatever the bandwidth list, the first configuration (grid order) that pools the pair is k = 10,
// m = 2, h = 10 m; 1-NN answers the outlier.
RetrievalRun OutlierAndPair(const std::string& split, const std::string& source, double lat) {
  RetrievalRun run;
  run.split = split;
  run.source = source;
  run.model = "hand@0";
  run.bundle = "hand-0";
  for (int i = 0; i < 3; ++i) {
    RetrievedQuery q;
    q.source = absl::StrCat("q", i, ".jpg");
    q.place = absl::StrCat(i);
    q.truth = {lat + i, 12.0};
    q.neighbors = {{0, 0.90, North(q.truth, 50)},
                   {1, 0.89, North(q.truth, 0.005)},
                   {2, 0.88, North(q.truth, -0.005)}};
    run.queries.push_back(q);
  }
  RetrievedQuery distractor;
  distractor.source = "indoor.jpg";
  distractor.localizable = false;
  distractor.truth = {lat, 12.0};
  distractor.neighbors = {{3, 0.5, distractor.truth}};
  run.queries.push_back(distractor);
  return run;
}

using geoloc::testing::CommandResult;
using geoloc::testing::RunCommand;
using RunResult = CommandResult;  // exit_code, out (stdout), err (stderr)

std::string Quote(const std::string& arg) { return geoloc::testing::ShellQuote(arg); }

RunResult RunEval(const std::vector<std::string>& args) {
  std::string command = GEOLOC_EVAL_BINARY;
  for (const std::string& a : args) absl::StrAppend(&command, " ", Quote(a));
  return RunCommand(command);
}

class EvalCliTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_); }
  geoloc::testing::ScratchDir scratch_{"eval_cli"};
  // A directory whose name has a quote and a backslash: every path printed must stay valid JSON.
  const fs::path dir_{scratch_.file("a\"b\\c")};
};

TEST_F(EvalCliTest, TuneOnValidationThenRunOnTestGivesTheKnownAnswers) {
  const std::string val = (dir_ / "val.retrieval").string();
  const std::string test = (dir_ / "test.retrieval").string();
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("val", "csv:\"val\\\".csv", 40), val).ok());
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("test", "csv:te\"st.csv", 60), test).ok());

  const RunResult tune = RunEval({"tune", "--retrieval", val, "--estimators",
                                  "nearest,spherical_kde", "--thresholds_km", "1,100", "--json"});
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  files::TuneReport tuned;
  ASSERT_TRUE(ParseJsonProto(tune.out, &tuned).ok()) << tune.out;
  EXPECT_EQ(tuned.split(), "val");
  EXPECT_EQ(tuned.source(), "csv:\"val\\\".csv");
  EXPECT_EQ(tuned.queries(), 3);
  EXPECT_EQ(tuned.configurations(), 1 + 320);
  ASSERT_EQ(tuned.thresholds_size(), 2);
  const files::EstimatorRow& nearest = tuned.thresholds(0).best(0);
  const files::EstimatorRow& kde = tuned.thresholds(0).best(1);
  EXPECT_EQ(nearest.estimator(), "nearest");
  EXPECT_DOUBLE_EQ(nearest.accuracy().at("1km"), 0.0);
  EXPECT_EQ(kde.estimator(), "spherical_kde");
  EXPECT_EQ(kde.k(), 10);
  EXPECT_DOUBLE_EQ(kde.weight_exponent(), 2);
  EXPECT_DOUBLE_EQ(kde.bandwidth_km(), 0.01);
  EXPECT_DOUBLE_EQ(kde.accuracy().at("1km"), 1.0);
  EXPECT_EQ(kde.tuned_for(), "1km");
  const std::string tuned_path = (dir_ / "tuned.json").string();
  std::ofstream(tuned_path) << tune.out;

  const std::string queries_csv = (dir_ / "queries.csv").string();
  const RunResult run = RunEval(
      {"run", "--retrieval", test, "--tuned", tuned_path, "--tuned_threshold_km", "1",
       "--estimators", "nearest,spherical_kde", "--thresholds_km", "1,100", "--json",
       "--queries_out", queries_csv});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  files::RunReport report;
  ASSERT_TRUE(ParseJsonProto(run.out, &report).ok()) << run.out;
  EXPECT_EQ(report.source(), "csv:te\"st.csv");
  EXPECT_EQ(report.split(), "test");
  EXPECT_EQ(report.tuned_on(), "val");
  EXPECT_EQ(report.queries(), 3);
  EXPECT_EQ(report.distractors(), 1);
  // The first neighbour within 25 m is at rank 2 for every query.
  EXPECT_DOUBLE_EQ(report.recall_at().at("1"), 0.0);
  EXPECT_DOUBLE_EQ(report.recall_at().at("5"), 1.0);
  ASSERT_EQ(report.estimators_size(), 2);
  EXPECT_EQ(report.estimators(0).label(), "nearest k=1");
  EXPECT_DOUBLE_EQ(report.estimators(0).accuracy().at("1km"), 0.0);
  EXPECT_DOUBLE_EQ(report.estimators(0).accuracy().at("100km"), 1.0);
  EXPECT_NEAR(report.estimators(0).median_error_km(), 50, 1e-6);
  EXPECT_EQ(report.estimators(1).label(), "spherical_kde k=10 m=2 h=0.01km");
  EXPECT_DOUBLE_EQ(report.estimators(1).accuracy().at("1km"), 1.0);
  EXPECT_EQ(report.estimators(1).tuned_for(), "1km");
  // Each threshold's own tuned configuration: 2 thresholds x 2 estimators.
  ASSERT_EQ(report.per_threshold_size(), 4);
  EXPECT_EQ(report.per_threshold(1).tuned_for(), "1km");
  EXPECT_EQ(report.per_threshold(3).tuned_for(), "100km");
  EXPECT_EQ(report.per_threshold(3).k(), 10);
  EXPECT_DOUBLE_EQ(report.distractor_separation().auroc(), 1.0);  // 0.9 > 0.5 for all

  std::ifstream in(queries_csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "source,place,localizable,top1_score,first_hit_rank,\"nearest k=1\","
            "\"spherical_kde k=10 m=2 h=0.01km\"");
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::string> first = absl::StrSplit(rows[0], ',');
  EXPECT_EQ(first[4], "2");
  EXPECT_EQ(first[2], "1");
  EXPECT_THAT(rows[3], HasSubstr("\"indoor.jpg\",\"\",0,"));
}

TEST_F(EvalCliTest, TheTestSplitIsNeverTunedOnNorReportedWithItsOwnTuning) {
  const std::string val = (dir_ / "val.retrieval").string();
  const std::string test = (dir_ / "test.retrieval").string();
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("val", "csv:val.csv", 40), val).ok());
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("test", "csv:test.csv", 60), test).ok());
  const RunResult refused = RunEval({"tune", "--retrieval", test, "--json"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("refusing to tune"));
  EXPECT_TRUE(refused.out.empty());

  const RunResult tune =
      RunEval({"tune", "--retrieval", val, "--estimators", "nearest", "--json"});
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  const std::string tuned_path = (dir_ / "tuned.json").string();
  std::ofstream(tuned_path) << tune.out;
  const RunResult same_split = RunEval(
      {"run", "--retrieval", val, "--tuned", tuned_path, "--estimators", "nearest"});
  EXPECT_EQ(same_split.exit_code, 2);
  EXPECT_THAT(same_split.err, HasSubstr("tuned on the split 'val'"));
  // A run needs exactly one source of queries.
  const RunResult both = RunEval({"run", "--retrieval", val, "--bundle", "b"});
  EXPECT_EQ(both.exit_code, 2);
  const RunResult bad = RunEval({"run", "--retrieval", (dir_ / "missing").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("missing"));
}

// The incident flags are checked before any model loads: sizes outside [2, 16] for the incident
// calibration, dissent ratios outside [0, 1], are usage errors.
TEST_F(EvalCliTest, IncidentFlagsOutOfRangeAreUsageErrors) {
  const std::string val = (dir_ / "val.retrieval").string();
  const std::string calib = (dir_ / "calib.retrieval").string();
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("val", "csv:val.csv", 40), val).ok());
  ASSERT_TRUE(SaveRetrieval(OutlierAndPair("calib", "csv:calib.csv", 40), calib).ok());
  for (const char* sizes : {"1", "2,17", "two"}) {
    const RunResult r =
        RunEval({"calibrate", "--model", "m.pt", "--bundle", "b", "--fit_retrieval", val,
                 "--calibration_retrieval", calib, "--incident_calibration_sizes", sizes});
    EXPECT_EQ(r.exit_code, 2) << sizes;
    EXPECT_THAT(r.err, HasSubstr("--incident_calibration_sizes")) << sizes;
  }
  const RunResult draws = RunEval({"calibrate", "--model", "m.pt", "--bundle", "b",
                                   "--fit_retrieval", val, "--calibration_retrieval", calib,
                                   "--incident_calibration_sizes", "2", "--incident_draws", "0"});
  EXPECT_EQ(draws.exit_code, 2);
  EXPECT_THAT(draws.err, HasSubstr("--incident_draws"));
  for (const char* ratios : {"1.5", "-0.1", "x"}) {
    const RunResult r = RunEval({"incidents", "--model", "m.pt", "--bundle", "b", "--retrieval",
                                 val, "--dissent_ratios", ratios});
    EXPECT_EQ(r.exit_code, 2) << ratios;
    EXPECT_THAT(r.err, HasSubstr("--dissent_ratios")) << ratios;
  }
}

// Through a real model and bundle: the database photos, asked as queries, find themselves.
TEST_F(EvalCliTest, RetrieveThroughARealModelFindsDatabasePhotosThemselves) {
  const fs::path world = dir_ / "world";
  const std::string synth =
      absl::StrCat(GEOLOC_SYNTH_BINARY, " --preset fixed-tiny --image_width 96 --image_height 72",
                   " --out ", Quote(world.string()), " >/dev/null 2>&1");
  ASSERT_EQ(std::system(synth.c_str()), 0);
  const std::string bundle = (dir_ / "bundle").string();
  const std::string index = absl::StrCat(
      GEOLOC_INDEX_BINARY, " build --model ", Quote(GEOLOC_EVAL_TEST_MODEL), " --csv ",
      Quote((world / "database.csv").string()), " --output ", Quote(bundle),
      " --precision fp32 --log_level warning >/dev/null 2>&1");
  ASSERT_EQ(std::system(index.c_str()), 0);
  const std::string stored = (dir_ / "db.retrieval").string();
  const RunResult retrieve =
      RunEval({"retrieve", "--model", GEOLOC_EVAL_TEST_MODEL, "--bundle", bundle, "--csv",
               (world / "database.csv").string(), "--precision", "fp32", "--out", stored});
  ASSERT_EQ(retrieve.exit_code, 0) << retrieve.err;
  EXPECT_THAT(retrieve.out, HasSubstr("stored 64 queries (64 localizable"));
  const RunResult run = RunEval(
      {"run", "--retrieval", stored, "--estimators", "nearest", "--thresholds_km", "0.01", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  files::RunReport report;
  ASSERT_TRUE(ParseJsonProto(run.out, &report).ok()) << run.out;
  EXPECT_EQ(report.queries(), 64);
  EXPECT_DOUBLE_EQ(report.recall_at().at("1"), 1.0);
  EXPECT_DOUBLE_EQ(report.estimators(0).accuracy().at("10m"), 1.0);
  EXPECT_THAT(report.model(), HasSubstr("@"));
  EXPECT_EQ(report.split(), "database");

  // areas: a hard disc around each photo's place (offset within the disc) still holds the photo
  // itself, so the nearest neighbour stays exact; the same seed gives the same table.
  const std::vector<std::string> areas = {
      "areas",       "--model",      GEOLOC_EVAL_TEST_MODEL, "--bundle", bundle, "--retrieval",
      stored,        "--estimators", "nearest",              "--area_radii_km", "10",
      "--precision", "fp32",         "--progress=false"};
  const RunResult first = RunEval(areas);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("| - | none | 64 | 0 | 1.000 | 1.000 | 0.00 |"));
  EXPECT_THAT(first.out, HasSubstr("| 10 km | hard | 64 | 0 | 1.000 | 1.000 | 0.00 |"));
  EXPECT_THAT(first.out, HasSubstr("| 10 km | disc centre | 64 | 0 |"));
  EXPECT_THAT(first.out, HasSubstr("| 10 km | soft | 64 | 0 |"));
  EXPECT_EQ(RunEval(areas).out, first.out);
}

// quant-check from stored retrievals: a validation split is compared (the same run twice: nothing
// lost), the test split is refused (exit 2), a retrieval mixed with models is a usage error.
TEST_F(EvalCliTest, QuantCheckComparesStoredValidationRunsAndRefusesTheTestSplit) {
  const std::string val = (dir_ / "val.retrieval").string();
  const std::string test = (dir_ / "test.retrieval").string();
  for (auto [path, split] : {std::pair{val, "val"}, std::pair{test, "test"}}) {
    RetrievalRun run = OutlierAndPair(split, split, 40.0);
    for (RetrievedQuery& q : run.queries) q.descriptor = {0.6f, 0.8f};
    ASSERT_TRUE(SaveRetrieval(run, path).ok());
  }
  const RunResult same = RunEval({"quant-check", "--retrieval", val, "--reference_retrieval", val});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_THAT(same.out, HasSubstr("descriptor cosine to fp32: mean 1.00000, min 1.00000"));
  EXPECT_THAT(same.out, HasSubstr("ACCEPTED"));
  const RunResult on_test =
      RunEval({"quant-check", "--retrieval", test, "--reference_retrieval", test});
  EXPECT_EQ(on_test.exit_code, 2);
  EXPECT_THAT(on_test.err, HasSubstr("its split is 'test'"));
  const RunResult mixed = RunEval({"quant-check", "--retrieval", val, "--reference_retrieval", val,
                                   "--model", GEOLOC_EVAL_TEST_INT8_MODEL});
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_THAT(mixed.err, HasSubstr("--reference_retrieval goes with --retrieval"));
}

// quant-check through real models, each on the bundle built with itself: the int8 export of the
// test model against its fp32 original is accepted (the database photos, asked as queries, still
// find themselves); the same int8 model against another seed's fp32 model is refused (exit 1),
// unless --accept_quantization_loss; an fp32 archive as --model, and the int8 model on its
// original's bundle, are errors.
TEST_F(EvalCliTest, QuantCheckAcceptsTheInt8ExportAndRefusesAMismatchedReference) {
  const fs::path world = dir_ / "world";
  const std::string synth =
      absl::StrCat(GEOLOC_SYNTH_BINARY, " --preset fixed-tiny --image_width 96 --image_height 72",
                   " --out ", Quote(world.string()), " >/dev/null 2>&1");
  ASSERT_EQ(std::system(synth.c_str()), 0);
  const std::string csv = (world / "database.csv").string();
  auto build = [&](const std::string& model, const std::string& name) {
    const std::string bundle = (dir_ / name).string();
    const std::string index = absl::StrCat(
        GEOLOC_INDEX_BINARY, " build --model ", Quote(model), " --csv ", Quote(csv), " --output ",
        Quote(bundle), " --precision fp32 --log_level warning >/dev/null 2>&1");
    EXPECT_EQ(std::system(index.c_str()), 0) << index;
    return bundle;
  };
  const std::string fp32 = build(GEOLOC_EVAL_TEST_MODEL, "fp32");
  const std::string int8 = build(GEOLOC_EVAL_TEST_INT8_MODEL, "int8");
  const std::string other = build(GEOLOC_EVAL_TEST_OTHER_MODEL, "other");

  const RunResult accepted =
      RunEval({"quant-check", "--model", GEOLOC_EVAL_TEST_INT8_MODEL, "--bundle", int8,
               "--reference_model", GEOLOC_EVAL_TEST_MODEL, "--reference_bundle", fp32, "--csv",
               csv, "--progress=false"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  EXPECT_THAT(accepted.out, HasSubstr("64 localizable queries"));
  EXPECT_THAT(accepted.out, ::testing::ContainsRegex("recall@1 +1\\.0000 +1\\.0000"));
  EXPECT_THAT(accepted.out, HasSubstr("ACCEPTED: within the tolerance"));

  const std::vector<std::string> mismatched = {
      "quant-check", "--model", GEOLOC_EVAL_TEST_INT8_MODEL, "--bundle", int8,
      "--reference_model", GEOLOC_EVAL_TEST_OTHER_MODEL, "--reference_bundle", other,
      "--csv", csv, "--progress=false"};
  const RunResult refused = RunEval(mismatched);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("mean descriptor cosine to the fp32 original"));
  EXPECT_THAT(refused.err, HasSubstr("REFUSED"));
  std::vector<std::string> overridden = mismatched;
  overridden.push_back("--accept_quantization_loss");
  const RunResult loss = RunEval(overridden);
  EXPECT_EQ(loss.exit_code, 0) << loss.err;
  EXPECT_THAT(loss.err, HasSubstr("WARNING"));
  EXPECT_THAT(loss.out, HasSubstr("ACCEPTED WITH LOSS"));

  const RunResult not_int8 =
      RunEval({"quant-check", "--model", GEOLOC_EVAL_TEST_MODEL, "--bundle", fp32,
               "--reference_model", GEOLOC_EVAL_TEST_MODEL, "--reference_bundle", fp32, "--csv",
               csv, "--progress=false"});
  EXPECT_EQ(not_int8.exit_code, 1);
  EXPECT_THAT(not_int8.err, HasSubstr("is not an int8 archive"));

  // The int8 model in front of its original's bundle: the manifest check names the way out.
  const RunResult wrong_bundle =
      RunEval({"quant-check", "--model", GEOLOC_EVAL_TEST_INT8_MODEL, "--bundle", fp32,
               "--reference_model", GEOLOC_EVAL_TEST_MODEL, "--reference_bundle", fp32, "--csv",
               csv, "--progress=false"});
  EXPECT_EQ(wrong_bundle.exit_code, 1);
  EXPECT_THAT(wrong_bundle.err, HasSubstr("this int8 model's fp32 original"));

  const RunResult usage = RunEval({"quant-check", "--model", GEOLOC_EVAL_TEST_INT8_MODEL,
                                   "--bundle", int8, "--csv", csv});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--reference_model"));
}

}  // namespace
}  // namespace geoloc::eval
