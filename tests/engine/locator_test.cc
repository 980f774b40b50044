// The Locator on the shared server fixture (tests/support/make_fixture.sh server): a real model, a real
// bundle, the synthetic world's query photos.
#include "core/engine/locator.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"
#include "core/index/bundle_writer.h"
#include "core/index/thumbnails.h"
#include "core/model/image_decoder.h"
#include "core/model/preprocess.h"
#include "gtest/gtest.h"
#include "locator_fixture.h"
#include "server/snapshot_manager.h"

namespace geoloc::engine {
namespace {

TEST_F(LocatorTest, LocatesQueriesAndReportsConsistentPeaksAndCells) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  ASSERT_FALSE(queries.empty());
  std::vector<cv::Mat> images;
  for (const auto& q : queries) images.push_back(q.image);
  LocateParams params;
  params.k = 10;
  params.cell_levels = {8, 12};
  params.estimator.kind = geo::EstimatorKind::kNearest;
  auto results = locator->LocateImages(images, params);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), queries.size());
  int exact = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const LocateResult& r = (*results)[i];
    ASSERT_EQ(r.neighbors.size(), 10u);
    ASSERT_EQ(r.weights.size(), 10u);
    // 1-NN: the best estimate is the first neighbour's location.
    EXPECT_DOUBLE_EQ(r.best.pos.lat, r.neighbors[0].lat);
    EXPECT_DOUBLE_EQ(r.best.pos.lon, r.neighbors[0].lon);
    // Neighbours are ranked by similarity.
    for (size_t j = 1; j < r.neighbors.size(); ++j) {
      EXPECT_GE(r.neighbors[j - 1].score, r.neighbors[j].score);
    }
    // Cells: per level, the probabilities are the neighbours' weights in each cell.
    double level8 = 0;
    for (const auto& c : r.cells) {
      if (c.level == 8) level8 += c.weight_share;
    }
    EXPECT_LE(level8, 1.0 + 1e-9);
    if (geo::HaversineKm(r.best.pos, queries[i].truth) < 0.025) ++exact;
  }
  EXPECT_GE(exact * 2, static_cast<int>(queries.size()));
}

TEST_F(LocatorTest, StagesGiveTheSameAnswerAsTheWholePipeline) {
  auto locator = Load("v2");  // two shards
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  std::vector<cv::Mat> images = {queries[0].image, queries[1].image};
  LocateParams params;
  auto whole = locator->LocateImages(images, params);
  ASSERT_TRUE(whole.ok());
  // Stage by stage: a larger k for the batch, trimmed by Finish to params.k.
  const model::ModelInfo& info = locator->model_info();
  std::vector<float> pixels(2 * model::PreprocessedSize(info));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(model::PreprocessInto(images[i], info, pixels.data() + i * model::PreprocessedSize(info)).ok());
  }
  std::vector<float> desc(2 * info.dim);
  ASSERT_TRUE(locator->Encode(pixels.data(), 2, desc.data()).ok());
  auto hits = locator->Search(desc, params.k + 20, 0, 0);
  ASSERT_TRUE(hits.ok());
  for (int i = 0; i < 2; ++i) {
    auto r = locator->Finish(absl::MakeConstSpan(desc).subspan(i * info.dim, info.dim),
                             (*hits)[i], params);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->neighbors.size(), static_cast<size_t>(params.k));
    EXPECT_NEAR(r->best.pos.lat, (*whole)[i].best.pos.lat, 1e-9);
    EXPECT_NEAR(r->best.pos.lon, (*whole)[i].best.pos.lon, 1e-9);
    EXPECT_EQ(r->peaks.size(), (*whole)[i].peaks.size());
  }
}

