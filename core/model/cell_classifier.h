// The hierarchical S2 cell classifier (seed 001, sections 4.1-4.2): a small head on top of frozen
// descriptors that gives, per photo, the probability of every leaf cell of a CellHierarchy.
// Built as a TorchScript module in C++, trained with LibTorch autograd, saved as an archive that
// DescriptorHead::Load (and Python's torch.jit.load) serves. docs/CLASSIFIER.md has the details.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto head, CellClassifier::Create(cells, /*input_dim=*/512, {}));
//   GEOLOC_ASSIGN_OR_RETURN(CellTrainResult r, head->Train(train, val, {}));
//   GEOLOC_RETURN_IF_ERROR(head->Save("head.pt", metadata_json));  // geoloc_head.json inside
//
// Architecture (D = input_dim, H = hidden, L = num_classes, n_i = cells at hierarchy level i):
//   x   = (desc - mean) * scale            input standardisation, fitted on the training rows
//   h   = ReLU(W_h x + b_h)                the shared dense layer (D -> H)
//   MC:           p = softmax(W_o h + b_o)                               (one layer H -> L)
//   hierarchical: p_i = softmax(W_i h + b_i) over the n_i cells of level i,
//                 s_i = p_i M_i,  M_i = LevelMatrices(cells)[i]  [n_i x L], computed as the
//                 gather eps + (1 - eps) p_i[branch row of k] (shallow leaves: the fill) from
//                 LevelAncestorRows: O(L) per level, so thousands of leaves stay fast
//     HMC:        q_k = prod_i s_i[k]                       (M_i with kOne fill)
//     HMC-sol:    q_k = exp(sum_i log s_i[k])               (kOne fill; computed in log space)
//     HMC-smooth: q_k = norm_k * sum_i alpha^(depth-i-1) s_i[k]   (kZero fill, SmoothNormalizers)
//     forward:    p_k = q_k / sum_j q_j                      rows sum to 1
// forward(desc [B, D]) -> [B, L] probabilities; log_probs(desc) -> [B, L] their logarithms (the
// training loss uses it). Output k is leaf class k of the hierarchy (CellHierarchy::leaf_node(k)).
//
// Numerics (case table):
//   | variant    | what can go wrong                       | what the module does               |
//   | MC         | nothing                                 | (log_)softmax                      |
//   | HMC        | the product of depth factors, each      | plain fp32 product as in the seed; |
//   |            | >= epsilon, underflows for deep trees   | a row whose sum underflows is 0    |
//   | HMC-sol    | none: each s_i[k] >= epsilon / n_i > 0  | sum of logs, then log_softmax      |
//   |            | (and >= 1e-30 by clamp when epsilon=0)  | (logsumexp normalisation)          |
//   | HMC-smooth | nothing (a weighted mean of s_i)        | weighted sum, normalised           |
// HMC and HMC-sol give the same probabilities up to rounding.
//
// Loss: mean over rows of -log(max(p_true, 1e-12)) (the clamp caps one row's loss at 27.6 and
// stops its gradient there, so a product that underflowed cannot produce inf/NaN).
//
// Lifetime and threading: a CellClassifier owns its module. Predict(), Evaluate(), GetWeights()
// and Save() are const and may run concurrently with each other; Train(), SetWeights() and
// FitInputScaling() change the weights and must not overlap any other call. Train() uses
// LibTorch's intra-op thread pool, which is process-wide (CellTrainOptions::intra_op_threads).
#ifndef GEOLOC_CORE_MODEL_CELL_CLASSIFIER_H_
#define GEOLOC_CORE_MODEL_CELL_CLASSIFIER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/cells/cell_hierarchy.h"
#include "core/model/cell_head_info.h"

