// The Locator with a bundle's calibration (bundle_calibration.h): uncalibrated bundles say so and
// claim no coverage, calibrated ones answer with regions and probabilities that never reach
// certainty, a calibration fitted for other settings or another model is not applied, and a
// broken or tampered calibration file refuses the bundle.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/calibration/record.h"
#include "core/cells/area_region.h"
#include "core/cells/region_cells.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/geo/distance.h"
#include "core/index/bundle_writer.h"
#include "gtest/gtest.h"
#include "locator_fixture.h"
#include "tests/support/calibrated_bundle.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::engine {
namespace {

using ::geoloc::testing::CopyWithCalibration;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::SyntheticCalibrationFile;
using ::geoloc::testing::TestCalibrationSettings;

class LocatorCalibrationTest : public LocatorTest {
 protected:
  // A copy of bundle v1 with a calibration for (k = 10, spherical KDE) and (k = 10, 1-NN) made
  // for `fingerprint` (the served model's unless given).
  std::shared_ptr<const Locator> LoadCalibrated(const ScratchDir& dir,
                                                std::string fingerprint = "") {
    if (fingerprint.empty()) fingerprint = (*encoder_)->info().fingerprint;
    auto file = SyntheticCalibrationFile(
        fingerprint, {TestCalibrationSettings(10, "spherical_kde"),
                      TestCalibrationSettings(10, "nearest")});
    EXPECT_TRUE(file.ok()) << file.status();
    if (!file.ok()) return nullptr;
    const std::string path = dir.file("v1c");
    absl::Status st = CopyWithCalibration(*dir_ + "/bundles/v1", path, *file);
    EXPECT_TRUE(st.ok()) << st;
    auto locator = Locator::Load(*encoder_, nullptr, path, {});
    EXPECT_TRUE(locator.ok()) << locator.status();
    return locator.ok() ? *locator : nullptr;
  }
  std::vector<cv::Mat> Images() const {
    std::vector<cv::Mat> images;
    for (const Query& q : Queries()) images.push_back(q.image);
    return images;
  }
};

LocateParams Params(geo::EstimatorKind kind, int k = 10) {
  LocateParams p;
  p.k = k;
  p.estimator.kind = kind;
  return p;
}

TEST_F(LocatorCalibrationTest, AnUncalibratedBundleAnswersUncalibrated) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  EXPECT_FALSE(locator->calibration().present());
  auto results = locator->LocateImages(Images(), Params(geo::EstimatorKind::kSphericalKde));
  ASSERT_TRUE(results.ok()) << results.status();
  for (const LocateResult& r : *results) {
    EXPECT_FALSE(r.calibration.has_value());
    EXPECT_FALSE(r.abstained);
    EXPECT_EQ(r.calibrate_ms, 0);
  }
}

TEST_F(LocatorCalibrationTest, CalibratedAnswersHaveNestedRegionsAndNoCertainty) {
  ScratchDir dir("calibrated");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  EXPECT_TRUE(locator->calibration().present());
  EXPECT_TRUE(locator->calibration().problem().empty());
  LocateParams params = Params(geo::EstimatorKind::kSphericalKde);
  params.region_levels = {0.5, 0.9};
  auto results = locator->LocateImages(Images(), params);
  ASSERT_TRUE(results.ok()) << results.status();
  for (const LocateResult& r : *results) {
    ASSERT_TRUE(r.calibration.has_value());
    const calibration::CalibratedAnswer& c = *r.calibration;
    EXPECT_TRUE(c.calibrated);
    ASSERT_EQ(c.regions.size(), 2u);
    EXPECT_DOUBLE_EQ(c.regions[0].level, 0.5);
    EXPECT_DOUBLE_EQ(c.regions[1].level, 0.9);
    for (const calibration::ConfidenceRegion& region : c.regions) {
      EXPECT_GE(region.guaranteed_coverage, region.level);
      EXPECT_GT(region.area_km2, 0);
      if (!region.whole_sphere) {
        EXPECT_FALSE(region.pieces.empty());
      }
    }
    // A higher level's region holds the lower one's: its density threshold is lower.
    EXPECT_LE(c.regions[1].density_threshold, c.regions[0].density_threshold);
    EXPECT_GE(c.regions[1].area_km2, c.regions[0].area_km2 * (1 - 1e-6));
    ASSERT_EQ(c.within.size(), 5u);
    for (size_t t = 0; t < c.within.size(); ++t) {
      EXPECT_GT(c.within[t].probability, 0);
      EXPECT_LT(c.within[t].probability, 1);
      if (t > 0) {
        EXPECT_GE(c.within[t].raw_mass, c.within[t - 1].raw_mass - 1e-12);
      }
    }
    EXPECT_GT(c.p_localizable, 0);
    EXPECT_LT(c.p_localizable, 1);
    EXPECT_FALSE(r.abstained);  // abstain_below = 0: never
  }
  // Abstention: everything below a bar no calibrated probability reaches.
  params.abstain_below = 0.999;
  auto strict = locator->LocateImages(Images(), params);
  ASSERT_TRUE(strict.ok()) << strict.status();
  for (const LocateResult& r : *strict) {
    EXPECT_TRUE(r.abstained);
    EXPECT_FALSE(r.peaks.empty());  // still returning what it has
  }
}

