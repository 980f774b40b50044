// The cell classifier head (core/model/cell_classifier.h): each combination rule against numbers
// computed by hand, HMC == HMC-sol, the saved archive served by DescriptorHead and differentiable
// for Grad-CAM, training on separable data, early stopping, input validation.
#include "core/model/cell_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/cells/adaptive_cells.h"
#include "core/cells/cell_hierarchy.h"
#include "core/cells/level_matrices.h"
#include "core/model/cell_head_info.h"
#include "core/model/descriptor_head.h"
#include "gtest/gtest.h"
#include "tests/cells_classifier/test_util.h"
#include "tests/support/scratch_dir.h"
#include "torch/script.h"

namespace geoloc::model {
namespace {

using ::geoloc::testing::ScratchDir;
using cells_cli::testing::TinyHierarchy;

constexpr int kDim = 3;
constexpr int kHidden = 2;

std::unique_ptr<CellClassifier> MakeHead(const cells::CellHierarchy& h, CellHeadVariant variant,
                                         float epsilon = 0.01f, int dim = kDim,
                                         int hidden = kHidden, uint64_t seed = 0) {
  CellClassifierOptions options;
  options.variant = variant;
  options.hidden = hidden;
  options.epsilon = epsilon;
  options.alpha = 0.9;
  options.seed = seed;
  absl::StatusOr<std::unique_ptr<CellClassifier>> head = CellClassifier::Create(h, dim, options);
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? std::move(*head) : nullptr;
}

// Zero hidden weights and biases make h = ReLU(0) = 0, so every level's logits are just the
// output biases we choose: the combination rule is then all that shapes the output.
void SetOutputBiases(CellClassifier& head, const std::vector<float>& biases) {
  absl::StatusOr<CellClassifierWeights> w = head.GetWeights();
  ASSERT_TRUE(w.ok()) << w.status();
  std::fill(w->hidden_weight.begin(), w->hidden_weight.end(), 0.0f);
  std::fill(w->hidden_bias.begin(), w->hidden_bias.end(), 0.0f);
  ASSERT_EQ(w->output_bias.size(), biases.size());
  w->output_bias = biases;
  ASSERT_TRUE(head.SetWeights(*w).ok());
}

std::vector<float> PredictOne(const CellClassifier& head, std::vector<float> desc = {}) {
  if (desc.empty()) desc = std::vector<float>(head.input_dim(), 0.37f);
  std::vector<float> probs(head.num_classes());
  const absl::Status s = head.Predict(desc.data(), 1, probs.data());
  EXPECT_TRUE(s.ok()) << s;
  return probs;
}

void ExpectProbs(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], tol) << "class " << k;
}

TEST(CellClassifierTest, ShapesFollowTheHierarchy) {
  const cells::CellHierarchy h = TinyHierarchy();
  ASSERT_EQ(h.num_classes(), 3);
  auto mc = MakeHead(h, CellHeadVariant::kMc);
  auto hmc = MakeHead(h, CellHeadVariant::kHmc);
  EXPECT_EQ(mc->num_classes(), 3);
  EXPECT_TRUE(mc->level_sizes().empty());
  EXPECT_EQ(hmc->level_sizes(), (std::vector<int>{2, 2, 1}));
  EXPECT_EQ(mc->GetWeights()->output_bias.size(), 3u);   // one layer over the leaves
  EXPECT_EQ(hmc->GetWeights()->output_bias.size(), 5u);  // the levels stacked: 2 + 2 + 1
}

// MC: p = softmax(biases) = softmax(0, ln 2, ln 5) = (1, 2, 5) / 8.
TEST(CellClassifierTest, McIsASoftmaxOverTheLeaves) {
  auto head = MakeHead(TinyHierarchy(), CellHeadVariant::kMc);
  SetOutputBiases(*head, {0.0f, std::log(2.0f), std::log(5.0f)});
  ExpectProbs(PredictOne(*head), {1.0 / 8, 2.0 / 8, 5.0 / 8}, 1e-6);
}