TEST_F(LocatorTest, LocateBatchFinishesEachImageWithItsOwnParamsThroughTheRunner) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  ASSERT_GE(queries.size(), 2u);
  const model::ModelInfo& info = locator->model_info();
  const size_t floats = model::PreprocessedSize(info);
  std::vector<float> pixels(2 * floats);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(model::PreprocessInto(queries[i].image, info, pixels.data() + i * floats).ok());
  }
  LocateParams nearest;
  nearest.k = 5;
  nearest.estimator.kind = geo::EstimatorKind::kNearest;
  LocateParams kde;
  kde.k = 20;
  kde.max_peaks = 2;

  // The finishes are handed to the runner, not run: nothing is answered until the runner runs
  // them, in whatever order it likes; `searched` comes once, before any of them.
  std::vector<std::string> events;
  std::vector<std::function<void()>> finishes;
  std::vector<absl::StatusOr<LocateResult>> answers(2, absl::UnknownError("unanswered"));
  BatchTimes times;
  absl::Status st = locator->LocateBatch(
      pixels, {nearest, kde},
      [&](const BatchTimes& t) {
        times = t;
        events.push_back("searched");
      },
      [&](std::function<void()> finish) { finishes.push_back(std::move(finish)); },
      [&](size_t i, absl::StatusOr<LocateResult> r) {
        events.push_back(absl::StrCat("done ", i));
        answers[i] = std::move(r);
      });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(finishes.size(), 2u);
  EXPECT_EQ(events, std::vector<std::string>{"searched"});
  finishes[1]();
  finishes[0]();
  EXPECT_EQ(events, (std::vector<std::string>{"searched", "done 1", "done 0"}));

  // Each answer is what LocateImages gives for that image with that image's own params.
  const LocateParams* params[] = {&nearest, &kde};
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status();
    auto alone = locator->LocateImages({queries[i].image}, *params[i]);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ(answers[i]->neighbors.size(), static_cast<size_t>(params[i]->k)) << i;
    EXPECT_NEAR(answers[i]->best.pos.lat, (*alone)[0].best.pos.lat, 1e-9) << i;
    EXPECT_NEAR(answers[i]->best.pos.lon, (*alone)[0].best.pos.lon, 1e-9) << i;
    EXPECT_EQ(answers[i]->peaks.size(), (*alone)[0].peaks.size()) << i;
    EXPECT_EQ(answers[i]->encode_ms, times.encode_ms);
    EXPECT_EQ(answers[i]->search_ms, times.search_ms);
  }
  EXPECT_LE(answers[1]->peaks.size(), 2u);
  EXPECT_GT(times.encode_ms, 0);

  // A batch that does not hold its images: refused before any work, nothing answered.
  events.clear();
  st = locator->LocateBatch(
      absl::MakeConstSpan(pixels).subspan(0, floats), {nearest, kde},
      [&](const BatchTimes&) { events.push_back("searched"); }, nullptr,
      [&](size_t, absl::StatusOr<LocateResult>) { events.push_back("done"); });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(events.empty());
}