// The region budget (LocateParams::region_cells_per_level) only coarsens the regions: a smaller
// one evaluates fewer cells and gives regions that contain the default budget's (its traversal is
// a prefix of theirs, its undecided cells counted inside), with the same thresholds, guarantees
// and probabilities.
TEST_F(LocatorCalibrationTest, ASmallerRegionBudgetCoarsensTheRegionsAndChangesNothingElse) {
  ScratchDir dir("region-budget");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  LocateParams params = Params(geo::EstimatorKind::kSphericalKde);
  auto fine = locator->LocateImages(Images(), params);
  params.region_cells_per_level = kRegionCellsPerLevelRange.min;
  auto coarse = locator->LocateImages(Images(), params);
  ASSERT_TRUE(fine.ok()) << fine.status();
  ASSERT_TRUE(coarse.ok()) << coarse.status();
  ASSERT_EQ(fine->size(), coarse->size());
  int coarser = 0;
  for (size_t i = 0; i < fine->size(); ++i) {
    ASSERT_TRUE((*fine)[i].calibration.has_value());
    ASSERT_TRUE((*coarse)[i].calibration.has_value());
    const calibration::CalibratedAnswer& f = *(*fine)[i].calibration;
    const calibration::CalibratedAnswer& c = *(*coarse)[i].calibration;
    EXPECT_TRUE(c.regions_capped);
    EXPECT_LT(c.cells_evaluated, f.cells_evaluated);
    EXPECT_DOUBLE_EQ(c.p_localizable, f.p_localizable);
    ASSERT_EQ(c.within.size(), f.within.size());
    for (size_t t = 0; t < f.within.size(); ++t) {
      EXPECT_DOUBLE_EQ(c.within[t].probability, f.within[t].probability);
    }
    ASSERT_EQ(c.regions.size(), f.regions.size());
    for (size_t j = 0; j < f.regions.size(); ++j) {
      const calibration::ConfidenceRegion& cr = c.regions[j];
      const calibration::ConfidenceRegion& fr = f.regions[j];
      EXPECT_DOUBLE_EQ(cr.density_threshold, fr.density_threshold);
      EXPECT_DOUBLE_EQ(cr.guaranteed_coverage, fr.guaranteed_coverage);
      EXPECT_GE(cr.area_km2, fr.area_km2 * (1 - 1e-9)) << "answer " << i << " region " << j;
      EXPECT_FALSE(fr.cells.empty());
      for (cells::CellId cell : fr.cells) {
        EXPECT_GE(cells::FindContainingCell(cr.cells, cell), 0)
            << "answer " << i << " region " << j << ": a cell outside the coarser region";
      }
      if (cr.area_km2 > fr.area_km2 * (1 + 1e-6)) ++coarser;
    }
  }
  EXPECT_GT(coarser, 0) << "the budget changed no region";
}

TEST_F(LocatorCalibrationTest, SinglePeakAnswersNoLongerReportCertainty) {
  ScratchDir dir("single-peak");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  auto results = locator->LocateImages(Images(), Params(geo::EstimatorKind::kNearest));
  ASSERT_TRUE(results.ok()) << results.status();
  for (const LocateResult& r : *results) {
    // The share of the evidence behind a lone peak is all of it; that is not a probability.
    EXPECT_DOUBLE_EQ(r.best.weight_share, 1.0);
    ASSERT_TRUE(r.calibration.has_value());
    for (const auto& w : r.calibration->within) EXPECT_LT(w.probability, 1.0);
    EXPECT_LT(r.calibration->p_localizable, 1.0);
  }
}