// Level logits (0, ln 3) | (ln 4, 0) | (0): p0 = (0.25, 0.75), p1 = (0.8, 0.2), p2 = (1).
// epsilon = 0.01, shallow columns filled with 1 (kOne):
//   s0 = p0 M0: "01" 0.25 + 0.75e = 0.2575, "1c" 0.2575, "3" 0.25e + 0.75 = 0.7525
//   s1 = p1 M1: "01" 0.8 + 0.2e = 0.802,    "1c" 0.8e + 0.2 = 0.208, "3" (shallow) 1
//   s2 = p2 M2: 1, 1, 1
//   q = (0.206515, 0.05356, 0.7525), sum 1.012575
//   p = (0.2039503247, 0.0528948473, 0.7431548280)
const std::vector<float> kLevelBiases = {0.0f, std::log(3.0f), std::log(4.0f), 0.0f, 0.0f};
const std::vector<double> kHmcExpected = {0.2039503247, 0.0528948473, 0.7431548280};

TEST(CellClassifierTest, HmcIsTheNormalisedProductOverLevels) {
  auto head = MakeHead(TinyHierarchy(), CellHeadVariant::kHmc);
  SetOutputBiases(*head, kLevelBiases);
  ExpectProbs(PredictOne(*head), kHmcExpected, 1e-6);
}

TEST(CellClassifierTest, HmcSolIsTheExpOfTheSumOfLogs) {
  auto head = MakeHead(TinyHierarchy(), CellHeadVariant::kHmcSol);
  SetOutputBiases(*head, kLevelBiases);
  ExpectProbs(PredictOne(*head), kHmcExpected, 1e-6);
}

// With epsilon 0 the product is exactly the chain probability along each branch, which already
// sums to 1: "01" 0.25 * 0.8 = 0.2, "1c" 0.25 * 0.2 = 0.05, "3" 0.75.
TEST(CellClassifierTest, HmcWithoutEpsilonIsTheBranchProbability) {
  for (CellHeadVariant v : {CellHeadVariant::kHmc, CellHeadVariant::kHmcSol}) {
    auto head = MakeHead(TinyHierarchy(), v, /*epsilon=*/0.0f);
    SetOutputBiases(*head, kLevelBiases);
    ExpectProbs(PredictOne(*head), {0.2, 0.05, 0.75}, 1e-6);
  }
}

// HMC-smooth, alpha 0.9, depth 3: weights alpha^(3-i-1) = 0.81, 0.9, 1; shallow columns 0 (kZero):
//   s0 = (0.2575, 0.2575, 0.7525); s1 = (0.802, 0.208, 0); s2 = (1, 0, 0)
//   "01" (level 2): (0.81 * 0.2575 + 0.9 * 0.802 + 1) / (0.81 + 0.9 + 1) = 1.930375 / 2.71
//   "1c" (level 1): (0.81 * 0.2575 + 0.9 * 0.208) / (0.81 + 0.9)     = 0.395775 / 1.71
//   "3"  (level 0): (0.81 * 0.7525) / 0.81                            = 0.7525
//   q = (0.7123154982, 0.2314473684, 0.7525), sum 1.6962628666
//   p = (0.4199322594, 0.1364454608, 0.4436222798)
TEST(CellClassifierTest, HmcSmoothIsTheNormalisedWeightedMeanOfTheBranch) {
  auto head = MakeHead(TinyHierarchy(), CellHeadVariant::kHmcSmooth);
  SetOutputBiases(*head, kLevelBiases);
  ExpectProbs(PredictOne(*head), {0.4199322594, 0.1364454608, 0.4436222798}, 1e-6);
}

