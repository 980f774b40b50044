// The incident part of a calibration entry (incident_calibration.h): fitted like a single-photo
// entry on incident answers (the quantile is the ceil((n + 1) a)-th of the calibration split's
// scores), validated with the entry, and chosen by incident size.
#include "core/calibration/incident_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/calibration/calibrator.h"
#include "core/calibration/record.h"
#include "core/calibration/synthetic_answers.h"
#include "core/geo/unit_vector.h"
#include "gtest/gtest.h"

namespace geoloc::calibration {
namespace {

SyntheticAnswerOptions SmallWorld() {
  SyntheticAnswerOptions o;
  o.k = 30;
  return o;
}

// An incident calibration for `photos` fitted on small synthetic splits (one score group).
proto::IncidentCalibration FittedPart(int photos, int calibration_examples) {
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 11, 400);
  const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 12, calibration_examples);
  FitOptions options;
  options.score_groups = 1;
  absl::StatusOr<proto::IncidentCalibration> part = FitIncidentCalibration(
      SyntheticSettings(o), photos, 5, {"val", val}, {"calib", calib}, options);
  EXPECT_TRUE(part.ok()) << part.status();
  return part.ok() ? *part : proto::IncidentCalibration();
}

// A single-photo entry with incident parts for `sizes`.
proto::CalibrationEntry EntryWithIncidents(const std::vector<int>& sizes) {
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 1, 400);
  const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 2, 400);
  absl::StatusOr<proto::CalibrationEntry> entry =
      FitCalibrationEntry(SyntheticSettings(o), {"val", val}, {"calib", calib});
  EXPECT_TRUE(entry.ok()) << entry.status();
  for (int photos : sizes) *entry->add_incidents() = FittedPart(photos, 60);
  return *entry;
}

TEST(IncidentCalibrationTest, QuantileIsTheHandCountedScoreOfTheCalibrationIncidents) {
  // Nine calibration incidents with a true place: level a uses the ceil(10 a)-th smallest of
  // their scores -log f(truth) under the fitted density; 0.95 needs a 10th: the whole sphere.
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 12, 9);
  ASSERT_TRUE(std::all_of(calib.begin(), calib.end(),
                          [](const CalibrationExample& e) { return e.truth.has_value(); }));
  const proto::IncidentCalibration part = FittedPart(4, 9);
  EXPECT_EQ(part.photos(), 4);
  EXPECT_EQ(part.draws_per_place(), 5);
  EXPECT_EQ(part.entry().fit_split().name(), "val");
  EXPECT_EQ(part.entry().calibration_split().name(), "calib");
  EXPECT_EQ(part.entry().calibration_split().photos(), 9);
  absl::StatusOr<Calibrator> calibrator = Calibrator::Create(part.entry());
  ASSERT_TRUE(calibrator.ok()) << calibrator.status();
  ASSERT_EQ(calibrator->num_score_groups(), 1);
  std::vector<double> scores;
  for (const CalibrationExample& e : calib) {
    absl::StatusOr<PredictiveDensity> f = calibrator->Density(e.Evidence());
    ASSERT_TRUE(f.ok()) << f.status();
    scores.push_back(-f->LogDensity(geo::ToUnitVector(*e.truth)));
  }
  std::sort(scores.begin(), scores.end());
  EXPECT_DOUBLE_EQ(calibrator->Quantile(0.5, 0), scores[4]);   // ceil(10 x 0.5) = 5th
  EXPECT_DOUBLE_EQ(calibrator->Quantile(0.68, 0), scores[6]);  // ceil(6.8) = 7th
  EXPECT_DOUBLE_EQ(calibrator->Quantile(0.9, 0), scores[8]);   // ceil(9) = 9th
  EXPECT_EQ(calibrator->Quantile(0.95, 0), std::numeric_limits<double>::infinity());
}

TEST(IncidentCalibrationTest, ChosenByTheLargestFittedSizeNotAboveTheIncident) {
  const proto::CalibrationEntry entry = EntryWithIncidents({2, 4, 8});
  ASSERT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry);
  const struct {
    int photos;
    int used;  // 0: none
  } cases[] = {{1, 0}, {2, 2}, {3, 2}, {4, 4}, {7, 4}, {8, 8}, {16, 8}};
  for (const auto& c : cases) {
    const int i = IncidentCalibrationIndex(entry, c.photos);
    if (c.used == 0) {
      EXPECT_EQ(i, -1) << c.photos;
    } else {
      ASSERT_GE(i, 0) << c.photos;
      EXPECT_EQ(entry.incidents(i).photos(), c.used) << c.photos;
    }
  }
  EXPECT_EQ(IncidentCalibrationIndex(EntryWithIncidents({}), 8), -1);
}

TEST(IncidentCalibrationTest, BrokenIncidentPartsAreRefusedWithTheEntry) {
  const proto::CalibrationEntry good = EntryWithIncidents({2, 4});
  ASSERT_TRUE(ValidateEntry(good).ok()) << ValidateEntry(good);
  auto refused = [](const proto::CalibrationEntry& e, const char* why) {
    const absl::Status st = ValidateEntry(e);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_NE(st.message().find("incident calibration"), absl::string_view::npos) << st;
  };
  proto::CalibrationEntry e = good;
  e.mutable_incidents(1)->set_photos(2);
  refused(e, "sizes not increasing");
  e = good;
  e.mutable_incidents(0)->set_photos(1);
  refused(e, "one photo is a single photo");
  e = good;
  e.mutable_incidents(1)->set_photos(17);
  refused(e, "more photos than an incident holds");
  e = good;
  e.mutable_incidents(0)->set_draws_per_place(0);
  refused(e, "no draws");
  e = good;
  e.mutable_incidents(0)->mutable_entry()->mutable_settings()->set_k(31);
  refused(e, "other settings");
  e = good;
  *e.mutable_incidents(0)->mutable_entry()->add_incidents() = good.incidents(1);
  refused(e, "nested incidents");
  e = good;
  e.mutable_incidents(0)->mutable_entry()->mutable_mixture()->set_floor(0.9);
  refused(e, "mixture weights that do not sum to 1");
  e = good;
  e.mutable_incidents(0)->mutable_entry()->mutable_calibration_split()->set_name("test");
  refused(e, "calibrated on the test split");
}

