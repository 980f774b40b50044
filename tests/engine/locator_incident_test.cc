// Locator::CombineIncident on the fixture's model and a calibrated bundle: copies of one photo
// are exactly as confident as the photo (calibrated regions, P(localizable), peaks), the
// single-photo incident is the photo's own answer, incidents are calibrated by the incident entry
// for their size (uncalibrated without one), and other estimators are refused.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/calibration/calibrator.h"
#include "core/engine/incident.h"
#include "core/geo/distance.h"
#include "core/places/gazetteer.h"
#include "gtest/gtest.h"
#include "locator_fixture.h"
#include "tests/support/calibrated_bundle.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::engine {
namespace {

// What the calibrated bundle holds besides the single-photo entry.
enum class IncidentPart {
  kNone,          // incidents of 2+ photos are uncalibrated
  kSingleCopies,  // incident entries for 2 and 8 photos equal to the single-photo entry
  kFitted2And4,   // incident entries for 2 and 4 photos fitted on other (sharper) answers
};

class LocatorIncidentTest : public LocatorTest {
 protected:
  std::shared_ptr<const Locator> LoadCalibrated(
      const ::geoloc::testing::ScratchDir& dir, IncidentPart part = IncidentPart::kNone,
      calibration::proto::CalibrationFile* out = nullptr) {
    auto file = ::geoloc::testing::SyntheticCalibrationFile(
        (*encoder_)->info().fingerprint,
        {::geoloc::testing::TestCalibrationSettings(10, "spherical_kde")});
    EXPECT_TRUE(file.ok()) << file.status();
    if (!file.ok()) return nullptr;
    if (part == IncidentPart::kSingleCopies) {
      calibration::proto::CalibrationEntry* entry = file->mutable_entries(0);
      for (int photos : {2, 8}) {
        calibration::proto::IncidentCalibration* copy = entry->add_incidents();
        copy->set_photos(photos);
        copy->set_draws_per_place(1);
        *copy->mutable_entry() = *entry;
        copy->mutable_entry()->clear_incidents();
      }
    } else if (part == IncidentPart::kFitted2And4) {
      absl::Status st = ::geoloc::testing::AddSyntheticIncidentCalibrations({2, 4}, &*file);
      EXPECT_TRUE(st.ok()) << st;
    }
    if (out != nullptr) *out = *file;
    const std::string path = dir.file("v1c");
    absl::Status st = ::geoloc::testing::CopyWithCalibration(*dir_ + "/bundles/v1", path, *file);
    EXPECT_TRUE(st.ok()) << st;
    auto locator = Locator::Load(*encoder_, nullptr, path, {});
    EXPECT_TRUE(locator.ok()) << locator.status();
    return locator.ok() ? *locator : nullptr;
  }
};

LocateParams Params() {
  LocateParams p;
  p.k = 10;
  p.estimator.kind = geo::EstimatorKind::kSphericalKde;
  p.region_levels = {0.5, 0.9};
  return p;
}

// The incident entries here equal the single-photo one, so that any difference comes from the
// pooling: n copies of a photo are the photo's evidence once.
TEST_F(LocatorIncidentTest, CopiesOfOnePhotoAreNoMoreConfidentThanThePhoto) {
  ::geoloc::testing::ScratchDir dir("incident");
  auto locator = LoadCalibrated(dir, IncidentPart::kSingleCopies);
  ASSERT_NE(locator, nullptr);
  std::vector<cv::Mat> images;
  for (const Query& q : Queries()) images.push_back(q.image);
  if (images.size() > 4) images.resize(4);
  auto results = locator->LocateImages(images, Params());
  ASSERT_TRUE(results.ok()) << results.status();
  for (const LocateResult& photo : *results) {
    ASSERT_TRUE(photo.calibration.has_value());
    auto one = locator->CombineIncident({photo}, Params(), {});
    ASSERT_TRUE(one.ok()) << one.status();
    // The one-photo incident is the photo's own answer.
    EXPECT_NEAR(one->combined.best.pos.lat, photo.best.pos.lat, 1e-9);
    EXPECT_NEAR(one->combined.best.pos.lon, photo.best.pos.lon, 1e-9);
    ASSERT_TRUE(one->combined.calibration.has_value());
    EXPECT_NEAR(one->combined.calibration->p_localizable, photo.calibration->p_localizable, 1e-6);
    for (int copies : {2, 8}) {
      const std::vector<LocateResult> same(copies, photo);
      auto many = locator->CombineIncident(same, Params(), {});
      ASSERT_TRUE(many.ok()) << many.status();
      EXPECT_NEAR(many->effective_photos, 1.0, 1e-9);
      const calibration::CalibratedAnswer& a = *one->combined.calibration;
      ASSERT_TRUE(many->combined.calibration.has_value());
      const calibration::CalibratedAnswer& b = *many->combined.calibration;
      EXPECT_LE(b.p_localizable, a.p_localizable + 1e-9);
      ASSERT_EQ(a.regions.size(), b.regions.size());
      for (size_t r = 0; r < a.regions.size(); ++r) {
        EXPECT_GE(b.regions[r].area_km2, a.regions[r].area_km2 * (1 - 1e-9)) << copies;
      }
      for (size_t w = 0; w < a.within.size() && w < b.within.size(); ++w) {
        EXPECT_LE(b.within[w].probability, a.within[w].probability + 1e-9);
      }
      ASSERT_EQ(many->combined.peaks.size(), one->combined.peaks.size());
      for (size_t p = 0; p < one->combined.peaks.size(); ++p) {
        EXPECT_NEAR(many->combined.peaks[p].mass, one->combined.peaks[p].mass, 1e-9);
        EXPECT_GE(many->combined.peaks[p].radius_km,
                  one->combined.peaks[p].radius_km * (1 - 1e-9));
      }
      for (const IncidentResult::Photo& part : many->photos) EXPECT_FALSE(part.dissents);
    }
  }
}

// An incident of n >= 2 photos is calibrated by the incident entry with the largest size <= n
// (its own quantiles, not the single photos'); one photo by the single-photo entry.
TEST_F(LocatorIncidentTest, IncidentsAreCalibratedByTheEntryForTheirSize) {
  ::geoloc::testing::ScratchDir dir("incident-sizes");
  calibration::proto::CalibrationFile file;
  auto locator = LoadCalibrated(dir, IncidentPart::kFitted2And4, &file);
  ASSERT_NE(locator, nullptr);
  const calibration::proto::CalibrationEntry& entry = file.entries(0);
  ASSERT_EQ(entry.incidents_size(), 2);
  auto single = calibration::Calibrator::Create(entry);
  auto two = calibration::Calibrator::Create(entry.incidents(0).entry());
  auto four = calibration::Calibrator::Create(entry.incidents(1).entry());
  ASSERT_TRUE(single.ok() && two.ok() && four.ok());
  // The three calibrations' quantiles differ, so the check below tells which one was used.
  ASSERT_NE(single->Quantile(0.5, 0), two->Quantile(0.5, 0));
  ASSERT_NE(two->Quantile(0.5, 0), four->Quantile(0.5, 0));
  ASSERT_NE(single->Quantile(0.5, 0), four->Quantile(0.5, 0));

  std::vector<cv::Mat> images;
  for (const Query& q : Queries()) images.push_back(q.image);
  ASSERT_GE(images.size(), 2u);
  auto results = locator->LocateImages(images, Params());
  ASSERT_TRUE(results.ok()) << results.status();
  const struct {
    int photos;
    const calibration::Calibrator* expected;
  } cases[] = {{1, &*single}, {2, &*two}, {3, &*two}, {4, &*four}, {9, &*four}};
  for (const auto& c : cases) {
    std::vector<LocateResult> photos;
    for (int i = 0; i < c.photos; ++i) photos.push_back((*results)[i % results->size()]);
    auto incident = locator->CombineIncident(photos, Params(), {});
    ASSERT_TRUE(incident.ok()) << incident.status();
    ASSERT_TRUE(incident->combined.calibration.has_value()) << c.photos;
    const calibration::CalibratedAnswer& a = *incident->combined.calibration;
    EXPECT_EQ(a.score_group, c.expected->ScoreGroupOf(a.raw_localizability)) << c.photos;
    ASSERT_EQ(a.regions.size(), 2u);
    for (const calibration::ConfidenceRegion& r : a.regions) {
      EXPECT_EQ(r.score_quantile, c.expected->Quantile(r.level, a.score_group))
          << c.photos << " photos, level " << r.level;
    }
  }
}

// A calibration without incident entries calibrates single photos only: an incident of two or
// more photos is answered uncalibrated (no region claims a coverage nobody measured).
TEST_F(LocatorIncidentTest, WithoutAnIncidentCalibrationIncidentsAreUncalibrated) {
  ::geoloc::testing::ScratchDir dir("incident-none");
  auto locator = LoadCalibrated(dir, IncidentPart::kNone);
  ASSERT_NE(locator, nullptr);
  std::vector<cv::Mat> images;
  for (const Query& q : Queries()) images.push_back(q.image);
  ASSERT_GE(images.size(), 2u);
  images.resize(2);
  auto results = locator->LocateImages(images, Params());
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_TRUE((*results)[0].calibration.has_value());
  auto one = locator->CombineIncident({(*results)[0]}, Params(), {});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->combined.calibration.has_value());
  auto two = locator->CombineIncident(*results, Params(), {});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_FALSE(two->combined.calibration.has_value());
  EXPECT_FALSE(two->combined.abstained);
  EXPECT_EQ(two->combined.calibrate_ms, 0);
}