// The path through the input scaling, the dense layer and its ReLU:
//   x = (desc - mean) * scale = ((1.5 - 1) * 2, (0.5 - 1) * 2, 0) = (1, -1, 0)
//   h = ReLU(I x) = (1, 0);  logits = W_o h = (1, 0, 0)  ->  (e, 1, 1) / (e + 2)
TEST(CellClassifierTest, StandardisationDenseLayerAndRelu) {
  auto head = MakeHead(TinyHierarchy(), CellHeadVariant::kMc);
  CellClassifierWeights w = *head->GetWeights();
  w.input_mean = {1.0f, 1.0f, 1.0f};
  w.input_scale = {2.0f, 2.0f, 2.0f};
  w.hidden_weight = {1, 0, 0,  //
                     0, 1, 0};
  w.hidden_bias = {0, 0};
  w.output_weight = {1, 0,  //
                     0, 0,  //
                     0, 0};
  w.output_bias = {0, 0, 0};
  ASSERT_TRUE(head->SetWeights(w).ok());
  const double e = std::exp(1.0);
  ExpectProbs(PredictOne(*head, {1.5f, 0.5f, 1.0f}), {e / (e + 2), 1 / (e + 2), 1 / (e + 2)},
              1e-6);
}

// A hierarchy over points clustered around a few places: several levels, leaves at different
// depths (Algorithm 1 on the points).
cells::CellHierarchy ClusteredHierarchy(std::vector<geo::LatLon>* points_out = nullptr) {
  const std::vector<geo::LatLon> centres = {{48.85, 2.35},  {48.86, 2.36}, {40.71, -74.0},
                                            {35.68, 139.7}, {35.69, 139.71}, {-33.87, 151.2},
                                            {-16.8, 179.9}, {64.1, -21.9}};
  std::mt19937 rng(5);
  std::normal_distribution<double> jitter(0.0, 0.003);
  std::vector<geo::LatLon> points;
  for (const geo::LatLon& c : centres) {
    for (int i = 0; i < 40; ++i) points.push_back({c.lat + jitter(rng), c.lon + jitter(rng) * 0.5});
  }
  cells::AdaptiveCellOptions options;
  options.lvl_start = 2;
  options.lvl_end = 14;
  options.t_min = 5;
  options.t_max = 30;
  absl::StatusOr<cells::CellHierarchy> h = cells::GenerateAdaptiveCells(points, options);
  EXPECT_TRUE(h.ok()) << h.status();
  if (points_out != nullptr) *points_out = points;
  return h.ok() ? *h : cells::CellHierarchy();
}

