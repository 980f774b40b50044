// The int8 accuracy guard on hand-made runs whose figures are known in advance: a quantized run
// that loses nothing is accepted, one that loses two queries of a hundred at rank 1 is refused
// (2 points > 1), exactly one point is still accepted, descriptors that disagree and a reference
// that is not the fp32 original the int8 archive names are refused,
// distractors stay out of every figure, and runs over different queries are an error.
#include "tools/eval/quant_check.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "core/model/model_info.h"
#include "gtest/gtest.h"

namespace geoloc::eval {
namespace {
using ::testing::HasSubstr;

constexpr double kEarthKm = 6371.0088;
constexpr double kRad = 3.14159265358979323846 / 180.0;
constexpr int kQueries = 100;
constexpr int kDim = 8;

geo::LatLon North(geo::LatLon p, double km) { return {p.lat + km / kEarthKm / kRad, p.lon}; }

// kQueries localizable queries whose first neighbour is 5 m from the truth (a hit at 25 m, and
// right at 1 km for 1-NN), the rest 50 km away, plus one distractor with an opposite descriptor.
RetrievalRun Reference() {
  RetrievalRun run;
  run.model = "fp32@aaaa";
  run.split = "val";
  for (int i = 0; i < kQueries; ++i) {
    RetrievedQuery q;
    q.source = absl::StrCat("q", i, ".jpg");
    q.truth = {10.0 + 0.5 * i, 20.0};
    q.neighbors = {{i, 0.9, North(q.truth, 0.005)}};
    for (int j = 1; j < 5; ++j) q.neighbors.push_back({1000 + j, 0.5, North(q.truth, 50)});
    q.descriptor.assign(kDim, 0.0f);
    q.descriptor[i % kDim] = 1.0f;
    run.queries.push_back(q);
  }
  RetrievedQuery distractor;
  distractor.source = "indoor.jpg";
  distractor.localizable = false;
  distractor.truth = {0, 0};
  distractor.neighbors = {{7, 0.2, North(distractor.truth, 0.001)}};
  distractor.descriptor.assign(kDim, 1.0f);
  run.queries.push_back(distractor);
  return run;
}

// The reference as an int8 model would answer it: descriptors nudged (cosine ~0.9998), and the
// first `lost` queries' hit pushed from rank 1 to rank 2 (still within the top 5).
RetrievalRun Quantized(int lost) {
  RetrievalRun run = Reference();
  run.model = "int8@bbbb";
  for (int i = 0; i < kQueries; ++i) {
    RetrievedQuery& q = run.queries[i];
    q.descriptor[(i + 1) % kDim] = 0.02f;
    if (i < lost) {  // the scores stay in order: another photo now ranks first
      std::swap(q.neighbors[0].id, q.neighbors[1].id);
      std::swap(q.neighbors[0].pos, q.neighbors[1].pos);
    }
  }
  run.queries.back().descriptor.assign(kDim, -1.0f);  // a distractor: must not count
  return run;
}

geo::EstimatorOptions Nearest() {
  geo::EstimatorOptions o;
  o.kind = geo::EstimatorKind::kNearest;
  return o;
}

const QuantMetric& Metric(const QuantCheckReport& r, const std::string& name) {
  for (const QuantMetric& m : r.metrics) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no metric " << name;
  return r.metrics.front();
}

TEST(QuantCheckTest, NoLossIsAccepted) {
  absl::StatusOr<QuantCheckReport> r =
      CompareQuantized(Reference(), Quantized(0), 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->refusals.empty()) << r->refusals.front();
  EXPECT_EQ(r->queries, kQueries);
  const double nudged = 1.0 / std::sqrt(1.0 + 0.02 * 0.02);
  EXPECT_NEAR(r->cosine_mean, nudged, 1e-6);  // the distractor's -1 would pull it far down
  EXPECT_NEAR(r->cosine_min, nudged, 1e-6);
  EXPECT_DOUBLE_EQ(Metric(*r, "recall@1").reference, 1.0);
  EXPECT_DOUBLE_EQ(Metric(*r, "recall@1").quantized, 1.0);
  EXPECT_DOUBLE_EQ(Metric(*r, "accuracy@1km").quantized, 1.0);
  EXPECT_EQ(r->reference_model, "fp32@aaaa");
  EXPECT_EQ(r->quantized_model, "int8@bbbb");
}

TEST(QuantCheckTest, TwoPointsOfRecallAtOneLostIsRefused) {
  absl::StatusOr<QuantCheckReport> r =
      CompareQuantized(Reference(), Quantized(2), 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(Metric(*r, "recall@1").drop_points(), 2.0, 1e-9);
  EXPECT_NEAR(Metric(*r, "recall@5").drop_points(), 0.0, 1e-9);  // rank 2 is still in the top 5
  EXPECT_NEAR(Metric(*r, "accuracy@1km").drop_points(), 2.0, 1e-9);  // 1-NN answers 50 km off
  EXPECT_NEAR(Metric(*r, "accuracy@25km").drop_points(), 2.0, 1e-9);
  ASSERT_EQ(r->refusals.size(), 3u);
  EXPECT_THAT(r->refusals[0], HasSubstr("recall@1 drops by 2.00 points"));
  EXPECT_THAT(r->refusals[1], HasSubstr("accuracy@1km"));
  // A looser, explicit tolerance accepts the same loss.
  QuantTolerance loose;
  loose.max_drop_points = 2.5;
  r = CompareQuantized(Reference(), Quantized(2), 1, Nearest(), loose);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->refusals.empty());
}

TEST(QuantCheckTest, ExactlyTheToleranceIsAccepted) {
  absl::StatusOr<QuantCheckReport> r =
      CompareQuantized(Reference(), Quantized(1), 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(Metric(*r, "recall@1").drop_points(), 1.0, 1e-9);
  EXPECT_TRUE(r->refusals.empty()) << r->refusals.front();
}

TEST(QuantCheckTest, DescriptorsThatDisagreeAreRefused) {
  RetrievalRun other = Quantized(0);
  for (int i = 0; i < kQueries; ++i) {
    other.queries[i].descriptor.assign(kDim, 0.0f);
    other.queries[i].descriptor[(i + 3) % kDim] = 1.0f;  // orthogonal: another model's
  }
  absl::StatusOr<QuantCheckReport> r =
      CompareQuantized(Reference(), other, 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->cosine_mean, 0.0, 1e-9);
  ASSERT_EQ(r->refusals.size(), 1u);
  EXPECT_THAT(r->refusals[0], HasSubstr("mean descriptor cosine"));
}

TEST(QuantCheckTest, AReferenceThatIsNotTheNamedOriginalIsRefused) {
  RetrievalRun reference = Reference();
  RetrievalRun quantized = Quantized(0);
  model::ModelInfo info;
  info.name = "m";
  info.dim = kDim;
  info.fingerprint = "aaaa";
  reference.model_info_json = *model::ModelInfoToJson(info);
  info.fingerprint = "bbbb";
  info.fp32_fingerprint = "aaaa";
  quantized.model_info_json = *model::ModelInfoToJson(info);
  absl::StatusOr<QuantCheckReport> r =
      CompareQuantized(reference, quantized, 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->refusals.empty()) << r->refusals.front();
  info.fp32_fingerprint = "cccc";
  quantized.model_info_json = *model::ModelInfoToJson(info);
  r = CompareQuantized(reference, quantized, 1, Nearest(), QuantTolerance{});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->refusals.size(), 1u);
  EXPECT_THAT(r->refusals[0], HasSubstr("is not the quantized model's fp32 original"));
}

TEST(QuantCheckTest, RunsOverDifferentQueriesAreAnError) {
  RetrievalRun shorter = Quantized(0);
  shorter.queries.pop_back();
  EXPECT_EQ(CompareQuantized(Reference(), shorter, 1, Nearest(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  RetrievalRun renamed = Quantized(0);
  renamed.queries[5].source = "other.jpg";
  absl::Status st = CompareQuantized(Reference(), renamed, 1, Nearest(), {}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("other.jpg"));
  RetrievalRun narrower = Quantized(0);
  narrower.queries[0].descriptor.resize(kDim / 2);
  EXPECT_EQ(CompareQuantized(Reference(), narrower, 1, Nearest(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  RetrievalRun only_distractor = Reference();
  only_distractor.queries.erase(only_distractor.queries.begin(),
                                only_distractor.queries.begin() + kQueries);
  EXPECT_EQ(
      CompareQuantized(only_distractor, only_distractor, 1, Nearest(), {}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::eval
