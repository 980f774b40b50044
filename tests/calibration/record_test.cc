#include "core/calibration/record.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "core/calibration/answer_features.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/calibration/test_support.h"

namespace geoloc::calibration {
namespace {

using ::testing::HasSubstr;

using testing::HandEntry;

proto::CalibrationFile HandFile() {
  proto::CalibrationFile f;
  f.set_format_version(kCalibrationFormatVersion);
  f.set_model_fingerprint("abc123");
  f.set_created_by("record_test");
  *f.add_entries() = HandEntry();
  return f;
}

TEST(RecordTest, HandEntryIsValidAndRoundTripsThroughJson) {
  ASSERT_TRUE(ValidateEntry(HandEntry()).ok()) << ValidateEntry(HandEntry());
  const std::string path = ::testing::TempDir() + "/calibration.json";
  ASSERT_TRUE(WriteCalibrationFile(path, HandFile()).ok());
  const std::string text = *ReadFileToString(path);
  EXPECT_THAT(text, HasSubstr("\"Infinity\""));  // an infinite score survives as JSON
  EXPECT_THAT(text, HasSubstr("\"score_groups\""));
  const proto::CalibrationFile back = *ReadCalibrationFile(path);
  EXPECT_EQ(back.SerializeAsString(), HandFile().SerializeAsString());
  EXPECT_TRUE(std::isinf(back.entries(0).score_groups(1).scores(2)));
  std::remove(path.c_str());
}

TEST(RecordTest, EveryRuleIsEnforced) {
  auto broken = [](auto edit) {
    proto::CalibrationEntry e = HandEntry();
    edit(&e);
    return ValidateEntry(e);
  };
  using E = proto::CalibrationEntry;
  const auto invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(broken([](E* e) { e->mutable_settings()->set_estimator("magic"); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_settings()->set_score_kind("cosine"); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_settings()->set_k(0); }).code(), invalid);
  EXPECT_THAT(broken([](E* e) { e->mutable_calibration_split()->set_name("test"); }).message(),
              HasSubstr("test split"));
  EXPECT_EQ(broken([](E* e) { e->mutable_fit_split()->set_name("test"); }).code(), invalid);
  EXPECT_THAT(broken([](E* e) { e->mutable_fit_split()->set_name("calib"); }).message(),
              HasSubstr("both 'calib'"));
  EXPECT_EQ(broken([](E* e) { e->mutable_fit_split()->set_name(""); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_mixture()->set_floor(0.2); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_mixture()->set_narrow(-0.1); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) {
              e->mutable_mixture()->set_classifier(0.05);
              e->mutable_mixture()->set_floor(0.0);
            }).code(),
            invalid);  // classifier weight without the classifier
  EXPECT_EQ(broken([](E* e) { e->mutable_mixture()->set_broad_bandwidth_km(0); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->clear_score_groups(); }).code(), invalid);
  EXPECT_EQ(
      broken([](E* e) { e->mutable_score_groups(0)->set_from_raw_localizability(0.1); }).code(),
      invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_score_groups(1)->set_from_raw_localizability(0); }).code(),
            invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_score_groups(0)->set_scores(0, 9.0); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_score_groups(0)->set_scores(0, NAN); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_calibration_split()->set_with_truth(6); }).code(),
            invalid);  // 7 scores from 6 photos
  EXPECT_EQ(broken([](E* e) { e->mutable_within(0)->set_threshold_km(0); }).code(), invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_within(0)->mutable_isotonic()->set_y(1, 1.5); }).code(),
            invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_within(0)->mutable_isotonic()->set_y(1, 0.0); }).code(),
            invalid);  // decreasing
  EXPECT_THAT(broken([](E* e) { e->mutable_localizability()->set_features(1, "gap"); }).message(),
              HasSubstr("localizability features"));
  EXPECT_EQ(broken([](E* e) { e->mutable_localizability()->set_feature_scale(0, 0); }).code(),
            invalid);
  EXPECT_EQ(broken([](E* e) { e->mutable_localizability()->clear_isotonic(); }).code(), invalid);
}

