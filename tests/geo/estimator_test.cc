#include "core/geo/estimator.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/geo/distance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace geo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr EstimatorKind kAllKinds[] = {EstimatorKind::kNearest, EstimatorKind::kMean,
                                       EstimatorKind::kWeightedMean, EstimatorKind::kGridKde,
                                       EstimatorKind::kSphericalKde};

EstimatorOptions Options(EstimatorKind kind) {
  EstimatorOptions o;
  o.kind = kind;
  return o;
}

TEST(EstimatorKindTest, NamesParseBack) {
  for (EstimatorKind kind : kAllKinds) {
    auto parsed = ParseEstimatorKind(EstimatorName(kind));
    ASSERT_TRUE(parsed.ok()) << EstimatorName(kind);
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(*ParseEstimatorKind("1nn"), EstimatorKind::kNearest);
  EXPECT_EQ(*ParseEstimatorKind("kde"), EstimatorKind::kSphericalKde);
  EXPECT_EQ(*ParseEstimatorKind("Spherical_KDE"), EstimatorKind::kSphericalKde);
  EXPECT_EQ(EstimatorName(EstimatorKind::kGridKde), "grid_kde");
  const auto bad = ParseEstimatorKind("median");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("weighted_mean"));
}

TEST(EstimatorOptionsTest, DefaultsAreTheDocumentedOnes) {
  const EstimatorOptions o;
  EXPECT_EQ(o.kind, EstimatorKind::kSphericalKde);
  EXPECT_EQ(o.weight_exponent_m, 5);
  EXPECT_EQ(o.sigma_deg, 0.0025);
  EXPECT_EQ(o.grid_b, 3);
  EXPECT_EQ(o.grid_n, 3);
  EXPECT_EQ(o.bandwidth_km, 0.5);
  EXPECT_EQ(EffectiveMergeRadiusKm(o), 0.5);
  EXPECT_TRUE(ValidateEstimatorOptions(o).ok());
}

TEST(EstimatorOptionsTest, EachOutOfRangeFieldIsNamed) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    std::string field;
    void (*mutate)(EstimatorOptions&);
  };
  const Case cases[] = {
      {"weight_exponent", [](EstimatorOptions& o) { o.weight_exponent_m = -1; }},
      {"weight_exponent", [](EstimatorOptions& o) { o.weight_exponent_m = 51; }},
      {"sigma_deg", [](EstimatorOptions& o) { o.sigma_deg = 0; }},
      {"grid_b", [](EstimatorOptions& o) { o.grid_b = 0; }},
      {"grid_n", [](EstimatorOptions& o) { o.grid_n = 11; }},
      {"bandwidth_km", [](EstimatorOptions& o) { o.bandwidth_km = 0; }},
      {"merge_radius_km", [](EstimatorOptions& o) { o.merge_radius_km = -1; }},
      {"mass_share", [](EstimatorOptions& o) { o.mass_share = 1; }},
      {"mass_share", [](EstimatorOptions& o) { o.mass_share = 0; }},
      {"max_iterations", [](EstimatorOptions& o) { o.max_iterations = 0; }},
      {"max_peaks", [](EstimatorOptions& o) { o.max_peaks = -1; }},
  };
  for (const Case& c : cases) {
    EstimatorOptions o;
    c.mutate(o);
    const absl::Status s = ValidateEstimatorOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(c.field));
  }
  EstimatorOptions o;
  o.bandwidth_km = nan;
  EXPECT_FALSE(ValidateEstimatorOptions(o).ok());
  o = EstimatorOptions();
  o.sigma_deg = nan;
  EXPECT_FALSE(ValidateEstimatorOptions(o).ok());
}

TEST(EstimateLocationTest, MeanOfTwoEquatorPoints) {
  const std::vector<Neighbor> n = {{{0, 10}, 0.9}, {{0, 20}, 0.1}};
  auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(EstimatorKind::kMean));
  ASSERT_TRUE(est.ok()) << est.status();
  ASSERT_EQ(est->peaks.size(), 1u);
  EXPECT_NEAR(est->peaks[0].pos.lat, 0, 1e-12);
  EXPECT_NEAR(est->peaks[0].pos.lon, 15, 1e-12);  // scores do not matter to the plain mean
  EXPECT_THAT(est->weights, ElementsAre(0.5, 0.5));
  EXPECT_EQ(est->peaks[0].mass, 1);
  EXPECT_EQ(est->peaks[0].support, 2);
  // Both are 5 degrees away; the quantile is that distance.
  EXPECT_NEAR(est->peaks[0].radius_km, 5 * kDegToRad * kEarthRadiusKm, 1e-9);
}

TEST(EstimateLocationTest, MeanAcrossTheAntimeridianIsAt180NotZero) {
  const std::vector<Neighbor> n = {{{10, 179}, 0.5}, {{10, -179}, 0.5}};
  for (EstimatorKind kind : {EstimatorKind::kMean, EstimatorKind::kWeightedMean}) {
    auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(kind));
    ASSERT_TRUE(est.ok()) << est.status();
    EXPECT_NEAR(std::abs(est->peaks[0].pos.lon), 180, 1e-9);
    EXPECT_GT(est->peaks[0].pos.lat, 10);  // the great circle bulges poleward
    EXPECT_LT(est->peaks[0].pos.lat, 10.02);
  }
}