TEST(CellClassifierTest, HmcAndHmcSolAgreeOnRandomWeights) {
  const cells::CellHierarchy h = ClusteredHierarchy();
  ASSERT_GE(h.depth(), 3);
  ASSERT_GE(h.num_classes(), 6);
  auto hmc = MakeHead(h, CellHeadVariant::kHmc, 0.01f, 8, 16, /*seed=*/3);
  auto sol = MakeHead(h, CellHeadVariant::kHmcSol, 0.01f, 8, 16, /*seed=*/99);
  CellClassifierWeights w = *hmc->GetWeights();
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 2.0f);  // large logits: peaked softmaxes
  for (float& v : w.output_weight) v = dist(rng);
  ASSERT_TRUE(hmc->SetWeights(w).ok());
  ASSERT_TRUE(sol->SetWeights(w).ok());
  std::vector<float> desc(16 * 8);
  for (float& v : desc) v = dist(rng);
  std::vector<float> a(16 * h.num_classes()), b(a.size());
  ASSERT_TRUE(hmc->Predict(desc.data(), 16, a.data()).ok());
  ASSERT_TRUE(sol->Predict(desc.data(), 16, b.data()).ok());
  for (int r = 0; r < 16; ++r) {
    double sum = 0;
    for (int k = 0; k < h.num_classes(); ++k) {
      const float x = a[r * h.num_classes() + k], y = b[r * h.num_classes() + k];
      EXPECT_NEAR(x, y, 1e-6 + 1e-4 * std::abs(x)) << "row " << r << " class " << k;
      sum += y;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

// The module computes s_i = p_i M_i as a gather (cell_classifier.cc); this recomputes the whole
// forward pass with the dense level matrices of cells::LevelMatrices on a multi-level hierarchy.
TEST(CellClassifierTest, GatheredLevelScoresEqualTheDenseLevelMatrices) {
  const cells::CellHierarchy h = ClusteredHierarchy();
  constexpr int kD = 8, kH = 16;
  for (CellHeadVariant variant : {CellHeadVariant::kHmc, CellHeadVariant::kHmcSmooth}) {
    auto head = MakeHead(h, variant, 0.05f, kD, kH, /*seed=*/5);
    ASSERT_NE(head, nullptr);
    const CellClassifierWeights w = *head->GetWeights();
    cells::LevelMatrixOptions mopts;
    mopts.epsilon = 0.05f;
    mopts.shallow_leaf_fill = variant == CellHeadVariant::kHmcSmooth ? cells::ShallowLeafFill::kZero
                                                                     : cells::ShallowLeafFill::kOne;
    const std::vector<cells::LevelMatrix> m = *cells::LevelMatrices(h, mopts);
    const std::vector<float> norm = cells::SmoothNormalizers(h, 0.9);
    std::mt19937 rng(2);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> desc(kD);
    for (float& v : desc) v = dist(rng);
    // h = ReLU(W_h (desc - mean) * scale + b_h), z = W_o h + b_o.
    std::vector<double> hid(kH), z(w.output_bias.size());
    for (int j = 0; j < kH; ++j) {
      double a = w.hidden_bias[j];
      for (int d = 0; d < kD; ++d) {
        a += w.hidden_weight[j * kD + d] * (desc[d] - w.input_mean[d]) * w.input_scale[d];
      }
      hid[j] = std::max(a, 0.0);
    }
    for (size_t o = 0; o < z.size(); ++o) {
      z[o] = w.output_bias[o];
      for (int j = 0; j < kH; ++j) z[o] += w.output_weight[o * kH + j] * hid[j];
    }
    const int L = h.num_classes();
    std::vector<double> q(L, variant == CellHeadVariant::kHmc ? 1.0 : 0.0);
    size_t start = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      const int64_t n = m[i].rows;
      double zmax = -1e300, zsum = 0;
      for (int64_t r = 0; r < n; ++r) zmax = std::max(zmax, z[start + r]);
      for (int64_t r = 0; r < n; ++r) zsum += std::exp(z[start + r] - zmax);
      const double level_weight = std::pow(0.9, static_cast<double>(m.size() - i - 1));
      for (int k = 0; k < L; ++k) {
        double s_ik = 0;
        for (int64_t r = 0; r < n; ++r) {
          s_ik += std::exp(z[start + r] - zmax) / zsum * m[i].values[r * L + k];
        }
        if (variant == CellHeadVariant::kHmc) {
          q[k] *= s_ik;
        } else {
          q[k] += level_weight * s_ik;
        }
      }
      start += n;
    }
    if (variant == CellHeadVariant::kHmcSmooth) {
      for (int k = 0; k < L; ++k) q[k] *= norm[k];
    }
    const double total = std::accumulate(q.begin(), q.end(), 0.0);
    std::vector<double> want(L);
    for (int k = 0; k < L; ++k) want[k] = q[k] / total;
    ExpectProbs(PredictOne(*head, desc), want, 1e-5);
  }
}

class SavedHeadTest : public ::testing::TestWithParam<CellHeadVariant> {};

TEST_P(SavedHeadTest, DescriptorHeadServesTheSavedArchiveIdentically) {
  const cells::CellHierarchy h = ClusteredHierarchy();
  constexpr int kD = 12;
  auto head = MakeHead(h, GetParam(), 0.01f, kD, 24, /*seed=*/7);
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  std::vector<float> data(50 * kD);
  for (float& v : data) v = dist(rng) + 0.5f;
  ASSERT_TRUE(head->FitInputScaling(data).ok());

  ScratchDir dir;
  const std::string path = dir.file("head.pt");
  const std::string metadata = R"({"kind": "cell_classifier", "note": "verbatim"})";
  ASSERT_TRUE(head->Save(path, metadata).ok());
  absl::StatusOr<std::unique_ptr<DescriptorHead>> served = DescriptorHead::Load(path, kD);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ((*served)->num_outputs(), h.num_classes());
  EXPECT_EQ((*served)->metadata(), metadata);

  std::vector<float> want(50 * h.num_classes()), got(want.size());
  ASSERT_TRUE(head->Predict(data.data(), 50, want.data()).ok());
  ASSERT_TRUE((*served)->Run(data.data(), 50, got.data()).ok());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << i;

  // Grad-CAM back-propagates a cell's probability through the head: d p_k / d desc must exist
  // and be finite (and not all zero).
  torch::jit::Module m = torch::jit::load(path);
  m.eval();
  at::Tensor x = torch::from_blob(data.data(), {1, kD}, at::kFloat).clone().requires_grad_(true);
  at::Tensor p = m.forward({x}).toTensor();
  const int k = static_cast<int>(p.argmax(1).item<int64_t>());
  p.select(1, k).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Variants, SavedHeadTest,
                         ::testing::Values(CellHeadVariant::kMc, CellHeadVariant::kHmc,
                                           CellHeadVariant::kHmcSol, CellHeadVariant::kHmcSmooth),
                         [](const ::testing::TestParamInfo<CellHeadVariant>& info) {
                           return std::string(CellHeadVariantName(info.param));
                         });

// Separable data: each leaf has its own random direction; descriptors = direction + noise.
struct Separable {
  std::vector<float> x_train, x_val;
  std::vector<int> y_train, y_val;
};

Separable MakeSeparable(int classes, int dim, int per_class_train, int per_class_val) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  std::vector<float> centres(classes * dim);
  for (float& v : centres) v = dist(rng);
  Separable s;
  auto add = [&](int c, std::vector<float>* x, std::vector<int>* y) {
    for (int j = 0; j < dim; ++j) x->push_back(centres[c * dim + j] + 0.3f * dist(rng));
    y->push_back(c);
  };
  for (int c = 0; c < classes; ++c) {
    for (int i = 0; i < per_class_train; ++i) add(c, &s.x_train, &s.y_train);
    for (int i = 0; i < per_class_val; ++i) add(c, &s.x_val, &s.y_val);
  }
  return s;
}

