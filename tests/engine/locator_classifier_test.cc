// The Locator with a bundle that has a cell classifier (the server fixture's bundles/classified:
// adaptive cells and an HMC head trained by geoloc-cells): classifier cells, the classifier's
// estimate, the fused best, Explain of a classifier cell, and the bundles it must refuse.
#include <algorithm>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/cells/s2_cells.h"
#include "core/engine/fusion.h"
#include "core/engine/locator.h"
#include "core/model/preprocess.h"
#include "gtest/gtest.h"
#include "locator_fixture.h"
#include "tests/support/scratch_dir.h"
#include "tools/cells/bundle_extras.h"

namespace geoloc::engine {
namespace {

namespace fs = std::filesystem;

// The classifier's probabilities for one photo, through the Locator's own stages.
std::vector<float> ClassifierProbabilities(const Locator& locator, const cv::Mat& image) {
  const model::ModelInfo& info = locator.model_info();
  std::vector<float> pixels(model::PreprocessedSize(info));
  EXPECT_TRUE(model::PreprocessInto(image, info, pixels.data()).ok());
  std::vector<float> descriptor(info.dim);
  EXPECT_TRUE(locator.Encode(pixels.data(), 1, descriptor.data()).ok());
  std::vector<float> probs(locator.classifier()->num_classes());
  EXPECT_TRUE(locator.classifier()->Predict(descriptor.data(), 1, probs.data()).ok());
  return probs;
}

double CellProbability(const BundleClassifier& classifier, const std::vector<float>& probs,
                       const std::string& token) {
  auto id = cells::CellFromToken(token);
  EXPECT_TRUE(id.ok());
  auto leaves = classifier.LeafClassesOf(*id);
  EXPECT_TRUE(leaves.ok()) << leaves.status();
  double sum = 0;
  for (int leaf : *leaves) sum += probs[leaf];
  return sum;
}

// A private copy of a fixture bundle, removed at the end of the test.
class BundleCopy {
 public:
  BundleCopy(const std::string& from, const std::string& name)
      : dir_("locator-" + name), path_(dir_.file(name)) {
    fs::copy(from, path_, fs::copy_options::recursive);
  }
  const std::string& path() const { return path_; }