TEST(EstimateLocationTest, WeightedMeanWithKnownWeights) {
  // Similarities 1 and 0 with m = 1 give weights 2 and 1, i.e. 2/3 and 1/3. The weighted mean of
  // the unit vectors (1, 0, 0) and (0, 1, 0) points at atan2(1/3, 2/3) = 26.565 degrees east.
  const std::vector<Neighbor> n = {{{0, 0}, 1.0}, {{0, 90}, 0.0}};
  EstimatorOptions o = Options(EstimatorKind::kWeightedMean);
  o.weight_exponent_m = 1;
  auto est = EstimateLocation(n, ScoreKind::kSimilarity, o);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_NEAR(est->peaks[0].pos.lat, 0, 1e-12);
  EXPECT_NEAR(est->peaks[0].pos.lon, std::atan(0.5) * kRadToDeg, 1e-12);
  EXPECT_NEAR(est->weights[0], 2.0 / 3, 1e-15);
  EXPECT_NEAR(est->weights[1], 1.0 / 3, 1e-15);
  // Distances as scores: d = 1 and 2 with m = 1 give weights 1 and 1/2: the same split.
  const std::vector<Neighbor> d = {{{0, 0}, 1.0}, {{0, 90}, 2.0}};
  est = EstimateLocation(d, ScoreKind::kDistance, o);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_NEAR(est->peaks[0].pos.lon, std::atan(0.5) * kRadToDeg, 1e-12);
}

TEST(EstimateLocationTest, SphericalMeanEqualsTheSeedCoordinateMeanAtCityScale) {
  // Within a few km the seed's arithmetic mean of coordinates and the unit-vector mean agree to
  // well under a metre (they differ at second order, about s^2 tan(lat) / R = 0.7 m at most for
  // s = 3 km at 50 N).
  const std::vector<Neighbor> n = {
      {{50.08, 14.42}, 0.9}, {{50.09, 14.44}, 0.8}, {{50.07, 14.41}, 0.7}, {{50.10, 14.43}, 0.6}};
  auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(EstimatorKind::kMean));
  ASSERT_TRUE(est.ok());
  double lat = 0, lon = 0;
  for (const Neighbor& x : n) {
    lat += x.pos.lat / n.size();
    lon += x.pos.lon / n.size();
  }
  EXPECT_LT(HaversineKm(est->peaks[0].pos, {lat, lon}), 0.001);
}

TEST(EstimateLocationTest, NearestIsTheHighestWeightNeighbour) {
  const std::vector<Neighbor> sim = {{{1, 1}, 0.2}, {{2, 2}, 0.9}, {{3, 3}, 0.5}};
  auto est = EstimateLocation(sim, ScoreKind::kSimilarity, Options(EstimatorKind::kNearest));
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->peaks[0].pos.lat, 2);
  EXPECT_EQ(est->peaks[0].pos.lon, 2);
  const std::vector<Neighbor> dist = {{{1, 1}, 0.5}, {{2, 2}, 0.3}, {{3, 3}, 0.9}};
  est = EstimateLocation(dist, ScoreKind::kDistance, Options(EstimatorKind::kNearest));
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->peaks[0].pos.lat, 2);
  // m = 0: every weight is equal and the best-ranked (first) neighbour wins.
  EstimatorOptions o = Options(EstimatorKind::kNearest);
  o.weight_exponent_m = 0;
  est = EstimateLocation(sim, ScoreKind::kSimilarity, o);
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->peaks[0].pos.lat, 1);
}

TEST(EstimateLocationTest, NearestRadiusIsTheWeightedQuantileOfDistances) {
  // Equal weights (m = 0), distances 0, 1, 2, 3 hundredths of a degree: the 0.5-quantile is the
  // second, 1.112 km.
  const std::vector<Neighbor> n = {
      {{0, 0}, 0.9}, {{0, 0.01}, 0.8}, {{0, 0.02}, 0.7}, {{0, 0.03}, 0.6}};
  EstimatorOptions o = Options(EstimatorKind::kNearest);
  o.weight_exponent_m = 0;
  o.mass_share = 0.5;
  auto est = EstimateLocation(n, ScoreKind::kSimilarity, o);
  ASSERT_TRUE(est.ok());
  EXPECT_NEAR(est->peaks[0].radius_km, 0.01 * kDegToRad * kEarthRadiusKm, 1e-9);
  EXPECT_THAT(est->peaks[0].neighbor_indices, ElementsAre(0, 1, 2, 3));
}