class TrainingTest : public ::testing::TestWithParam<CellHeadVariant> {};

TEST_P(TrainingTest, LearnsSeparableDescriptorsAndKeepsTheBestEpoch) {
  const cells::CellHierarchy h = ClusteredHierarchy();
  constexpr int kD = 16;
  const Separable data = MakeSeparable(h.num_classes(), kD, 30, 10);
  auto head = MakeHead(h, GetParam(), 0.01f, kD, 32, /*seed=*/1);
  CellTrainOptions options;
  options.max_epochs = 60;
  options.batch_size = 32;
  options.learning_rate = 1e-2;
  options.patience = 8;
  int callbacks = 0;
  options.on_epoch = [&](const CellEpochStats& s) {
    ++callbacks;
    EXPECT_EQ(s.epoch, callbacks);
    EXPECT_TRUE(std::isfinite(s.train_loss));
  };
  const CellExamples train{data.x_train, data.y_train};
  const CellExamples val{data.x_val, data.y_val};
  absl::StatusOr<CellTrainResult> r = head->Train(train, val, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(callbacks, r->epochs_run);
  ASSERT_EQ(static_cast<int>(r->history.size()), r->epochs_run);
  ASSERT_GE(r->best_epoch, 1);
  ASSERT_LE(r->best_epoch, r->epochs_run);
  // The kept weights are the best epoch's: its recorded validation loss is the minimum, and
  // evaluating now reproduces it.
  for (const CellEpochStats& s : r->history) EXPECT_GE(s.val_loss, r->best_val_loss);
  absl::StatusOr<CellEvaluation> e = head->Evaluate(val);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR(e->loss, r->best_val_loss, 1e-5);
  EXPECT_NEAR(e->accuracy, r->history[r->best_epoch - 1].val_accuracy, 1e-12);
  EXPECT_GE(e->accuracy, 0.95) << CellHeadVariantName(GetParam());
  EXPECT_NEAR(e->ior, e->accuracy * h.num_classes(), 1e-9);
  EXPECT_GE(e->ece, 0.0);
  EXPECT_LE(e->ece, 1.0);
}

INSTANTIATE_TEST_SUITE_P(Variants, TrainingTest,
                         ::testing::Values(CellHeadVariant::kMc, CellHeadVariant::kHmc,
                                           CellHeadVariant::kHmcSol, CellHeadVariant::kHmcSmooth),
                         [](const ::testing::TestParamInfo<CellHeadVariant>& info) {
                           return std::string(CellHeadVariantName(info.param));
                         });

TEST(CellClassifierTest, SameSeedSameTraining) {
  const cells::CellHierarchy h = ClusteredHierarchy();
  const Separable data = MakeSeparable(h.num_classes(), 8, 10, 5);
  CellTrainOptions options;
  options.max_epochs = 5;
  options.batch_size = 16;
  std::vector<float> probs[2];
  for (auto& p : probs) {
    auto head = MakeHead(h, CellHeadVariant::kHmc, 0.01f, 8, 16, /*seed=*/4);
    ASSERT_TRUE(head->Train({data.x_train, data.y_train}, {data.x_val, data.y_val}, options).ok());
    p.resize(data.y_val.size() * h.num_classes());
    ASSERT_TRUE(head->Predict(data.x_val.data(), data.y_val.size(), p.data()).ok());
  }
  EXPECT_EQ(probs[0], probs[1]);
}

TEST(CellClassifierTest, RejectsInvalidInput) {
  const cells::CellHierarchy h = TinyHierarchy();
  CellClassifierOptions o;
  EXPECT_EQ(CellClassifier::Create(cells::CellHierarchy(), 4, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CellClassifier::Create(h, 0, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.hidden = 0;
  EXPECT_EQ(CellClassifier::Create(h, 4, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.hidden = 8;
  o.epsilon = 1.5f;
  EXPECT_EQ(CellClassifier::Create(h, 4, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.epsilon = 0.01f;
  o.variant = CellHeadVariant::kHmcSmooth;
  o.alpha = 0.0;
  EXPECT_EQ(CellClassifier::Create(h, 4, o).status().code(), absl::StatusCode::kInvalidArgument);

  auto head = MakeHead(h, CellHeadVariant::kHmc);
  CellClassifierWeights w = *head->GetWeights();
  w.output_bias.pop_back();
  EXPECT_EQ(head->SetWeights(w).code(), absl::StatusCode::kInvalidArgument);
  w = *head->GetWeights();
  w.hidden_bias[0] = std::nanf("");
  EXPECT_EQ(head->SetWeights(w).code(), absl::StatusCode::kInvalidArgument);

  const std::vector<float> x(2 * kDim, 0.5f);
  const std::vector<int> good = {0, 2}, bad = {0, 3};
  CellTrainOptions t;
  t.max_epochs = 1;
  EXPECT_EQ(head->Train({x, bad}, {x, good}, t).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(head->Train({x, good}, {{}, {}}, t).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<float> short_x(kDim, 0.5f);
  EXPECT_EQ(head->Evaluate({short_x, good}).status().code(), absl::StatusCode::kInvalidArgument);
  t.patience = 0;
  EXPECT_EQ(head->Train({x, good}, {x, good}, t).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::model
