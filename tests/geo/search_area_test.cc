#include "core/geo/search_area.h"

#include <cmath>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/estimator.h"
#include "gtest/gtest.h"

namespace geoloc::geo {
namespace {

SearchArea SoftCircle(LatLon c, double km) {
  SearchArea a;
  a.shape = SearchArea::Shape::kCircle;
  a.mode = AreaMode::kSoft;
  a.center = c;
  a.radius_km = km;
  return a;
}

// The radius holds 95% of the prior (a 2-d Gaussian's mass within R is 1 - exp(-R^2 / 2 s^2)),
// so the log weight at R is ln(0.05); the support disc holds 99.9%.
TEST(SearchArea, SoftPriorRadiusHolds95PercentOfItsMass) {
  const SearchArea a = SoftCircle({10, 20}, 12);
  EXPECT_NEAR(SoftPriorSigmaKm(12), 12 / 2.4477, 1e-3);
  EXPECT_DOUBLE_EQ(SoftPriorLogWeight(a, a.center), 0);
  EXPECT_NEAR(SoftPriorLogWeight(a, DestinationPoint(a.center, 37, 12)), std::log(0.05), 1e-6);
  EXPECT_NEAR(SoftPriorSupportKm(12), 12 * std::sqrt(std::log(1000.0) / std::log(20.0)), 1e-9);
}

TEST(SearchArea, ValuesAreCheckedWithTheFieldNamed) {
  SearchArea a = SoftCircle({10, 20}, 12);
  EXPECT_TRUE(ValidateSearchAreaValues(a).ok());
  EXPECT_TRUE(ValidateSearchAreaValues(SearchArea()).ok());  // no area
  a.radius_km = 20016;
  EXPECT_NE(ValidateSearchAreaValues(a).message().find("area.circle.radius_km"),
            absl::string_view::npos);
  SearchArea cells;
  cells.shape = SearchArea::Shape::kCells;
  cells.cell_tokens.assign(kMaxAreaCellTokens + 1, "89c25");
  EXPECT_EQ(ValidateSearchAreaValues(cells).code(), absl::StatusCode::kInvalidArgument);
}

// The prior multiplies the neighbour weights: two equally similar neighbours, the one nearer the
// prior's centre takes the answer; a neighbour far outside every other keeps a relative weight
// even when its absolute prior underflows.
TEST(SearchArea, LogPriorReweightsTheEstimate) {
  const std::vector<Neighbor> neighbors = {{{48.85, 2.35}, 0.8}, {{51.5, -0.12}, 0.8}};
  EstimatorOptions options;
  options.kind = EstimatorKind::kWeightedMean;
  const SearchArea near_london = SoftCircle({51.4, -0.1}, 20);
  std::vector<double> log_prior;
  for (const Neighbor& n : neighbors) log_prior.push_back(SoftPriorLogWeight(near_london, n.pos));
  absl::StatusOr<Estimate> est =
      EstimateLocation(neighbors, ScoreKind::kSimilarity, options, log_prior);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_LT(HaversineKm(est->peaks.front().pos, neighbors[1].pos), 0.01);
  EXPECT_NEAR(est->weights[1], 1.0, 1e-9);

  const SearchArea antipode = SoftCircle({-50, 178}, 1);  // both neighbours ~19,000 km away
  log_prior.clear();
  for (const Neighbor& n : neighbors) log_prior.push_back(SoftPriorLogWeight(antipode, n.pos));
  est = EstimateLocation(neighbors, ScoreKind::kSimilarity, options, log_prior);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_NEAR(est->weights[0] + est->weights[1], 1.0, 1e-9);

  EXPECT_EQ(EstimateLocation(neighbors, ScoreKind::kSimilarity, options, {0.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::geo