TEST(EstimateLocationTest, EveryEstimatorReturnsNormalisedWeightsAndAPeak) {
  const std::vector<Neighbor> n = {
      {{45.0, 7.0}, 0.8}, {{45.001, 7.001}, 0.7}, {{45.0005, 7.0}, 0.6}, {{44.9, 7.2}, 0.1}};
  for (EstimatorKind kind : kAllKinds) {
    auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(kind));
    ASSERT_TRUE(est.ok()) << EstimatorName(kind) << ": " << est.status();
    ASSERT_FALSE(est->peaks.empty());
    ASSERT_EQ(est->weights.size(), n.size());
    double sum = 0, mass = 0;
    for (double w : est->weights) sum += w;
    for (const Peak& p : est->peaks) mass += p.mass;
    EXPECT_NEAR(sum, 1, 1e-12) << EstimatorName(kind);
    EXPECT_NEAR(mass, 1, 1e-12) << EstimatorName(kind);
    EXPECT_TRUE(ValidateLatLon(est->peaks[0].pos).ok());
    // Every estimate lands near the tight trio, not near the lone low-score neighbour.
    EXPECT_LT(HaversineKm(est->peaks[0].pos, {45.0005, 7.0005}), 5.0) << EstimatorName(kind);
  }
}

TEST(EstimateLocationTest, DuplicatesGiveOnePeakForEveryEstimator) {
  const std::vector<Neighbor> n(6, Neighbor{{-22.9068, -43.1729}, 0.7});
  for (EstimatorKind kind : kAllKinds) {
    auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(kind));
    ASSERT_TRUE(est.ok()) << EstimatorName(kind) << ": " << est.status();
    ASSERT_EQ(est->peaks.size(), 1u) << EstimatorName(kind);
    EXPECT_LT(HaversineKm(est->peaks[0].pos, n[0].pos), 1e-9) << EstimatorName(kind);
    EXPECT_EQ(est->peaks[0].support, 6);
    EXPECT_NEAR(est->peaks[0].mass, 1, 1e-12);
  }
}

TEST(EstimateLocationTest, DegenerateInputsGiveInvalidArgument) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Neighbor> good = {{{10, 10}, 0.5}, {{10.001, 10}, 0.4}};
  struct Case {
    std::string what;
    std::vector<Neighbor> neighbors;
    ScoreKind kind;
  };
  const std::vector<Case> cases = {
      {"k = 0", {}, ScoreKind::kSimilarity},
      {"NaN latitude", {{{nan, 10}, 0.5}}, ScoreKind::kSimilarity},
      {"latitude 91", {good[0], {{91, 10}, 0.5}}, ScoreKind::kSimilarity},
      {"longitude 181", {{{10, 181}, 0.5}}, ScoreKind::kSimilarity},
      {"NaN score", {good[0], {{10, 10}, nan}}, ScoreKind::kSimilarity},
      {"infinite distance", {{{10, 10}, INFINITY}}, ScoreKind::kDistance},
      {"negative distance", {{{10, 10}, -0.5}}, ScoreKind::kDistance},
      {"similarity 3", {{{10, 10}, 3.0}}, ScoreKind::kSimilarity},
  };
  for (const Case& c : cases) {
    for (EstimatorKind kind : kAllKinds) {
      auto est = EstimateLocation(c.neighbors, c.kind, Options(kind));
      EXPECT_EQ(est.status().code(), absl::StatusCode::kInvalidArgument)
          << c.what << " / " << EstimatorName(kind);
    }
  }
}

TEST(EstimateLocationTest, AllZeroWeightsFailExceptForThePlainMean) {
  const std::vector<Neighbor> n = {{{10, 10}, -1.0}, {{11, 10}, -1.0}};
  for (EstimatorKind kind : kAllKinds) {
    auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(kind));
    if (kind == EstimatorKind::kMean) {
      EXPECT_TRUE(est.ok()) << est.status();
    } else {
      EXPECT_EQ(est.status().code(), absl::StatusCode::kInvalidArgument) << EstimatorName(kind);
    }
  }
}

TEST(EstimateLocationTest, AntipodalMeanIsAnErrorButTheKdeKeepsBothPoints) {
  const std::vector<Neighbor> n = {{{30, 40}, 0.5}, {{-30, -140}, 0.5}};
  for (EstimatorKind kind : {EstimatorKind::kMean, EstimatorKind::kWeightedMean}) {
    auto est = EstimateLocation(n, ScoreKind::kSimilarity, Options(kind));
    EXPECT_EQ(est.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(est.status().message(), HasSubstr("cancel"));
  }
  auto kde = EstimateLocation(n, ScoreKind::kSimilarity, Options(EstimatorKind::kSphericalKde));
  ASSERT_TRUE(kde.ok()) << kde.status();
  ASSERT_EQ(kde->peaks.size(), 2u);
  EXPECT_NEAR(kde->peaks[0].mass, 0.5, 1e-12);
}

TEST(EstimateLocationTest, InvalidOptionsAreRejected) {
  const std::vector<Neighbor> n = {{{10, 10}, 0.5}};
  EstimatorOptions o;
  o.bandwidth_km = -2;
  EXPECT_EQ(EstimateLocation(n, ScoreKind::kSimilarity, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geo
}  // namespace geoloc
