// Search areas through the Locator (core/geo/search_area.h): a hard area retrieves the best
// database photos inside it (what a global search restricted to the area ranks first), an area
// without photos and a broken shape are per-image errors, a soft prior pulls the answer toward
// its centre when narrow and leaves it when broad, and Explain's Locate honours the area.
#include <algorithm>
#include <vector>

#include "core/geo/distance.h"
#include "core/model/preprocess.h"
#include "tests/engine/locator_fixture.h"

namespace geoloc::engine {
namespace {

// Every database photo's position.
std::vector<geo::LatLon> Positions(const index::Bundle& bundle) {
  std::vector<geo::LatLon> out;
  for (int64_t r = 0; r < bundle.size(); ++r) {
    out.push_back({bundle.metadata().lat(r), bundle.metadata().lon(r)});
  }
  return out;
}

// A circle around `center` holding about `count` database photos.
geo::SearchArea CircleHolding(const std::vector<geo::LatLon>& photos, geo::LatLon center,
                              size_t count) {
  std::vector<double> d;
  for (geo::LatLon p : photos) d.push_back(geo::HaversineKm(center, p));
  std::sort(d.begin(), d.end());
  geo::SearchArea area;
  area.shape = geo::SearchArea::Shape::kCircle;
  area.center = center;
  area.radius_km = d[std::min(count, d.size()) - 1] + 1e-3;
  return area;
}

absl::StatusOr<LocateResult> LocateOne(const Locator& locator, const cv::Mat& image,
                                       const LocateParams& params) {
  absl::StatusOr<std::vector<LocateResult>> r = locator.LocateImages({image}, params);
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

TEST_F(LocatorTest, HardAreaRetrievesTheBestPhotosInsideIt) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const index::Bundle& bundle = locator->bundle();
  ASSERT_LE(bundle.size(), kMaxK) << "the reference ranks the whole bundle";
  const std::vector<geo::LatLon> photos = Positions(bundle);
  const std::vector<Query> queries = Queries();
  ASSERT_GE(queries.size(), 2u);
  for (size_t qi = 0; qi < 2; ++qi) {
    // The area is around another query's truth, so the global answer is mostly outside it.
    const geo::LatLon elsewhere = queries[(qi + 1) % queries.size()].truth;
    LocateParams params;
    params.k = 10;
    params.area = CircleHolding(photos, elsewhere, 25);
    absl::StatusOr<LocateResult> hard = LocateOne(*locator, queries[qi].image, params);
    ASSERT_TRUE(hard.ok()) << hard.status();

    // Reference: the whole bundle ranked globally, restricted to the area, first k.
    std::vector<float> descriptor(bundle.dim());
    const model::ModelInfo& info = locator->model_info();
    std::vector<float> pixels(model::PreprocessedSize(info));
    ASSERT_TRUE(model::PreprocessInto(queries[qi].image, info, pixels.data()).ok());
    ASSERT_TRUE(locator->Encode(pixels.data(), 1, descriptor.data()).ok());
    auto all = locator->Search(descriptor, static_cast<int>(bundle.size()), 0, 0);
    ASSERT_TRUE(all.ok()) << all.status();
    std::vector<int64_t> want;
    for (const index::Neighbor& nb : all->front()) {
      if (geo::HaversineKm(elsewhere, {nb.lat, nb.lon}) <= params.area.radius_km) {
        want.push_back(nb.row);
      }
      if (want.size() == 10) break;
    }
    std::vector<int64_t> got;
    for (const index::Neighbor& nb : hard->neighbors) got.push_back(nb.row);
    EXPECT_EQ(got, want);
    // The answer is given the area: its estimate lies within it (the peaks are of its photos).
    EXPECT_LE(geo::HaversineKm(hard->best.pos, elsewhere), params.area.radius_km + 1);
  }
}

TEST_F(LocatorTest, AnAreaWithoutPhotosOrABrokenShapeIsThatImagesError) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  const std::vector<geo::LatLon> photos = Positions(locator->bundle());
  // A point far from every photo: the antipode of the first, if no photo is within 100 km.
  geo::LatLon empty_spot{-photos[0].lat, geo::NormalizeLongitude(photos[0].lon + 180)};
  for (geo::LatLon p : photos) ASSERT_GT(geo::HaversineKm(p, empty_spot), 100);