// Every neighbour in one peak (as under a small hard search area): the peak's mass is the sum of
// the weights, which rounding can put a hair above 1, and the calibration refuses a mass above 1.
// The answer must still be calibrated, never an INTERNAL error (found by `geoloc-eval areas` with
// 10 km discs on the medium proving ground).
TEST_F(LocatorCalibrationTest, OnePeakHoldingEveryNeighbourIsCalibrated) {
  ScratchDir dir("one-peak");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  const std::vector<float> descriptor((*encoder_)->info().dim, 0.0f);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<index::Neighbor> neighbors(10);
    for (int i = 0; i < 10; ++i) {
      neighbors[i].row = i;
      neighbors[i].id = i;
      neighbors[i].score = static_cast<float>(0.5 + 0.4 * unit(rng));
      neighbors[i].lat = 45.0 + 0.0005 * unit(rng);
      neighbors[i].lon = 7.0 + 0.0005 * unit(rng);
    }
    std::sort(neighbors.begin(), neighbors.end(),
              [](const index::Neighbor& a, const index::Neighbor& b) { return a.score > b.score; });
    auto r = locator->Finish(descriptor, neighbors, Params(geo::EstimatorKind::kSphericalKde));
    ASSERT_TRUE(r.ok()) << "trial " << trial << ": " << r.status();
    ASSERT_EQ(r->peaks.size(), 1u);
    EXPECT_LE(r->peak_masses.front(), 1.0);
    EXPECT_TRUE(r->calibration.has_value());
  }
}

TEST_F(LocatorCalibrationTest, OtherSettingsAreNotCalibrated) {
  ScratchDir dir("other-settings");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  // k = 11 and the mean estimator were never calibrated: no coverage is claimed.
  for (const LocateParams& params : {Params(geo::EstimatorKind::kSphericalKde, 11),
                                     Params(geo::EstimatorKind::kMean)}) {
    auto results = locator->LocateImages(Images(), params);
    ASSERT_TRUE(results.ok()) << results.status();
    for (const LocateResult& r : *results) EXPECT_FALSE(r.calibration.has_value());
    EXPECT_FALSE(locator->calibration().CheckServes(locator->AnswerSettingsFor(params)).ok());
  }
  EXPECT_TRUE(locator->calibration()
                  .CheckServes(locator->AnswerSettingsFor(Params(geo::EstimatorKind::kNearest)))
                  .ok());
}

TEST_F(LocatorCalibrationTest, ACalibrationOfAnotherModelIsLoggedAndNotApplied) {
  ScratchDir dir("other-model");
  auto locator = LoadCalibrated(dir, std::string(64, 'a'));
  ASSERT_NE(locator, nullptr);
  EXPECT_TRUE(locator->calibration().present());
  EXPECT_NE(locator->calibration().problem().find("fitted for model"), std::string::npos)
      << locator->calibration().problem();
  auto results = locator->LocateImages(Images(), Params(geo::EstimatorKind::kSphericalKde));
  ASSERT_TRUE(results.ok()) << results.status();
  for (const LocateResult& r : *results) EXPECT_FALSE(r.calibration.has_value());
}

TEST_F(LocatorCalibrationTest, ABrokenOrTamperedCalibrationRefusesTheBundle) {
  ScratchDir dir("broken");
  ASSERT_NE(LoadCalibrated(dir), nullptr);
  const std::string bundle = dir.file("v1c");
  const std::string file = bundle + "/" + calibration::kCalibrationFileName;
  // Tampered after the manifest recorded its SHA-256: the bundle's file check refuses it.
  std::string bytes = *ReadFileToString(file);
  bytes.back() = bytes.back() == ' ' ? '\n' : ' ';
  ASSERT_TRUE(WriteFileAtomically(file, bytes).ok());
  auto tampered = Locator::Load(*encoder_, nullptr, bundle, {});
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kDataLoss) << tampered.status();

  // Checksummed but breaking the record's rules (fitted on the test split): refused by name.
  auto good = SyntheticCalibrationFile((*encoder_)->info().fingerprint,
                                       {TestCalibrationSettings(10, "spherical_kde")});
  ASSERT_TRUE(good.ok()) << good.status();
  good->mutable_entries(0)->mutable_calibration_split()->set_name("test");
  auto json = ToJsonString(*good);
  ASSERT_TRUE(json.ok());
  const std::string staging = dir.file("staging");
  std::filesystem::create_directories(staging);
  ASSERT_TRUE(WriteFileAtomically(staging + "/calibration.json", *json).ok());
  ASSERT_TRUE(index::AddBundleExtra(bundle, {"calibration", staging + "/calibration.json"}).ok());
  auto invalid = Locator::Load(*encoder_, nullptr, bundle, {});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kFailedPrecondition) << invalid.status();
  EXPECT_NE(invalid.status().message().find("calibration"), std::string::npos);
}