TEST_F(LocatorIncidentTest, OnlyTheSphericalKdeCanBePooled) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  std::vector<cv::Mat> images = {Queries().front().image};
  LocateParams params = Params();
  params.estimator.kind = geo::EstimatorKind::kNearest;
  auto results = locator->LocateImages(images, params);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(locator->CombineIncident(*results, params, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// With a gazetteer the incident's answer is named like a single photo's: the best estimate, the
// retrieval peak, every peak and every cell carry their nearest place; a one-photo incident's
// best estimate has the photo's own name.
TEST_F(LocatorIncidentTest, AnIncidentIsNamedLikeASinglePhoto) {
  auto gazetteer = places::Gazetteer::Load(std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz");
  ASSERT_TRUE(gazetteer.ok()) << gazetteer.status();
  SnapshotOptions options;
  options.encoder = *encoder_;
  options.gazetteer = *gazetteer;
  auto locator = Locator::Load(*dir_ + "/bundles/v1", options);
  ASSERT_TRUE(locator.ok()) << locator.status();
  const std::vector<Query> queries = Queries();
  ASSERT_GE(queries.size(), 2u);
  LocateParams params = Params();
  params.cell_levels = {6, 10};
  auto results = (*locator)->LocateImages({queries[0].image, queries[1].image}, params);
  ASSERT_TRUE(results.ok()) << results.status();

  const places::Gazetteer& g = **gazetteer;
  auto expect_nearest = [&](const std::optional<places::NamedPlace>& place, geo::LatLon point) {
    ASSERT_TRUE(place.has_value());
    double nearest_km = 1e9;
    for (size_t i = 0; i < g.size(); ++i) {
      nearest_km = std::min(nearest_km, geo::HaversineKm(g.place(i).location, point));
    }
    EXPECT_NEAR(place->distance_km, nearest_km, 1e-6);
    EXPECT_NEAR(geo::HaversineKm(place->location, point), place->distance_km, 1e-6);
    EXPECT_FALSE(place->description.empty());
  };
  auto incident = (*locator)->CombineIncident(*results, params, {});
  ASSERT_TRUE(incident.ok()) << incident.status();
  const LocateResult& r = incident->combined;
  expect_nearest(r.best.place, r.best.pos);
  expect_nearest(r.retrieval.place, r.retrieval.pos);
  ASSERT_FALSE(r.peaks.empty());
  ASSERT_EQ(r.peak_places.size(), r.peaks.size());
  for (size_t i = 0; i < r.peaks.size(); ++i) expect_nearest(r.peak_places[i], r.peaks[i].pos);
  ASSERT_FALSE(r.cells.empty());
  for (const CellConfidence& c : r.cells) expect_nearest(c.place, c.center);

  const LocateResult& photo = results->front();
  auto one = (*locator)->CombineIncident({photo}, params, {});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(one->combined.best.place.has_value());
  ASSERT_TRUE(photo.best.place.has_value());
  EXPECT_EQ(one->combined.best.place->description, photo.best.place->description);
}

}  // namespace
}  // namespace geoloc::engine
