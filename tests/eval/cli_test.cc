// The geoloc-eval command: tune on one split and run on another from stored retrievals whose
// answers are known in advance, the refusals that keep the test split untouched, JSON that a real
// parser reads back (paths with quotes included), the per-query CSV, and one retrieval through a
// real model and bundle.
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

}  // namespace
}  // namespace geoloc::eval