  std::vector<LocateParams> params(3);
  params[0].area.shape = geo::SearchArea::Shape::kCircle;
  params[0].area.center = empty_spot;
  params[0].area.radius_km = 50;
  params[1].area.shape = geo::SearchArea::Shape::kPolygon;
  params[1].area.polygon = {{0, 0}, {1, 1}, {0, 1}, {1, 0}};  // a bow tie
  // params[2]: no area, in the same batch.
  const model::ModelInfo& info = locator->model_info();
  const size_t floats = model::PreprocessedSize(info);
  std::vector<float> images(3 * floats);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(model::PreprocessInto(queries[0].image, info, images.data() + i * floats).ok());
  }
  std::vector<absl::StatusOr<LocateResult>> results(3, absl::UnknownError("not called"));
  ASSERT_TRUE(locator
                  ->LocateBatch(
                      images, params, nullptr, nullptr,
                      [&](size_t i, absl::StatusOr<LocateResult> r) { results[i] = std::move(r); })
                  .ok());
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(results[0].status().message().find("no database photo lies inside"),
            absl::string_view::npos)
      << results[0].status();
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(results[1].status().message().find("area.polygon"), absl::string_view::npos)
      << results[1].status();
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  EXPECT_EQ(results[2]->neighbors.size(), static_cast<size_t>(params[2].k));
}

TEST_F(LocatorTest, SoftPriorPullsTowardItsCentreWhenNarrowAndNotWhenBroad) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  LocateParams params;
  absl::StatusOr<LocateResult> plain = LocateOne(*locator, queries[0].image, params);
  ASSERT_TRUE(plain.ok()) << plain.status();
  // The neighbour farthest from the plain answer within 1000 km: a narrow prior there must move
  // the answer to it; a broad one (sigma 8,170 km: weights within 1% over 1000 km) must not.
  geo::LatLon far = plain->best.pos;
  for (const index::Neighbor& nb : plain->neighbors) {
    const double d = geo::HaversineKm(plain->best.pos, {nb.lat, nb.lon});
    if (d <= 1000 && d > geo::HaversineKm(plain->best.pos, far)) far = {nb.lat, nb.lon};
  }
  ASSERT_GT(geo::HaversineKm(plain->best.pos, far), 20);
  params.area.shape = geo::SearchArea::Shape::kCircle;
  params.area.mode = geo::AreaMode::kSoft;
  params.area.center = far;
  params.area.radius_km = 5;
  absl::StatusOr<LocateResult> narrow = LocateOne(*locator, queries[0].image, params);
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  EXPECT_LT(geo::HaversineKm(narrow->best.pos, far), 5);
  // The candidates are the global neighbours plus the best inside the prior's support.
  ASSERT_GE(narrow->neighbors.size(), plain->neighbors.size());
  for (const index::Neighbor& g : plain->neighbors) {
    EXPECT_TRUE(std::any_of(narrow->neighbors.begin(), narrow->neighbors.end(),
                            [&](const index::Neighbor& n) { return n.row == g.row; }));
  }
  int inside = 0;
  for (const index::Neighbor& n : narrow->neighbors) {
    inside += geo::HaversineKm(far, {n.lat, n.lon}) <= geo::SoftPriorSupportKm(5);
  }
  EXPECT_GT(inside, 1);

  params.area.radius_km = 20000;
  absl::StatusOr<LocateResult> broad = LocateOne(*locator, queries[0].image, params);
  ASSERT_TRUE(broad.ok()) << broad.status();
  EXPECT_LT(geo::HaversineKm(broad->best.pos, plain->best.pos), 0.5);
}

TEST_F(LocatorTest, ExplainLocatesGivenTheArea) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  const std::vector<geo::LatLon> photos = Positions(locator->bundle());
  LocateParams params;
  params.k = 8;
  params.area = CircleHolding(photos, queries[1].truth, 15);
  ExplainTarget target;  // the top peak
  absl::StatusOr<ExplainResult> explained =
      locator->Explain(queries[0].image, target, params, /*render_overlay=*/false);
  ASSERT_TRUE(explained.ok()) << explained.status();
  ASSERT_FALSE(explained->locate.neighbors.empty());
  for (const index::Neighbor& nb : explained->locate.neighbors) {
    EXPECT_LE(geo::HaversineKm(params.area.center, {nb.lat, nb.lon}), params.area.radius_km);
  }
}

}  // namespace
}  // namespace geoloc::engine