TEST(RecordTest, FileRules) {
  proto::CalibrationFile f = HandFile();
  EXPECT_TRUE(ValidateCalibrationFile(f).ok());
  f.set_format_version(2);
  EXPECT_FALSE(ValidateCalibrationFile(f).ok());
  f = HandFile();
  f.clear_model_fingerprint();
  EXPECT_FALSE(ValidateCalibrationFile(f).ok());
  f = HandFile();
  *f.add_entries() = HandEntry();  // the same settings twice
  EXPECT_THAT(ValidateCalibrationFile(f).message(), HasSubstr("same settings"));
  f.mutable_entries(1)->mutable_settings()->set_k(50);
  EXPECT_TRUE(ValidateCalibrationFile(f).ok());
  // Writing refuses an invalid file and leaves nothing behind.
  const std::string path = ::testing::TempDir() + "/bad_calibration.json";
  f.set_format_version(0);
  EXPECT_FALSE(WriteCalibrationFile(path, f).ok());
  EXPECT_FALSE(ReadFileToString(path).ok());
  // Reading refuses a file that parses but breaks a rule, naming the file.
  proto::CalibrationFile bad = HandFile();
  bad.mutable_entries(0)->mutable_mixture()->set_floor(0.5);
  ASSERT_TRUE(WriteJsonProtoAtomically(path, bad).ok());
  const absl::Status read = ReadCalibrationFile(path).status();
  EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.message(), HasSubstr(path));
  std::remove(path.c_str());
  EXPECT_FALSE(ReadCalibrationFile(path).ok());  // missing
}

TEST(RecordTest, SettingsMustMatchExactly) {
  const proto::EstimatorSettings fitted = SettingsToProto(EstimatorSettings{});
  EXPECT_TRUE(CheckSettings(fitted, EstimatorSettings{}).ok());
  EstimatorSettings s;
  s.bandwidth_km = 0.5 * (1 + 1e-12);  // rounding: still the same
  EXPECT_TRUE(CheckSettings(fitted, s).ok());
  auto differs = [&](auto edit, absl::string_view what) {
    EstimatorSettings a;
    edit(&a);
    const absl::Status status = CheckSettings(fitted, a);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << what;
    EXPECT_THAT(status.message(), HasSubstr(what));
  };
  differs([](EstimatorSettings* a) { a->k = 60; }, "k = 60");
  differs([](EstimatorSettings* a) { a->bandwidth_km = 0.25; }, "bandwidth 0.25 km");
  differs([](EstimatorSettings* a) { a->weight_exponent_m = 2; }, "m = 2");
  differs([](EstimatorSettings* a) { a->estimator = "nearest"; }, "estimator nearest");
  differs([](EstimatorSettings* a) { a->score_kind = geo::ScoreKind::kDistance; },
          "score kind distance");
  differs([](EstimatorSettings* a) { a->classifier = true; }, "classifier");
  const EstimatorSettings round_trip = *SettingsFromProto(fitted);
  EXPECT_EQ(DescribeSettings(round_trip), "spherical_kde k=100 m=5 h=0.5km similarity");
}

TEST(RecordTest, FindEntryChecksModelAndSettings) {
  proto::CalibrationFile f = HandFile();
  *f.add_entries() = HandEntry();
  f.mutable_entries(1)->mutable_settings()->set_k(50);
  EstimatorSettings s;
  EXPECT_EQ(*FindEntry(f, "abc123", s), &f.entries(0));
  s.k = 50;
  EXPECT_EQ(*FindEntry(f, "abc123", s), &f.entries(1));
  EXPECT_EQ(FindEntry(f, "other", s).status().code(), absl::StatusCode::kFailedPrecondition);
  s.k = 70;
  const absl::Status missing = FindEntry(f, "abc123", s).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("k=100"));
  EXPECT_THAT(missing.message(), HasSubstr("k=50"));
}

}  // namespace
}  // namespace geoloc::calibration
