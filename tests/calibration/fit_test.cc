#include "core/calibration/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/calibration/calibrator.h"
#include "core/calibration/conformal.h"
#include "core/calibration/record.h"
#include "core/calibration/reliability.h"
#include "core/calibration/synthetic_answers.h"
#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

SyntheticAnswerOptions SmallWorld() {
  SyntheticAnswerOptions o;
  o.k = 30;
  return o;
}

// Fit on "val", calibrate on "calib", measure on "test": three disjoint synthetic splits.
class FitCoverageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const SyntheticAnswerOptions o = SmallWorld();
    val_ = new std::vector<CalibrationExample>(MakeSyntheticSplit(o, 1, 1500));
    calib_ = new std::vector<CalibrationExample>(MakeSyntheticSplit(o, 2, 2000));
    test_ = new std::vector<CalibrationExample>(MakeSyntheticSplit(o, 3, 3000));
    absl::StatusOr<proto::CalibrationEntry> entry =
        FitCalibrationEntry(SyntheticSettings(o), {"val", *val_}, {"calib", *calib_});
    ASSERT_TRUE(entry.ok()) << entry.status();
    entry_ = new proto::CalibrationEntry(*entry);
  }
  static void TearDownTestSuite() {
    delete val_;
    delete calib_;
    delete test_;
    delete entry_;
  }
  static std::vector<CalibrationExample>* val_;
  static std::vector<CalibrationExample>* calib_;
  static std::vector<CalibrationExample>* test_;
  static proto::CalibrationEntry* entry_;
};
std::vector<CalibrationExample>* FitCoverageTest::val_ = nullptr;
std::vector<CalibrationExample>* FitCoverageTest::calib_ = nullptr;
std::vector<CalibrationExample>* FitCoverageTest::test_ = nullptr;
proto::CalibrationEntry* FitCoverageTest::entry_ = nullptr;

// The share of an entry's calibration scores tied at its largest score: photos whose truth got
// only the floor's density.
double ShareTiedAtTheTop(const proto::CalibrationEntry& e) {
  double top = -std::numeric_limits<double>::infinity();
  int64_t n = 0, tied = 0;
  for (const proto::ScoreGroup& g : e.score_groups()) {
    for (double s : g.scores()) top = std::max(top, s);
  }
  for (const proto::ScoreGroup& g : e.score_groups()) {
    for (double s : g.scores()) {
      ++n;
      tied += s == top;
    }
  }
  return static_cast<double>(tied) / static_cast<double>(n);
}

TEST(FitTest, RegionalTermKeepsLostPhotosScoresOffTheFloor) {
  // Towns over the whole world and found photos' true places a few km from their good neighbours:
  // the likelihood wants a 5 km broad kernel, and a lost photo (every neighbour in other towns,
  // about a thousand km and more away) then gets the floor's density alone. Without the regional
  // term its score ties with every other such photo's, and the high levels' quantiles fall on
  // that atom.
  SyntheticAnswerOptions o = SmallWorld();
  o.lat_min = -50;
  o.lat_max = 65;
  o.lon_min = -170;
  o.lon_max = 170;
  o.good_spread_km = 3;
  const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 11, 1000);
  const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 12, 1000);
  FitOptions without;
  without.regional = false;
  const proto::CalibrationEntry old =
      *FitCalibrationEntry(SyntheticSettings(o), {"val", val}, {"calib", calib}, without);
  FitOptions with;
  with.regional = true;
  const proto::CalibrationEntry e =
      *FitCalibrationEntry(SyntheticSettings(o), {"val", val}, {"calib", calib}, with);
  EXPECT_EQ(old.mixture().regional(), 0);
  EXPECT_LE(old.mixture().broad_bandwidth_km(), 25);
  EXPECT_GT(e.mixture().regional(), 0.01);
  EXPECT_GT(e.mixture().regional_bandwidth_km(), e.mixture().broad_bandwidth_km());
  // More terms never fit the fit split worse (up to the prior's pseudo-counts).
  EXPECT_GT(e.mixture().mean_log_likelihood(), old.mixture().mean_log_likelihood());
  EXPECT_GT(ShareTiedAtTheTop(old), 0.1);
  EXPECT_LT(ShareTiedAtTheTop(e), 0.01);
}