TEST_F(LocatorTest, PrepareImageIsTheModelsDecodeAndPreprocess) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const model::ModelInfo& info = locator->model_info();
  std::ifstream csv(*dir_ + "/world/query.csv");
  std::string line;
  std::getline(csv, line);  // header
  ASSERT_TRUE(static_cast<bool>(std::getline(csv, line)));
  const std::vector<std::string> fields = absl::StrSplit(line, ',');
  auto bytes = ReadFileToString(*dir_ + "/world/" + fields[0]);
  ASSERT_TRUE(bytes.ok());

  auto prepared = locator->PrepareImage(*bytes, /*max_pixels=*/50'000'000);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  model::DecodeOptions decode;
  decode.target_min_side = std::min(info.input_height, info.input_width);
  auto bgr = model::DecodeImage(*bytes, decode);
  ASSERT_TRUE(bgr.ok());
  std::vector<float> expected(model::PreprocessedSize(info));
  ASSERT_TRUE(model::PreprocessInto(*bgr, info, expected.data()).ok());
  EXPECT_EQ(*prepared, expected);

  // Errors are the caller's: a format geoloc cannot decode (the decoder's UNIMPLEMENTED) and
  // garbage are INVALID_ARGUMENT, an image over the pixel limit RESOURCE_EXHAUSTED.
  const std::string gif(
      "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00"
      "\x01\x00\x01\x00\x00\x02\x02"
      "D\x01\x00;",
      35);
  EXPECT_EQ(model::DecodeImage(gif, {}).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(locator->PrepareImage(gif, 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(locator->DecodeImage(gif, 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(locator->PrepareImage("not an image", 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(locator->PrepareImage(*bytes, /*max_pixels=*/10).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(LocatorTest, ReconstructedRowsAreTheDatabaseDescriptors) {
  auto locator = Load("v2");
  ASSERT_NE(locator, nullptr);
  const index::Bundle& bundle = locator->bundle();
  // Encode a database image and find its row: the stored vector equals the fresh descriptor.
  const int64_t row = bundle.size() - 1;  // in the second shard
  auto bytes = ReadFileToString(*dir_ + "/world/" + std::string(bundle.metadata().source(row)));
  ASSERT_TRUE(bytes.ok());
  auto image = model::DecodeImage(*bytes, {});
  ASSERT_TRUE(image.ok());
  auto fresh = locator->encoder().EncodeImages({*image});
  ASSERT_TRUE(fresh.ok());
  auto stored = bundle.Reconstruct({row});
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), fresh->size());
  double dot = 0;
  for (size_t i = 0; i < fresh->size(); ++i) dot += (*fresh)[i] * (*stored)[i];
  EXPECT_GT(dot, 0.999);
  EXPECT_EQ(bundle.Reconstruct({bundle.size()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LocatorTest, ExplainTargetsAPeakANeighbourAndACell) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  const std::vector<Query> queries = Queries();
  LocateParams params;
  params.cell_levels = {10};
  ExplainTarget peak;
  auto a = locator->Explain(queries[0].image, peak, params, true);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->saliency.cols, locator->model_info().input_width);
  EXPECT_FALSE(a->overlay_png.empty());
  ASSERT_TRUE(a->peak.has_value());
  double lo, hi;
  cv::minMaxLoc(a->saliency, &lo, &hi);
  EXPECT_GE(lo, 0);
  EXPECT_LE(hi, 1);

  ExplainTarget neighbour;
  neighbour.kind = ExplainTarget::Kind::kNeighbor;
  neighbour.neighbor_id = a->locate.neighbors[0].id;
  auto b = locator->Explain(queries[0].image, neighbour, params, false);
  ASSERT_TRUE(b.ok()) << b.status();
  // The target score is the query's similarity to that neighbour, as the search reported it.
  EXPECT_NEAR(b->score, a->locate.neighbors[0].score, 1e-3);
  EXPECT_TRUE(b->overlay_png.empty());

  ExplainTarget cell;
  cell.kind = ExplainTarget::Kind::kCell;
  cell.cell_token = a->locate.cells[0].token;
  auto c = locator->Explain(queries[0].image, cell, params, false);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->cell.has_value());
  EXPECT_NEAR(c->cell->weight_share, a->locate.cells[0].weight_share, 1e-9);

  cell.cell_token = "1";  // face 0: none of the fixture's cities lies there
  const bool any_in_face0 = [&] {
    for (const auto& n : a->locate.neighbors) {
      if (cells::CellContains(1ull << 60, cells::CellIdAt({n.lat, n.lon}, 30))) return true;
    }
    return false;
  }();
  if (!any_in_face0) {
    EXPECT_EQ(locator->Explain(queries[0].image, cell, params, false).status().code(),
              absl::StatusCode::kNotFound);
  }
  ExplainTarget bad_peak;
  bad_peak.peak_index = 99;
  EXPECT_EQ(locator->Explain(queries[0].image, bad_peak, params, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// With a gazetteer every point of the answer is named after its nearest place (checked against
// every place of the test gazetteer); without one nothing is named.
TEST_F(LocatorTest, AGazetteerNamesTheBestEstimateEveryPeakAndEveryCell) {
  auto gazetteer = places::Gazetteer::Load(std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz");
  ASSERT_TRUE(gazetteer.ok()) << gazetteer.status();
  SnapshotOptions options;
  options.encoder = *encoder_;
  options.gazetteer = *gazetteer;
  auto named = Locator::Load(*dir_ + "/bundles/v1", options);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ((*named)->gazetteer(), gazetteer->get());
  auto unnamed = Load("v1");
  ASSERT_NE(unnamed, nullptr);
  EXPECT_EQ(unnamed->gazetteer(), nullptr);

  const std::vector<Query> queries = Queries();
  LocateParams params;
  params.cell_levels = {6, 10};
  auto results = (*named)->LocateImages({queries[0].image, queries[1].image}, params);
  ASSERT_TRUE(results.ok()) << results.status();
  auto plain = unnamed->LocateImages({queries[0].image}, params);
  ASSERT_TRUE(plain.ok()) << plain.status();

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
    EXPECT_NE(place->description.find(place->name), std::string::npos);
  };
  for (const LocateResult& r : *results) {
    expect_nearest(r.best.place, r.best.pos);
    expect_nearest(r.retrieval.place, r.retrieval.pos);
    ASSERT_EQ(r.peak_places.size(), r.peaks.size());
    ASSERT_FALSE(r.peaks.empty());
    for (size_t i = 0; i < r.peaks.size(); ++i) expect_nearest(r.peak_places[i], r.peaks[i].pos);
    ASSERT_FALSE(r.cells.empty());
    for (const CellConfidence& c : r.cells) expect_nearest(c.place, c.center);
  }
  // Naming changes nothing else.
  const LocateResult& a = (*results)[0];
  const LocateResult& b = (*plain)[0];
  EXPECT_DOUBLE_EQ(a.best.pos.lat, b.best.pos.lat);
  EXPECT_DOUBLE_EQ(a.best.pos.lon, b.best.pos.lon);
  EXPECT_EQ(a.cells.size(), b.cells.size());
  EXPECT_FALSE(b.best.place.has_value());
  EXPECT_TRUE(b.peak_places.empty());
  for (const CellConfidence& c : b.cells) EXPECT_FALSE(c.place.has_value());
}

// A bundle with thumbnails: asked for, each neighbour's own row's JPEG comes with the answer; not
// asked for, or a bundle without thumbnails, no bytes and no error.
TEST_F(LocatorTest, NeighbourThumbnailsComeFromTheirRowsWhenAsked) {
  const std::string copy = ::testing::TempDir() + "/locator_thumbnails_v1";
  std::filesystem::remove_all(copy);
  std::filesystem::copy(*dir_ + "/bundles/v1", copy, std::filesystem::copy_options::recursive);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(copy)) {
    std::filesystem::permissions(entry.path(), std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
  }
  auto plain = Load("v1");
  ASSERT_NE(plain, nullptr);
  // Distinct bytes per row, so a neighbour given another row's thumbnail is caught.
  std::vector<std::string> jpegs;
  for (int64_t r = 0; r < plain->bundle().size(); ++r) jpegs.push_back(absl::StrCat("row-", r));
  const std::string file = ::testing::TempDir() + "/locator_thumbnails.bin";
  ASSERT_TRUE(index::WriteThumbnailFile(file, 64, jpegs).ok());
  ASSERT_TRUE(index::AddBundleExtra(copy, {index::kThumbnailsExtraName, file}).ok());
  auto with = Locator::Load(*encoder_, *cam_, copy, {});
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_NE((*with)->thumbnails(), nullptr);
  EXPECT_EQ((*with)->thumbnails()->max_side(), 64);
  EXPECT_EQ(plain->thumbnails(), nullptr);

  const cv::Mat image = Queries()[0].image;
  LocateParams params;
  params.k = 8;
  params.neighbor_thumbnails = true;
  auto asked = (*with)->LocateImages({image}, params);
  ASSERT_TRUE(asked.ok()) << asked.status();
  const LocateResult& r = (*asked)[0];
  ASSERT_EQ(r.neighbor_thumbnails.size(), r.neighbors.size());
  for (size_t i = 0; i < r.neighbors.size(); ++i) {
    EXPECT_EQ(r.neighbor_thumbnails[i], absl::StrCat("row-", r.neighbors[i].row)) << i;
  }
  auto without_bundle_thumbnails = plain->LocateImages({image}, params);
  ASSERT_TRUE(without_bundle_thumbnails.ok());
  EXPECT_TRUE((*without_bundle_thumbnails)[0].neighbor_thumbnails.empty());
  params.neighbor_thumbnails = false;
  auto not_asked = (*with)->LocateImages({image}, params);
  ASSERT_TRUE(not_asked.ok());
  EXPECT_TRUE((*not_asked)[0].neighbor_thumbnails.empty());

  // A thumbnail file of another bundle (another row count) is refused at load.
  ASSERT_TRUE(index::WriteThumbnailFile(file, 64, {"one row"}).ok());
  ASSERT_TRUE(index::AddBundleExtra(copy, {index::kThumbnailsExtraName, file}).ok());
  EXPECT_EQ(Locator::Load(*encoder_, *cam_, copy, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(LocatorTest, MismatchedAndCorruptBundlesAreRejected) {
  EXPECT_EQ(Locator::Load(*encoder_, *cam_, *dir_ + "/bundles/mismatch", {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Locator::Load(*encoder_, *cam_, *dir_ + "/bundles/corrupt", {}).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(LocatorTest, ASwappedOutBundleIsFreedWhenItsLastRequestEnds) {
  server::SnapshotManager<Locator> manager(
      [&](const std::string& name) -> absl::StatusOr<std::shared_ptr<const Locator>> {
        return Locator::Load(*encoder_, *cam_, *dir_ + "/bundles/" + name, {});
      });
  ASSERT_TRUE(manager.Swap("v1", "startup").ok());
  std::shared_ptr<const Locator> request = manager.Current();  // a request in flight
  std::weak_ptr<const index::Bundle> old_bundle = request->shared_bundle();
  ASSERT_TRUE(manager.Swap("v2", "rpc").ok());
  EXPECT_FALSE(old_bundle.expired());
  auto still = request->LocateImages({Queries()[0].image}, LocateParams());
  ASSERT_TRUE(still.ok());  // the request finishes on v1
  request.reset();
  EXPECT_TRUE(old_bundle.expired());
  EXPECT_EQ(manager.Current()->bundle_version().rfind("v2-", 0), 0u);
}

}  // namespace
}  // namespace geoloc::engine
