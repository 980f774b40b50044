// The Locator on the shared server fixture (tests/server/make_fixture.sh): a real model, a real
// bundle, the synthetic world's query photos.
#include "core/engine/locator.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"
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
      if (c.level == 8) level8 += c.probability;
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
  EXPECT_NEAR(c->cell->probability, a->locate.cells[0].probability, 1e-9);

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