TEST_F(FitCoverageTest, EntryDescribesItsFit) {
  const proto::CalibrationEntry& e = *entry_;
  EXPECT_EQ(e.fit_split().name(), "val");
  EXPECT_EQ(e.fit_split().photos(), 1500);
  EXPECT_EQ(e.calibration_split().name(), "calib");
  int64_t scores = 0;
  ASSERT_EQ(e.score_groups_size(), 3);
  for (const proto::ScoreGroup& g : e.score_groups()) {
    scores += g.scores_size();
    EXPECT_TRUE(std::is_sorted(g.scores().begin(), g.scores().end()));
    EXPECT_GT(g.scores_size(), 300);
  }
  EXPECT_EQ(scores, e.calibration_split().with_truth());
  EXPECT_GT(e.calibration_split().with_truth(), 1500);  // about 90% have a place
  // Every term earns weight here: localizable photos (narrow), wrong-town neighbours near the
  // region (broad and regional) and photos far from all neighbours (floor).
  EXPECT_GT(e.mixture().narrow(), 0.05);
  EXPECT_GT(e.mixture().broad() + e.mixture().regional(), 0.05);
  EXPECT_GT(e.mixture().floor(), 0.0);
  EXPECT_EQ(e.mixture().classifier(), 0);
  EXPECT_EQ(e.within_size(), 5);
  EXPECT_TRUE(ValidateEntry(e).ok());
}

