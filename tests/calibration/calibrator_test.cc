#include "core/calibration/calibrator.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/calibration/answer_features.h"
#include "core/calibration/fit.h"
#include "core/calibration/record.h"
#include "core/calibration/synthetic_answers.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/area_region.h"
#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/spherical_kde.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/calibration/test_support.h"

namespace geoloc::calibration {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const geo::LatLon kPlace{46.2044, 6.1432};

using testing::HandEntry;

// Three neighbours at one place.
struct Answer {
  std::vector<geo::LatLon> positions = {kPlace, kPlace, kPlace};
  std::vector<double> weights = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  std::vector<double> scores = {0.9, 0.8, 0.7};
  std::vector<double> masses = {1.0};
  AnswerEvidence Evidence() const {
    AnswerEvidence e;
    e.positions = positions;
    e.weights = weights;
    e.scores = scores;
    e.best = kPlace;
    e.peak_masses = masses;
    return e;
  }
};

double PeakDensity() {
  return 0.7 * geo::SphericalKdeDensity({kPlace}, {1.0}, 0.5, kPlace) +
         0.25 * geo::SphericalKdeDensity({kPlace}, {1.0}, 100, kPlace) +
         0.05 / (4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm);
}

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

TEST(CalibratorTest, AppliesTheEntryByHand) {
  const Calibrator c = *Calibrator::Create(HandEntry());
  EXPECT_EQ(c.num_score_groups(), 2);
  const Answer answer;
  const CalibratedAnswer a = *c.Apply(answer.Evidence());
  EXPECT_TRUE(a.calibrated);

  // Features and localizability.
  const double log10_f = std::log10(PeakDensity());
  EXPECT_NEAR(a.features[0], 0.9, 1e-15);
  EXPECT_NEAR(a.features[1], 0.1, 1e-12);
  EXPECT_EQ(a.features[2], 1.0);
  EXPECT_NEAR(a.features[3], log10_f, 1e-9);
  EXPECT_EQ(a.features[4], 0.0);
  EXPECT_NEAR(a.raw_localizability, Sigmoid(-1 + 0.5 * (0.9 + 0.1 + 1 + log10_f)), 1e-12);
  EXPECT_LT(a.raw_localizability, 0.5);
  EXPECT_EQ(a.score_group, 0);
  EXPECT_EQ(a.p_localizable, 0.4);

  // Regions from group 0's scores 1, 2, 3, 4: ranks 3 and 4, then the whole sphere.
  ASSERT_EQ(a.regions.size(), 4u);
  EXPECT_EQ(a.regions[0].level, 0.5);
  EXPECT_EQ(a.regions[0].score_quantile, 3.0);
  EXPECT_NEAR(a.regions[0].density_threshold, std::exp(-3.0), 1e-15);
  EXPECT_DOUBLE_EQ(a.regions[0].guaranteed_coverage, 3.0 / 5);
  EXPECT_EQ(a.regions[1].score_quantile, 4.0);
  EXPECT_DOUBLE_EQ(a.regions[1].guaranteed_coverage, 4.0 / 5);
  for (int i : {2, 3}) {
    EXPECT_TRUE(a.regions[i].whole_sphere);
    EXPECT_EQ(a.regions[i].score_quantile, kInf);
    EXPECT_EQ(a.regions[i].density_threshold, 0);
    EXPECT_EQ(a.regions[i].guaranteed_coverage, 1.0);
    EXPECT_EQ(a.regions[i].cells, cells::WholeSphereCells());
  }
  // The 50% region is the disc where 0.7 C exp(-d^2 / 2h^2) (+ the broad term and floor) reaches
  // exp(-3): d^2 = 2 h^2 ln(peak / exp(-3)), a planar disc at this scale.
  const double broad_and_floor = PeakDensity() - 0.7 / (2 * geo::kPi * 0.25);
  const double d2 =
      2 * 0.25 * std::log((PeakDensity() - broad_and_floor) / (std::exp(-3.0) - broad_and_floor));
  const double area = geo::kPi * d2;
  EXPECT_NEAR(a.regions[0].area_km2, area, 0.05 * area);
  EXPECT_LE(std::abs(a.regions[0].area_km2 - area), a.regions[0].boundary_area_km2);
  ASSERT_EQ(a.regions[0].pieces.size(), 1u);
  EXPECT_GE(a.regions[0].pieces[0].exterior.size(), 4u);
  EXPECT_TRUE(cells::CellUnionContains(a.regions[0].cells, kPlace));
  EXPECT_FALSE(cells::CellUnionContains(a.regions[0].cells, geo::DestinationPoint(kPlace, 0, 2)));
  EXPECT_GT(a.regions[1].area_km2, a.regions[0].area_km2);

  // P(within 25 km) = 0.1 + 0.8 raw; raw ~ 0.7 + 0.25 (1 - exp(-(25/100)^2 / 2)).
  ASSERT_EQ(a.within.size(), 1u);
  EXPECT_EQ(a.within[0].threshold_km, 25);
  EXPECT_NEAR(a.within[0].raw_mass, 0.7 + 0.25 * (1 - std::exp(-0.03125)), 0.005);
  EXPECT_NEAR(a.within[0].probability, 0.1 + 0.8 * a.within[0].raw_mass, 1e-12);
}

TEST(CalibratorTest, ConfidentAnswersUseTheirGroupAndProbabilitiesAreClamped) {
  const Calibrator c = *Calibrator::Create(HandEntry());
  Answer answer;
  answer.scores = {0.99, 0.2, 0.2};  // a larger gap: raw localizability above 0.5
  const CalibratedAnswer a = *c.Apply(answer.Evidence());
  EXPECT_GE(a.raw_localizability, 0.5);
  EXPECT_EQ(a.score_group, 1);
  // Group 1's scores -1, 0.5, inf: level 0.5 has rank 2 (q = 0.5, density e^-0.5, above the
  // peak: an empty region), 0.68 rank 3 (infinite: the whole sphere).
  EXPECT_EQ(a.regions[0].score_quantile, 0.5);
  EXPECT_TRUE(a.regions[0].cells.empty());
  EXPECT_EQ(a.regions[0].area_km2, 0);
  EXPECT_FALSE(a.regions[0].whole_sphere);
  EXPECT_TRUE(a.regions[1].whole_sphere);
  // Probabilities never leave [1 / (n + 1), n / (n + 1)]: n = 10 with truth for P(within), 12
  // photos for P(localizable).
  proto::CalibrationEntry sure = HandEntry();
  sure.mutable_within(0)->mutable_isotonic()->set_y(0, 0.0);
  sure.mutable_within(0)->mutable_isotonic()->set_y(1, 1.0);
  sure.mutable_localizability()->mutable_isotonic()->set_y(0, 1.0);
  const Calibrator s = *Calibrator::Create(sure);
  Answer far;
  far.positions = {{-30, 100}, {-30, 100}, {-30, 100}};  // the best estimate is 12,000 km away
  const CalibratedAnswer f = *s.Apply(far.Evidence());
  EXPECT_NEAR(f.within[0].probability, 1.0 / 11, 1e-15);
  EXPECT_NEAR(f.p_localizable, 12.0 / 13, 1e-15);
  // Near the neighbours the raw mass maps to itself (knots (0, 0), (1, 1)), inside the clamp.
  const CalibratedAnswer n = *s.Apply(Answer().Evidence());
  EXPECT_NEAR(n.within[0].probability, n.within[0].raw_mass, 1e-12);
  EXPECT_LE(n.within[0].probability, 10.0 / 11);
}

TEST(CalibratorTest, LevelsOptionsAndErrors) {
  const Calibrator c = *Calibrator::Create(HandEntry());
  const Answer answer;
  ApplyOptions options;
  options.levels = {0.3, 0.8};
  options.outlines = false;
  const CalibratedAnswer a = *c.Apply(answer.Evidence(), options);
  ASSERT_EQ(a.regions.size(), 2u);
  EXPECT_EQ(a.regions[0].score_quantile, 2.0);           // rank ceil(1.5) = 2
  EXPECT_EQ(a.regions[1].score_quantile, 4.0);           // rank ceil(4.0) = 4
  EXPECT_TRUE(a.regions[0].pieces[0].exterior.empty());  // no outlines asked for
  options.pieces = false;
  const CalibratedAnswer bare = *c.Apply(answer.Evidence(), options);
  EXPECT_TRUE(bare.regions[0].pieces.empty());
  EXPECT_EQ(bare.regions[0].cells, a.regions[0].cells);
  EXPECT_NEAR(bare.regions[0].area_km2, a.regions[0].area_km2, 1e-9 * a.regions[0].area_km2);
  options.levels = {1.0};
  EXPECT_EQ(c.Apply(answer.Evidence(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  Answer bad;
  bad.weights = {1, 1};
  EXPECT_EQ(c.Apply(bad.Evidence()).status().code(), absl::StatusCode::kInvalidArgument);
  bad = Answer();
  bad.masses = {};
  EXPECT_EQ(c.Apply(bad.Evidence()).status().code(), absl::StatusCode::kInvalidArgument);
  // An entry with a classifier term needs the answer's classifier cells.
  proto::CalibrationEntry fused = HandEntry();
  fused.mutable_settings()->set_classifier(true);
  fused.mutable_mixture()->set_classifier(0.04);
  fused.mutable_mixture()->set_floor(0.01);
  const Calibrator cf = *Calibrator::Create(fused);
  EXPECT_EQ(cf.Apply(answer.Evidence()).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<cells::CellId> leaves = {cells::CellIdAt(kPlace, 8)};
  const std::vector<double> p = {1.0};
  AnswerEvidence with_cells = answer.Evidence();
  with_cells.classifier_cells = leaves;
  with_cells.classifier_probabilities = p;
  EXPECT_TRUE(cf.Apply(with_cells).ok());
  // A broken entry is refused at Create.
  proto::CalibrationEntry broken = HandEntry();
  broken.mutable_mixture()->set_floor(0.5);
  EXPECT_EQ(Calibrator::Create(broken).status().code(), absl::StatusCode::kInvalidArgument);
}

// Every level's region has its own cell budget: asking for more levels, as a client may, never
// changes the region of a level asked for alone, also for lost answers and distractors whose
// high-level regions are continent-sized and use up a budget.
TEST(CalibratorTest, ARegionDoesNotChangeWhenOtherLevelsAreAsked) {
  SyntheticAnswerOptions o;
  o.k = 60;
  FitOptions fit;
  fit.regional = true;
  const proto::CalibrationEntry entry =
      *FitCalibrationEntry(SyntheticSettings(o), {"val", MakeSyntheticSplit(o, 31, 600)},
                           {"calib", MakeSyntheticSplit(o, 32, 600)}, fit);
  ASSERT_GT(entry.mixture().regional(), 0);
  const Calibrator c = *Calibrator::Create(entry);
  ApplyOptions all;
  all.region.boundary = BoundaryRule::kInclude;
  all.region.max_cells = 200;
  int capped = 0;
  for (const CalibrationExample& e : MakeSyntheticSplit(o, 33, 12)) {
    const CalibratedAnswer every = *c.Apply(e.Evidence(), all);
    ASSERT_EQ(every.regions.size(), 4u);
    for (size_t i = 0; i < every.regions.size(); ++i) {
      ApplyOptions one = all;
      one.levels = {all.levels[i]};
      const CalibratedAnswer alone = *c.Apply(e.Evidence(), one);
      const ConfidenceRegion& a = alone.regions[0];
      const ConfidenceRegion& b = every.regions[i];
      EXPECT_EQ(a.cells, b.cells) << "level " << a.level;
      EXPECT_EQ(a.area_km2, b.area_km2);
      EXPECT_EQ(a.boundary_area_km2, b.boundary_area_km2);
      EXPECT_EQ(a.pieces.size(), b.pieces.size());
    }
    // Nesting (superlevel_set.h, kInclude): what a lower level's region holds outside a higher
    // level's is only among its own boundary cells.
    for (size_t i = 0; i + 1 < every.regions.size(); ++i) {
      const ConfidenceRegion& lower = every.regions[i];
      const ConfidenceRegion& higher = every.regions[i + 1];
      const double outside =
          lower.area_km2 -
          cells::CellUnionAreaKm2(cells::IntersectCellUnions(lower.cells, higher.cells));
      EXPECT_LE(outside, lower.boundary_area_km2 * (1 + 1e-9) + 1e-6) << "level " << lower.level;
    }
    capped += every.regions_capped;
  }
  EXPECT_GT(capped, 0);  // the budget binds for some answers: the case the rule is for
}

// Calibration photos whose truth got only the floor's density all score -log(floor); a level
// whose quantile is that score must give the whole sphere (ties are inside), even where
// exp(log(floor)) rounds above the floor (it does for a floor weight of 0.025).
TEST(CalibratorTest, AQuantileAtTheFloorIsTheWholeSphere) {
  proto::CalibrationEntry e = HandEntry();
  e.mutable_mixture()->set_narrow(0.725);
  e.mutable_mixture()->set_floor(0.025);
  auto first = Calibrator::Create(e);
  ASSERT_TRUE(first.ok()) << first.status();
  Answer answer;
  auto density = first->Density(answer.Evidence());
  ASSERT_TRUE(density.ok());
  const geo::LatLon antipode{-kPlace.lat, kPlace.lon - 180};
  const double floor_score = -density->LogDensity(geo::ToUnitVector(antipode));
  ASSERT_EQ(floor_score, -std::log(density->FloorDensity()));
  for (proto::ScoreGroup& g : *e.mutable_score_groups()) {
    for (double& s : *g.mutable_scores()) s = floor_score;
  }
  auto c = Calibrator::Create(e);
  ASSERT_TRUE(c.ok()) << c.status();
  ApplyOptions options;
  options.levels = {0.5};
  auto a = c->Apply(answer.Evidence(), options);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_DOUBLE_EQ(a->regions[0].score_quantile, floor_score);
  EXPECT_TRUE(a->regions[0].whole_sphere);
}

TEST(CalibratorTest, DensityIsTheMixture) {
  const Calibrator c = *Calibrator::Create(HandEntry());
  const PredictiveDensity f = *c.Density(Answer().Evidence());
  EXPECT_NEAR(f.Density(geo::ToUnitVector(kPlace)), PeakDensity(), 1e-12 * PeakDensity());
  EXPECT_NEAR(f.floor_weight(), 0.05, 1e-15);
}

TEST(AnswerFeaturesTest, HandComputedFeatures) {
  const PredictiveDensity f = *Calibrator::Create(HandEntry())->Density(Answer().Evidence());
  Answer a;
  a.scores = {0.25, 0.5, 1.5};  // distances: lower is closer
  a.masses = {0.5, 0.25, 0.25};
  const FeatureVector x = AnswerFeatures(a.Evidence(), geo::ScoreKind::kDistance, f);
  EXPECT_EQ(x[0], -0.25);                                       // the closest, negated
  EXPECT_NEAR(x[1], -0.25 - (-(0.25 + 0.5 + 1.5) / 3), 1e-15);  // 0.5
  EXPECT_EQ(x[2], 0.5);
  EXPECT_NEAR(x[4], -(0.5 * std::log(0.5) + 2 * 0.25 * std::log(0.25)), 1e-15);
  EXPECT_EQ(FeatureNames().size(), static_cast<size_t>(kNumFeatures));
  EXPECT_EQ(FeatureNames()[3], "log10_density_at_best");
}

}  // namespace
}  // namespace geoloc::calibration
