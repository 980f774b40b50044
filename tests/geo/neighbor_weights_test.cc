#include "core/geo/neighbor_weights.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<Neighbor> WithScores(std::vector<double> scores) {
  std::vector<Neighbor> out;
  for (double s : scores) out.push_back({{50, 14}, s});
  return out;
}

TEST(NeighborWeightsTest, SimilarityIsCosinePlusOneToTheM) {
  auto w = NeighborWeights(WithScores({1, 0, -1, 0.5}), ScoreKind::kSimilarity, 2);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_THAT(*w, ElementsAre(4.0, 1.0, 0.0, 2.25));
  w = NeighborWeights(WithScores({0.9}), ScoreKind::kSimilarity, 5);
  ASSERT_TRUE(w.ok());
  EXPECT_NEAR((*w)[0], 24.76099, 1e-5);  // 1.9^5
}

TEST(NeighborWeightsTest, DistanceIsInverseToTheM) {
  auto w = NeighborWeights(WithScores({0.5, 1, 2}), ScoreKind::kDistance, 3);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_THAT(*w, ElementsAre(8.0, 1.0, 0.125));
  // A zero distance is clamped to kMinWeightDistance = 1e-6.
  w = NeighborWeights(WithScores({0, 1e-9}), ScoreKind::kDistance, 1);
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(*w, ElementsAre(DoubleNear(1e6, 1e-6), DoubleNear(1e6, 1e-6)));
}

TEST(NeighborWeightsTest, ExponentZeroIsUniformEvenAtMinusOne) {
  auto w = NeighborWeights(WithScores({-1, 0.3, 1}), ScoreKind::kSimilarity, 0);
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(*w, ElementsAre(1.0, 1.0, 1.0));
  auto n = NormalizedNeighborWeights(WithScores({-1, -1}), ScoreKind::kSimilarity, 0);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_THAT(*n, ElementsAre(0.5, 0.5));
}

TEST(NeighborWeightsTest, SimilarityRoundingIsClampedButGarbageIsRejected) {
  auto w = NeighborWeights(WithScores({1.0005, -1.0005}), ScoreKind::kSimilarity, 1);
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(*w, ElementsAre(2.0, 0.0));
  auto bad = NeighborWeights(WithScores({0.2, 1.5}), ScoreKind::kSimilarity, 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("neighbor 1"));
}

TEST(NeighborWeightsTest, RejectsBadScoresAndExponents) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(NeighborWeights(WithScores({nan}), ScoreKind::kSimilarity, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NeighborWeights(WithScores({nan}), ScoreKind::kDistance, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto neg = NeighborWeights(WithScores({0.3, -0.01}), ScoreKind::kDistance, 1);
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(neg.status().message(), HasSubstr("negative"));
  for (double m : {-1.0, 50.5, nan}) {
    EXPECT_EQ(NeighborWeights(WithScores({0.5}), ScoreKind::kSimilarity, m).status().code(),
              absl::StatusCode::kInvalidArgument)
        << m;
  }
  EXPECT_TRUE(NeighborWeights(WithScores({0.5}), ScoreKind::kSimilarity, 50).ok());
}

TEST(NormalizedNeighborWeightsTest, SumsToOne) {
  auto w = NormalizedNeighborWeights(WithScores({1, 0}), ScoreKind::kSimilarity, 1);
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(*w, ElementsAre(DoubleNear(2.0 / 3, 1e-15), DoubleNear(1.0 / 3, 1e-15)));
}

TEST(NormalizedNeighborWeightsTest, SurvivesUnderflowOfTheRawWeights) {
  // (1 / 1e7)^50 = 1e-350 underflows to 0, yet the ratio of the two weights is 2^50.
  const auto neighbors = WithScores({1e7, 2e7});
  auto raw = NeighborWeights(neighbors, ScoreKind::kDistance, 50);
  ASSERT_TRUE(raw.ok());
  EXPECT_THAT(*raw, ElementsAre(0.0, 0.0));
  auto w = NormalizedNeighborWeights(neighbors, ScoreKind::kDistance, 50);
  ASSERT_TRUE(w.ok()) << w.status();
  const double r = std::pow(2.0, -50);
  EXPECT_NEAR((*w)[0], 1 / (1 + r), 1e-15);
  EXPECT_NEAR((*w)[1], r / (1 + r), 1e-11 * r);
}

TEST(NormalizedNeighborWeightsTest, AllZeroAndEmptyAreErrors) {
  auto w = NormalizedNeighborWeights(WithScores({-1, -1}), ScoreKind::kSimilarity, 5);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(w.status().message(), HasSubstr("weight is 0"));
  EXPECT_EQ(NormalizedNeighborWeights({}, ScoreKind::kSimilarity, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateNeighborsTest, NamesTheBadNeighbour) {
  EXPECT_EQ(ValidateNeighbors({}, ScoreKind::kSimilarity).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Neighbor> n = WithScores({0.5, 0.4, 0.3});
  EXPECT_TRUE(ValidateNeighbors(n, ScoreKind::kSimilarity).ok());
  n[2].pos.lat = 91;
  const absl::Status s = ValidateNeighbors(n, ScoreKind::kSimilarity);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("neighbor 2"));
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