// The conformal guarantee on held-out photos: within each score group, the truth lies in the
// region at the nominal rate. Bound: 3.5 standard deviations of the two binomial draws
// (calibration quantile and test count), 5 to 8 points per group at level 0.5 and 3 to 4 at 0.95;
// a region at the wrong threshold (exp(+q) instead of exp(-q), the wrong group's quantile, a
// quantile of the wrong rank by several percent) misses by more.
TEST_F(FitCoverageTest, RegionsCoverAtTheNominalRateInEveryGroup) {
  const Calibrator calibrator = *Calibrator::Create(*entry_);
  ApplyOptions options;
  options.outlines = false;
  const std::vector<double> levels = options.levels;
  const int groups = calibrator.num_score_groups();
  ASSERT_EQ(groups, 3);
  // [group][level]
  std::vector<std::vector<int>> covered(groups, std::vector<int>(levels.size(), 0));
  std::vector<std::vector<int>> exact = covered;
  std::vector<std::vector<std::vector<double>>> areas(
      groups, std::vector<std::vector<double>>(levels.size()));
  std::vector<int> n(groups, 0);
  int disagree = 0, total = 0;
  for (const CalibrationExample& e : *test_) {
    if (!e.truth.has_value()) continue;
    const CalibratedAnswer a = *calibrator.Apply(e.Evidence(), options);
    const PredictiveDensity f = *calibrator.Density(e.Evidence());
    const double score = -f.LogDensity(geo::ToUnitVector(*e.truth));
    const int g = a.score_group;
    EXPECT_EQ(g, calibrator.ScoreGroupOf(a.raw_localizability));
    ++n[g];
    ++total;
    for (size_t i = 0; i < levels.size(); ++i) {
      const bool in_cells = cells::CellUnionContains(a.regions[i].cells, *e.truth);
      const bool in_set = score <= a.regions[i].score_quantile;
      EXPECT_EQ(a.regions[i].guaranteed_coverage, calibrator.GuaranteedCoverage(levels[i], g));
      covered[g][i] += in_cells;
      exact[g][i] += in_set;
      disagree += in_cells != in_set;
      areas[g][i].push_back(a.regions[i].area_km2);
    }
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  for (int g = 0; g < groups; ++g) {
    ASSERT_GT(n[g], 300) << "group " << g;
    const double n_cal = entry_->score_groups(g).scores_size();
    for (size_t i = 0; i < levels.size(); ++i) {
      const double a = levels[i];
      const double sd = std::sqrt(a * (1 - a) / n[g] + a * (1 - a) / n_cal);
      const double guaranteed = calibrator.GuaranteedCoverage(a, g);
      EXPECT_NEAR(static_cast<double>(covered[g][i]) / n[g], guaranteed, 3.5 * sd)
          << "group " << g << " level " << a;
      EXPECT_NEAR(static_cast<double>(exact[g][i]) / n[g], guaranteed, 3.5 * sd)
          << "group " << g << " level " << a;
    }
    // Higher levels, larger regions.
    for (size_t i = 1; i < levels.size(); ++i) {
      EXPECT_GE(median(areas[g][i]), median(areas[g][i - 1])) << "group " << g;
    }
  }
  // The point of the groups: the confident answers' 90% regions are far smaller than the others'.
  EXPECT_LT(median(areas[groups - 1][2]), 0.01 * median(areas[0][2]));
  // The cells are the exact set up to boundary cells: the two memberships rarely differ (about 1%
  // with the default cell budget, which coarsens the outlines of the largest regions; a wrong
  // boundary rule or threshold gives 10% and more).
  EXPECT_LT(disagree, 0.02 * total * levels.size());
}

TEST_F(FitCoverageTest, ProbabilitiesAreCalibratedOnHeldOutPhotos) {
  const Calibrator calibrator = *Calibrator::Create(*entry_);
  ApplyOptions options;
  options.levels = {0.5};
  options.outlines = false;
  std::vector<std::vector<double>> p(5), hit(5);
  std::vector<double> p_loc, localized;
  double p_loc_distractors = 0, p_loc_good = 0;
  int distractors = 0, good = 0;
  for (const CalibrationExample& e : *test_) {
    const CalibratedAnswer a = *calibrator.Apply(e.Evidence(), options);
    const bool is_localized = e.truth.has_value() && geo::HaversineKm(e.best, *e.truth) <= 25;
    p_loc.push_back(a.p_localizable);
    localized.push_back(is_localized);
    if (!e.truth.has_value()) {
      p_loc_distractors += a.p_localizable;
      ++distractors;
    } else if (is_localized) {
      p_loc_good += a.p_localizable;
      ++good;
    }
    if (!e.truth.has_value()) continue;
    const double error = geo::HaversineKm(e.best, *e.truth);
    for (size_t t = 0; t < a.within.size(); ++t) {
      p[t].push_back(a.within[t].probability);
      hit[t].push_back(error <= a.within[t].threshold_km);
      EXPECT_GT(a.within[t].probability, 0);  // never certain either way
      EXPECT_LT(a.within[t].probability, 1);
    }
  }
  for (size_t t = 0; t < p.size(); ++t) {
    const double ece = ExpectedCalibrationError(*ReliabilityBins(p[t], hit[t]));
    EXPECT_LT(ece, 0.03) << entry_->within(t).threshold_km() << " km";
  }
  EXPECT_LT(ExpectedCalibrationError(*ReliabilityBins(p_loc, localized)), 0.03);
  // Distractors look unlocalizable, localized photos look localizable.
  EXPECT_LT(p_loc_distractors / distractors, 0.3);
  EXPECT_GT(p_loc_good / good, 0.7);
  // Abstaining on low P(localizable) lowers the risk.
  const std::vector<RiskCoveragePoint> curve = *RiskCoverageCurve(p_loc, localized);
  const RiskCoveragePoint all = curve.back();
  const RiskCoveragePoint half = *ThresholdForRisk(curve, all.risk / 2);
  EXPECT_GT(half.coverage, 0.3);
}

TEST(FitTest, RefusesTestSplitsSameSplitsAndEmptySplits) {
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> a = MakeSyntheticSplit(o, 4, 200);
  const std::vector<CalibrationExample> b = MakeSyntheticSplit(o, 5, 200);
  const EstimatorSettings s = SyntheticSettings(o);
  EXPECT_EQ(FitCalibrationEntry(s, {"test", a}, {"calib", b}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitCalibrationEntry(s, {"val", a}, {"test", b}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitCalibrationEntry(s, {"val", a}, {"val", b}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitCalibrationEntry(s, {"val", {}}, {"calib", b}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<CalibrationExample> distractors = b;
  for (CalibrationExample& e : distractors) e.truth.reset();
  EXPECT_EQ(FitCalibrationEntry(s, {"val", a}, {"calib", distractors}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<CalibrationExample> broken = a;
  broken[7].weights.pop_back();
  const absl::Status bad = FitCalibrationEntry(s, {"val", broken}, {"calib", b}).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), ::testing::HasSubstr("val photo 7"));
  FitOptions options;
  options.broad_bandwidths_km = {};
  EXPECT_FALSE(FitCalibrationEntry(s, {"val", a}, {"calib", b}, options).ok());
}

TEST(FitTest, TinyCalibrationSplitGivesWholeSphereAtHighLevels) {
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 6, 400);
  std::vector<CalibrationExample> calib;
  for (const CalibrationExample& e : MakeSyntheticSplit(o, 7, 60)) {
    if (e.truth.has_value() && calib.size() < 9) calib.push_back(e);
  }
  // Localizable and not: both present among nine photos with a place, or the isotonic map is
  // constant; either way the fit works.
  FitOptions one_group;
  one_group.score_groups = 1;
  const proto::CalibrationEntry entry =
      *FitCalibrationEntry(SyntheticSettings(o), {"val", val}, {"calib", calib}, one_group);
  ASSERT_EQ(entry.score_groups_size(), 1);
  EXPECT_EQ(entry.score_groups(0).scores_size(), 9);
  const Calibrator c = *Calibrator::Create(entry);
  const CalibratedAnswer a = *c.Apply(val[0].Evidence());
  // n = 9: levels 0.5 and 0.68 have ranks 5 and 7; 0.9 has rank 9; 0.95 has rank 10 > 9.
  EXPECT_FALSE(a.regions[0].whole_sphere);
  EXPECT_FALSE(a.regions[2].whole_sphere);
  EXPECT_TRUE(a.regions[3].whole_sphere);
  EXPECT_EQ(a.regions[3].guaranteed_coverage, 1.0);
  EXPECT_NEAR(a.regions[3].area_km2, 4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm,
              1e-3 * 4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm);
  EXPECT_DOUBLE_EQ(a.regions[2].guaranteed_coverage, 0.9);
  // Probabilities from 9 photos never pass 9/10.
  for (const WithinProbability& w : a.within) {
    EXPECT_GE(w.probability, 0.1 - 1e-12);
    EXPECT_LE(w.probability, 0.9 + 1e-12);
  }
}

}  // namespace
}  // namespace geoloc::calibration