 private:
  ::geoloc::testing::ScratchDir dir_;
  std::string path_;
};

TEST_F(LocatorTest, ABundleWithoutAHeadAnswersWithRetrievalOnly) {
  auto locator = Load("v1");
  ASSERT_NE(locator, nullptr);
  EXPECT_EQ(locator->classifier(), nullptr);
  auto results = locator->LocateImages({Queries()[0].image}, LocateParams());
  ASSERT_TRUE(results.ok()) << results.status();
  const LocateResult& r = (*results)[0];
  EXPECT_FALSE(r.classifier.has_value());
  EXPECT_TRUE(r.classifier_cells.empty());
  EXPECT_EQ(r.best.pos.lat, r.retrieval.pos.lat);
  EXPECT_EQ(r.best.pos.lon, r.retrieval.pos.lon);
}

TEST_F(LocatorTest, ClassifierCellsEstimateAndFusedBestFollowTheirDefinitions) {
  auto locator = Load("classified");
  ASSERT_NE(locator, nullptr);
  const BundleClassifier* classifier = locator->classifier();
  ASSERT_NE(classifier, nullptr);
  EXPECT_EQ(classifier->num_classes(), classifier->head().num_outputs());
  LocateParams params;
  params.max_classifier_cells = 4;
  params.max_peaks = 10;
  for (const Query& q : Queries()) {
    auto results = locator->LocateImages({q.image}, params);
    ASSERT_TRUE(results.ok()) << results.status();
    const LocateResult& r = (*results)[0];
    const std::vector<float> probs = ClassifierProbabilities(*locator, q.image);
    EXPECT_NEAR(std::accumulate(probs.begin(), probs.end(), 0.0), 1.0, 1e-4);

    // The classifier's estimate: the most probable leaf's centre, with its probability.
    ASSERT_TRUE(r.classifier.has_value());
    const int top = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
    const geo::LatLon center = cells::CellCenter(classifier->cells().leaf_node(top).id);
    EXPECT_NEAR(r.classifier->pos.lat, center.lat, 1e-9);
    EXPECT_NEAR(r.classifier->pos.lon, center.lon, 1e-9);
    EXPECT_NEAR(r.classifier->weight_share, probs[top], 1e-5);
    EXPECT_GT(r.classifier->uncertainty_km, 0);

    // Classifier cells: the most probable first, each probability the sum over its leaves, and
    // no other cell of the hierarchy more probable than the last one listed.
    ASSERT_EQ(r.classifier_cells.size(), 4u);
    for (size_t i = 0; i < r.classifier_cells.size(); ++i) {
      const CellConfidence& c = r.classifier_cells[i];
      EXPECT_NEAR(c.weight_share, CellProbability(*classifier, probs, c.token), 1e-5) << c.token;
      if (i > 0) {
        EXPECT_LE(c.weight_share, r.classifier_cells[i - 1].weight_share);
      }
    }
    for (const cells::CellNode& node : classifier->cells().nodes()) {
      const std::string token = cells::CellToken(node.id);
      const bool listed = std::any_of(r.classifier_cells.begin(), r.classifier_cells.end(),
                                      [&](const CellConfidence& c) { return c.token == token; });
      if (!listed) {
        EXPECT_LE(CellProbability(*classifier, probs, token),
                  r.classifier_cells.back().weight_share + 1e-6);
      }
    }

    // The fused best is the peak FusePeaks picks from the classifier's leaf probabilities.
    std::vector<double> q_leaf;
    for (const geo::Peak& p : r.peaks) {
      const int leaf = classifier->cells().LeafClassOf(p.pos);
      q_leaf.push_back(leaf < 0 ? 0.0 : probs[leaf]);
    }
    const FusedChoice fused = FusePeaks(r.peaks, q_leaf, classifier->num_classes());
    ASSERT_GE(fused.peak, 0);
    EXPECT_EQ(r.best.pos.lat, r.peaks[fused.peak].pos.lat);
    EXPECT_EQ(r.best.pos.lon, r.peaks[fused.peak].pos.lon);
    EXPECT_NEAR(r.best.weight_share, fused.weight_share, 1e-6);
    // Retrieval's answer stays visible beside the fused one.
    EXPECT_EQ(r.retrieval.pos.lat, r.peaks[0].pos.lat);
  }
}

TEST_F(LocatorTest, ExplainOfAClassifierCellBackPropagatesItsProbability) {
  auto locator = Load("classified");
  ASSERT_NE(locator, nullptr);
  const BundleClassifier* classifier = locator->classifier();
  ASSERT_NE(classifier, nullptr);
  const cv::Mat image = Queries()[0].image;
  const std::vector<float> probs = ClassifierProbabilities(*locator, image);
  // A leaf (one output) and the root above it (the sum over its leaves).
  const int leaf_node = classifier->cells().leaf_node_index(0);
  std::vector<int> path = classifier->cells().AncestorsOf(leaf_node);
  path.push_back(leaf_node);
  for (int node : {path.front(), path.back()}) {
    ExplainTarget target;
    target.kind = ExplainTarget::Kind::kCell;
    target.cell_token = cells::CellToken(classifier->cells().nodes()[node].id);
    auto r = locator->Explain(image, target, LocateParams(), true);
    ASSERT_TRUE(r.ok()) << r.status();
    const double expected = CellProbability(*classifier, probs, target.cell_token);
    // Explain runs the unoptimised Grad-CAM module, `probs` the optimised encoder graph: their
    // descriptors agree to rounding (cosine >= 0.999), which the softmax over many cells can
    // stretch to about 1% of a small probability on some CPUs (seen: 0.01402 against 0.01390).
    const double tolerance = 1e-4 + 0.02 * expected;
    EXPECT_NEAR(r->score, expected, tolerance) << target.cell_token;
    ASSERT_TRUE(r->cell.has_value());
    EXPECT_EQ(r->cell->token, target.cell_token);
    EXPECT_NEAR(r->cell->weight_share, expected, tolerance);
    EXPECT_NE(r->description.find("classifier cell"), std::string::npos) << r->description;
    EXPECT_EQ(r->saliency.cols, locator->model_info().input_width);
    EXPECT_FALSE(r->overlay_png.empty());
  }
}

TEST_F(LocatorTest, AHeadWithoutItsCellsIsRefused) {
  BundleCopy copy(*dir_ + "/bundles/classified", "no-cells");
  ASSERT_TRUE(cells_cli::RemoveBundleExtra(copy.path(), cells_cli::kCellsExtra).ok());
  auto locator = Locator::Load(*encoder_, *cam_, copy.path(), {});
  ASSERT_EQ(locator.status().code(), absl::StatusCode::kFailedPrecondition) << locator.status();
  EXPECT_NE(locator.status().message().find("no cells"), std::string::npos) << locator.status();
}

TEST_F(LocatorTest, AHeadTrainedOnOtherCellsIsRefused) {
  BundleCopy copy(*dir_ + "/bundles/classified", "other-cells");
  auto cells_path = index::Bundle::Load(copy.path());
  ASSERT_TRUE(cells_path.ok()) << cells_path.status();
  auto json = ReadFileToString(*(*cells_path)->ExtraPath(cells_cli::kCellsExtra));
  ASSERT_TRUE(json.ok());
  // The same hierarchy, serialised with a trailing newline: another file, another SHA-256.
  ASSERT_TRUE(cells_cli::AddBundleExtraBytes(copy.path(), cells_cli::kCellsExtra,
                                             cells_cli::kCellsFile, *json + "\n")
                  .ok());
  auto locator = Locator::Load(*encoder_, *cam_, copy.path(), {});
  ASSERT_EQ(locator.status().code(), absl::StatusCode::kFailedPrecondition) << locator.status();
  EXPECT_NE(locator.status().message().find("cells.json SHA-256"), std::string::npos)
      << locator.status();
}

}  // namespace
}  // namespace geoloc::engine