namespace geoloc::model {

// A true leaf's probability below this counts as this in the loss.
inline constexpr double kCellLossMinProbability = 1e-12;

struct CellClassifierOptions {
  CellHeadVariant variant = CellHeadVariant::kHmc;
  int hidden = 512;        // 1..65536
  float epsilon = 0.01f;   // off-branch weight of the level matrices, in [0, 1] (hierarchical)
  double alpha = 0.9;      // HMC-smooth's smoothing factor, finite and > 0
  uint64_t seed = 0;       // parameter initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)))
};

// The parameters as plain row-major arrays, e.g. to set a head by hand in a test.
// outputs = num_classes (MC) or the sum of the level sizes, levels stacked in order (hierarchical).
struct CellClassifierWeights {
  std::vector<float> input_mean;     // input_dim
  std::vector<float> input_scale;    // input_dim
  std::vector<float> hidden_weight;  // hidden x input_dim
  std::vector<float> hidden_bias;    // hidden
  std::vector<float> output_weight;  // outputs x hidden
  std::vector<float> output_bias;    // outputs
};

// Caller-owned examples: rows = labels.size(); descriptors holds rows * input_dim floats.
struct CellExamples {
  absl::Span<const float> descriptors;
  absl::Span<const int> labels;  // leaf classes in [0, num_classes)
};

struct CellEpochStats {
  int epoch = 0;            // 1-based
  double train_loss = 0;    // mean over the epoch's batches (weighted by batch size)
  double val_loss = 0;
  double val_accuracy = 0;
  bool improved = false;    // a new best validation loss (these weights are kept)
  double seconds = 0;       // this epoch, training and validation
};

struct CellTrainOptions {
  int max_epochs = 200;
  double learning_rate = 1e-3;  // Adam
  int batch_size = 256;
  // Stop after this many epochs without a lower validation loss; the best epoch's weights are
  // restored at the end either way.
  int patience = 10;
  uint64_t seed = 0;  // batch order
  // LibTorch intra-op threads (at::set_num_threads, process-wide) set before training; 0 leaves
  // LibTorch's setting alone.
  int intra_op_threads = 0;
  bool show_progress = false;  // geoloc::ProgressReporter over epochs (rate, ETA) on stderr
  std::string progress_label = "train";
  std::function<void(const CellEpochStats&)> on_epoch;  // called after every epoch
};

struct CellTrainResult {
  int epochs_run = 0;
  int best_epoch = 0;
  double best_val_loss = 0;
  double best_train_loss = 0;
  bool stopped_early = false;
  double seconds = 0;
  std::vector<CellEpochStats> history;
};

struct CellEvaluation {
  int64_t rows = 0;
  double loss = 0;             // mean -log(max(p_true, kCellLossMinProbability))
  double accuracy = 0;         // top-1
  double ior = 0;              // accuracy * num_classes (Improvement over Random, seed 001)
  double ece = 0;              // geo::ExpectedCalibrationError, 20 bins, top-1 probability
  double mean_confidence = 0;  // mean top-1 probability
};

class CellClassifier {
 public:
  // A freshly initialised head for `input_dim`-dimensional descriptors over `cells`' leaves
  // (the hierarchy is only read here). INVALID_ARGUMENT for: a hierarchy without classes,
  // input_dim outside [1, kMaxDescriptorDim], hidden outside [1, 65536], epsilon outside [0, 1],
  // a non-finite or non-positive alpha (HMC-smooth).
  static absl::StatusOr<std::unique_ptr<CellClassifier>> Create(
      const cells::CellHierarchy& cells, int input_dim, const CellClassifierOptions& options);
  ~CellClassifier();
  CellClassifier(const CellClassifier&) = delete;
  CellClassifier& operator=(const CellClassifier&) = delete;

  const CellClassifierOptions& options() const;
  CellHeadVariant variant() const { return options().variant; }
  int input_dim() const;
  int num_classes() const;
  int hidden() const { return options().hidden; }
  // Cells per hierarchy level (the softmax sizes); empty for MC.
  const std::vector<int>& level_sizes() const;
  // The TorchScript source of the module's methods (as saved in the archive).
  const std::string& script_source() const;

  absl::StatusOr<CellClassifierWeights> GetWeights() const;
  // INVALID_ARGUMENT when a vector has the wrong size or a value is not finite.
  absl::Status SetWeights(const CellClassifierWeights& weights);
  // Sets mean and scale = 1 / max(std, 0.01 * mean std over dimensions) from `descriptors`
  // (rows * input_dim floats, rows >= 1). Train() calls it on the training rows.
  absl::Status FitInputScaling(absl::Span<const float> descriptors);

  // desc: batch * input_dim floats; probs: batch * num_classes floats (rows sum to 1).
  absl::Status Predict(const float* desc, int64_t batch, float* probs) const;
  // Loss, accuracy, IoR, ECE over the examples (rows >= 1).
  absl::StatusOr<CellEvaluation> Evaluate(const CellExamples& examples) const;

  // Fits the input scaling on `train`, then trains with Adam on minibatches of `train` (shuffled
  // every epoch), evaluates `val` after every epoch and stops early (see CellTrainOptions). At the
  // end the weights are those of the epoch with the lowest validation loss. INVALID_ARGUMENT for
  // empty sets, sizes that disagree, labels out of range, non-finite descriptors or options out
  // of range (max_epochs, batch_size >= 1, patience >= 1, learning_rate > 0); INTERNAL when the
  // training loss becomes non-finite (lower the learning rate).
  absl::StatusOr<CellTrainResult> Train(const CellExamples& train, const CellExamples& val,
                                        const CellTrainOptions& options);

  // Writes the TorchScript archive atomically, with `metadata_json` as its extra file
  // geoloc_head.json (CellHeadInfoToJson).
  absl::Status Save(const std::string& path, const std::string& metadata_json) const;

 private:
  struct Impl;
  explicit CellClassifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_CELL_CLASSIFIER_H_