// Under a hard area every region is clipped to it (the truth lies inside by the filter's premise):
// outlines stay within the circle up to one boundary cell, areas within the circle widened by one,
// and a whole-sphere level becomes the area itself. A soft prior and no area leave regions whole.
TEST_F(LocatorCalibrationTest, HardAreaRegionsAreClippedToTheArea) {
  ScratchDir dir("clipped");
  auto locator = LoadCalibrated(dir);
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  LocateParams params = Params(geo::EstimatorKind::kSphericalKde);
  params.region_levels = {0.5, 0.9, 0.999};  // 0.999: more than the calibration can promise
  absl::StatusOr<std::vector<LocateResult>> plain =
      locator->LocateImages({queries[0].image}, params);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(plain->front().calibration.has_value());
  const calibration::ConfidenceRegion& plain_whole = plain->front().calibration->regions[2];
  ASSERT_TRUE(plain_whole.whole_sphere) << "the test needs a whole-sphere level";

  // A 25 km circle around the database photo nearest the query's truth.
  const index::Bundle& bundle = locator->bundle();
  geo::LatLon centre{bundle.metadata().lat(0), bundle.metadata().lon(0)};
  for (int64_t r = 1; r < bundle.size(); ++r) {
    const geo::LatLon p{bundle.metadata().lat(r), bundle.metadata().lon(r)};
    if (geo::HaversineKm(p, queries[0].truth) < geo::HaversineKm(centre, queries[0].truth)) {
      centre = p;
    }
  }
  params.area.shape = geo::SearchArea::Shape::kCircle;
  params.area.center = centre;
  params.area.radius_km = 25;
  absl::StatusOr<cells::AreaRegion> area = cells::AreaRegion::Build(params.area);
  ASSERT_TRUE(area.ok()) << area.status();
  const double cell_km = cells::MaxCellDiagonalKm(area->clip_level());
  ASSERT_LT(cell_km, 0.5);
  const double widened_km = params.area.radius_km + cell_km;
  const double widened_km2 = M_PI * widened_km * widened_km;

  absl::StatusOr<std::vector<LocateResult>> hard =
      locator->LocateImages({queries[0].image}, params);
  ASSERT_TRUE(hard.ok()) << hard.status();
  ASSERT_TRUE(hard->front().calibration.has_value());
  const std::vector<calibration::ConfidenceRegion>& regions = hard->front().calibration->regions;
  ASSERT_EQ(regions.size(), 3u);
  for (size_t i = 0; i < regions.size(); ++i) {
    const calibration::ConfidenceRegion& region = regions[i];
    SCOPED_TRACE(region.level);
    EXPECT_DOUBLE_EQ(region.level, params.region_levels[i]);
    EXPECT_FALSE(region.whole_sphere);
    EXPECT_GT(region.area_km2, 0);
    EXPECT_LE(region.area_km2, widened_km2);
    EXPECT_NEAR(region.area_km2, cells::CellUnionAreaKm2(region.cells), 1e-6 * region.area_km2);
    EXPECT_LE(region.boundary_area_km2, region.area_km2);
    ASSERT_FALSE(region.pieces.empty());
    for (const cells::CellUnionPiece& piece : region.pieces) {
      ASSERT_FALSE(piece.exterior.empty());
      for (geo::LatLon v : piece.exterior) EXPECT_LE(geo::HaversineKm(centre, v), widened_km);
      for (const auto& hole : piece.holes) {
        for (geo::LatLon v : hole) EXPECT_LE(geo::HaversineKm(centre, v), widened_km);
      }
    }
  }
  // The whole sphere became the circle: all of it, one piece.
  EXPECT_GE(regions[2].area_km2, area->AreaKm2());
  EXPECT_EQ(regions[2].guaranteed_coverage, plain_whole.guaranteed_coverage);
  ASSERT_EQ(regions[2].pieces.size(), 1u);
  EXPECT_TRUE(regions[2].pieces[0].holes.empty());

  params.area.mode = geo::AreaMode::kSoft;
  absl::StatusOr<std::vector<LocateResult>> soft =
      locator->LocateImages({queries[0].image}, params);
  ASSERT_TRUE(soft.ok()) << soft.status();
  ASSERT_TRUE(soft->front().calibration.has_value());
  const calibration::ConfidenceRegion& soft_whole = soft->front().calibration->regions[2];
  EXPECT_TRUE(soft_whole.whole_sphere);
  EXPECT_EQ(soft_whole.cells, cells::WholeSphereCells());
}

}  // namespace
}  // namespace geoloc::engine