TEST(IncidentCalibrationTest, FitRefusesBadSizesAndTheTestSplit) {
  const SyntheticAnswerOptions o = SmallWorld();
  const std::vector<CalibrationExample> val = MakeSyntheticSplit(o, 11, 200);
  const std::vector<CalibrationExample> calib = MakeSyntheticSplit(o, 12, 200);
  for (int photos : {1, 17}) {
    EXPECT_EQ(
        FitIncidentCalibration(SyntheticSettings(o), photos, 5, {"val", val}, {"calib", calib})
            .status()
            .code(),
        absl::StatusCode::kInvalidArgument);
  }
  const absl::Status st =
      FitIncidentCalibration(SyntheticSettings(o), 2, 5, {"val", val}, {"test", calib}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("incidents of 2 photos"), absl::string_view::npos) << st;
}

// Coverage on held-out incidents. The synthetic incidents are sharper than single photos (more of
// their neighbours agree, in a tighter cluster), as pooled answers are. The incident calibration
// fitted on other such incidents covers held-out ones at its level; the single-photo calibration
// applied to them does not (it over-covers here, by 0.19 at 50%; on the proving ground it
// under-covers, docs/INCIDENTS.md): the bound below is one a calibration fitted on the wrong
// answers fails, which the test checks too.
TEST(IncidentCalibrationTest, IncidentCalibrationCoversHeldOutIncidentsWhereSinglePhotosDoNot) {
  const SyntheticAnswerOptions photo = SmallWorld();
  SyntheticAnswerOptions incident = photo;
  incident.good_share = 0.75;
  incident.good_spread_km = 0.2;
  incident.town_spread_km = 0.5;
  FitOptions options;
  const std::vector<CalibrationExample> photo_val = MakeSyntheticSplit(photo, 1, 1500);
  const std::vector<CalibrationExample> photo_calib = MakeSyntheticSplit(photo, 2, 1500);
  absl::StatusOr<proto::CalibrationEntry> entry = FitCalibrationEntry(
      SyntheticSettings(photo), {"val", photo_val}, {"calib", photo_calib}, options);
  ASSERT_TRUE(entry.ok()) << entry.status();
  const std::vector<CalibrationExample> incident_val = MakeSyntheticSplit(incident, 21, 1500);
  const std::vector<CalibrationExample> incident_calib = MakeSyntheticSplit(incident, 22, 1500);
  absl::StatusOr<proto::IncidentCalibration> part = FitIncidentCalibration(
      SyntheticSettings(photo), 4, 5, {"val", incident_val}, {"calib", incident_calib}, options);
  ASSERT_TRUE(part.ok()) << part.status();
  *entry->add_incidents() = *part;
  ASSERT_TRUE(ValidateEntry(*entry).ok()) << ValidateEntry(*entry);
  const Calibrator single = *Calibrator::Create(*entry);
  const Calibrator served =
      *Calibrator::Create(entry->incidents(IncidentCalibrationIndex(*entry, 4)).entry());

  const std::vector<CalibrationExample> test = MakeSyntheticSplit(incident, 23, 2000);
  const std::vector<double> levels = {0.5, 0.68, 0.9};
  std::vector<int> single_in(levels.size(), 0), served_in(levels.size(), 0);
  int n = 0;
  for (const CalibrationExample& e : test) {
    if (!e.truth.has_value()) continue;
    ++n;
    for (const Calibrator* c : {&single, &served}) {
      const PredictiveDensity f = *c->Density(e.Evidence());
      const double score = -f.LogDensity(geo::ToUnitVector(*e.truth));
      ApplyOptions groups_only;  // no region: the answer's score group is all we need
      groups_only.levels.clear();
      groups_only.pieces = groups_only.outlines = false;
      absl::StatusOr<CalibratedAnswer> answer = c->Apply(e.Evidence(), groups_only);
      ASSERT_TRUE(answer.ok()) << answer.status();
      const int group = answer->score_group;
      for (size_t l = 0; l < levels.size(); ++l) {
        const bool in = score <= c->Quantile(levels[l], group);
        (c == &single ? single_in : served_in)[l] += in;
      }
    }
  }
  ASSERT_GT(n, 1000);
  int single_outside = 0;
  for (size_t l = 0; l < levels.size(); ++l) {
    const double a = levels[l];
    // Binomial spread of the test incidents and of a score group's calibration scores (about
    // 450 each).
    const double sd = std::sqrt(a * (1 - a) / n + a * (1 - a) / 450);
    const double served_coverage = static_cast<double>(served_in[l]) / n;
    const double single_coverage = static_cast<double>(single_in[l]) / n;
    EXPECT_NEAR(served_coverage, a, 3.5 * sd) << "incident calibration at " << a;
    single_outside += std::abs(single_coverage - a) > 3.5 * sd;
    std::printf("level %.2f: incident calibration %.3f, single-photo %.3f (bound +-%.3f)\n", a,
                served_coverage, single_coverage, 3.5 * sd);
  }
  EXPECT_GE(single_outside, 1) << "the single-photo calibration passed the incident bound";
}

}  // namespace
}  // namespace geoloc::calibration
