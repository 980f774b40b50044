#include "core/model/cell_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/cells/level_matrices.h"
#include "core/common/file_util.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/geo/metrics.h"
#include "core/model/model_info.h"
#include "core/model/torch_support.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace geoloc::model {
namespace {

constexpr int kMaxHidden = 1 << 16;
// Rows per forward pass when evaluating or predicting large sets (bounds temporary memory).
constexpr int64_t kEvalChunk = 4096;

// Methods every variant has: input standardisation, the shared dense layer and the output
// layer (one layer for MC; the level layers stacked for the hierarchical variants).
constexpr char kCommonSource[] = R"JIT(
def hidden_features(self, desc: Tensor) -> Tensor:
    x = (desc - self.input_mean) * self.input_scale
    return torch.relu(torch.linear(x, self.hidden_weight, self.hidden_bias))

def logits(self, desc: Tensor) -> Tensor:
    return torch.linear(self.hidden_features(desc), self.output_weight, self.output_bias)
)JIT";

// s_i = softmax_i(level i's logits) x M_i for every level i, as a gather: column k of M_i is 1 at
// the row of leaf k's branch cell and epsilon elsewhere, so s_i[k] = eps + (1 - eps) p_i[row];
// a leaf above level i (no branch cell there) has `shallow_fill` in every row, so s_i[k] =
// shallow_fill (p_i sums to 1). O(leaves) per level instead of O(cells x leaves).
constexpr char kLevelSource[] = R"JIT(
def level_scores(self, desc: Tensor) -> List[Tensor]:
    z = self.logits(desc)
    scores: List[Tensor] = []
    start = 0
    level = 0
    for n in self.level_sizes:
        p = torch.softmax(z.narrow(1, start, n), 1)
        on_branch = self.level_on_branch[level]
        branch = p.index_select(1, self.level_rows[level])
        scores.append(on_branch * (self.epsilon + (1.0 - self.epsilon) * branch)
                      + (1.0 - on_branch) * self.shallow_fill)
        start += n
        level += 1
    return scores
)JIT";

constexpr char kMcSource[] = R"JIT(
def forward(self, desc: Tensor) -> Tensor:
    return torch.softmax(self.logits(desc), 1)

def log_probs(self, desc: Tensor) -> Tensor:
    return torch.log_softmax(self.logits(desc), 1)
)JIT";

constexpr char kHmcSource[] = R"JIT(
def forward(self, desc: Tensor) -> Tensor:
    scores = self.level_scores(desc)
    q = scores[0]
    for i in range(1, len(scores)):
        q = q * scores[i]
    return q / torch.clamp_min(torch.sum(q, 1, True), 1e-30)

def log_probs(self, desc: Tensor) -> Tensor:
    return torch.log(torch.clamp_min(self.forward(desc), 1e-30))
)JIT";

constexpr char kHmcSolSource[] = R"JIT(
def log_probs(self, desc: Tensor) -> Tensor:
    scores = self.level_scores(desc)
    total = torch.log(torch.clamp_min(scores[0], 1e-30))
    for i in range(1, len(scores)):
        total = total + torch.log(torch.clamp_min(scores[i], 1e-30))
    return torch.log_softmax(total, 1)

def forward(self, desc: Tensor) -> Tensor:
    return torch.exp(self.log_probs(desc))
)JIT";

constexpr char kHmcSmoothSource[] = R"JIT(
def forward(self, desc: Tensor) -> Tensor:
    scores = self.level_scores(desc)
    q = scores[0] * self.level_weights[0]
    for i in range(1, len(scores)):
        q = q + scores[i] * self.level_weights[i]
    q = q * self.smooth_norm
    return q / torch.clamp_min(torch.sum(q, 1, True), 1e-30)

def log_probs(self, desc: Tensor) -> Tensor:
    return torch.log(torch.clamp_min(self.forward(desc), 1e-30))
)JIT";

std::string ScriptSource(CellHeadVariant variant) {
  switch (variant) {
    case CellHeadVariant::kMc:
      return absl::StrCat(kCommonSource, kMcSource);
    case CellHeadVariant::kHmc:
      return absl::StrCat(kCommonSource, kLevelSource, kHmcSource);
    case CellHeadVariant::kHmcSol:
      return absl::StrCat(kCommonSource, kLevelSource, kHmcSolSource);
    case CellHeadVariant::kHmcSmooth:
      return absl::StrCat(kCommonSource, kLevelSource, kHmcSmoothSource);
  }
  return "";
}

std::string ModuleName(CellHeadVariant variant) {
  switch (variant) {
    case CellHeadVariant::kMc:
      return "GeolocCellClassifierMc";
    case CellHeadVariant::kHmc:
      return "GeolocCellClassifierHmc";
    case CellHeadVariant::kHmcSol:
      return "GeolocCellClassifierHmcSol";
    case CellHeadVariant::kHmcSmooth:
      return "GeolocCellClassifierHmcSmooth";
  }
  return "GeolocCellClassifier";
}

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the range of torch.nn.Linear's default initialisation.
at::Tensor UniformInit(at::IntArrayRef sizes, int64_t fan_in, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return (torch::rand(sizes, gen, at::TensorOptions().dtype(at::kFloat)) * (2 * bound) - bound)
      .contiguous();
}

at::Tensor CopyToTensor(absl::Span<const float> values, at::IntArrayRef sizes) {
  return torch::from_blob(const_cast<float*>(values.data()), sizes,
                          at::TensorOptions().dtype(at::kFloat))
      .clone();
}

std::vector<float> TensorToVector(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Mean over rows of -max(log p_true, log kCellLossMinProbability).
at::Tensor NllLoss(const at::Tensor& log_probs, const at::Tensor& labels) {
  return -torch::clamp_min(log_probs.gather(1, labels.unsqueeze(1)),
                           std::log(kCellLossMinProbability))
              .mean();
}

absl::Status CheckExamples(const CellExamples& examples, int input_dim, int num_classes,
                           absl::string_view what) {
  const int64_t rows = static_cast<int64_t>(examples.labels.size());
  if (rows < 1) return absl::InvalidArgumentError(absl::StrCat(what, ": no examples"));
  if (static_cast<int64_t>(examples.descriptors.size()) != rows * input_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", examples.descriptors.size(), " descriptor floats for ", rows,
                     " labels of dimension ", input_dim, " (expected ", rows * input_dim, ")"));
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (examples.labels[r] < 0 || examples.labels[r] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": label of row ", r, " is ",
                                                     examples.labels[r], ", outside [0, ",
                                                     num_classes, ")"));
    }
  }
  for (size_t i = 0; i < examples.descriptors.size(); ++i) {
    if (!std::isfinite(examples.descriptors[i])) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": descriptor of row ",
                                                     i / input_dim, " is not finite"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct CellClassifier::Impl {
  CellClassifierOptions options;
  int input_dim = 0;
  int num_classes = 0;
  int num_outputs = 0;  // columns of the output layer
  std::vector<int> level_sizes;
  std::string source;
  // mutable: running a method is logically const (the module's parameters are not changed).
  mutable torch::jit::Module module;

  at::Tensor Param(const char* name) const { return module.attr(name).toTensor(); }

  // log_probs for `x` [n, D], in chunks, without gradients. NoGradGuard rather than InferenceMode:
  // during training the parameters require gradients and the graph executor's plan for them
  // cannot take inference tensors.
  at::Tensor LogProbs(const at::Tensor& x) const {
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (int64_t start = 0; start < x.size(0); start += kEvalChunk) {
      const int64_t len = std::min(kEvalChunk, x.size(0) - start);
      parts.push_back(module.run_method("log_probs", x.narrow(0, start, len)).toTensor());
    }
    return torch::cat(parts, 0);
  }

  CellEvaluation EvaluateTensors(const at::Tensor& x, const at::Tensor& y) const {
    torch::NoGradGuard no_grad;
    const at::Tensor lp = LogProbs(x);
    CellEvaluation e;
    e.rows = x.size(0);
    e.loss = NllLoss(lp, y).item<double>();
    auto [max_lp, argmax] = lp.max(1);
    const at::Tensor conf = max_lp.exp().to(at::kDouble).contiguous();
    const at::Tensor hit = argmax.eq(y).contiguous();
    std::vector<double> confidences(conf.data_ptr<double>(), conf.data_ptr<double>() + e.rows);
    std::unique_ptr<bool[]> correct(new bool[e.rows]);
    int64_t hits = 0;
    double conf_sum = 0;
    const bool* hp = hit.data_ptr<bool>();
    for (int64_t i = 0; i < e.rows; ++i) {
      correct[i] = hp[i];
      hits += hp[i] ? 1 : 0;
      // Rounding in exp can leave a probability a hair above 1; ECE wants [0, 1].
      confidences[i] = std::clamp(confidences[i], 0.0, 1.0);
      conf_sum += confidences[i];
    }
    e.accuracy = static_cast<double>(hits) / e.rows;
    e.ior = e.accuracy * num_classes;
    e.mean_confidence = conf_sum / e.rows;
    e.ece = geo::ExpectedCalibrationError(confidences,
                                          absl::Span<const bool>(correct.get(), e.rows), 20);
    return e;
  }
};

CellClassifier::CellClassifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CellClassifier::~CellClassifier() = default;

const CellClassifierOptions& CellClassifier::options() const { return impl_->options; }
int CellClassifier::input_dim() const { return impl_->input_dim; }
int CellClassifier::num_classes() const { return impl_->num_classes; }
const std::vector<int>& CellClassifier::level_sizes() const { return impl_->level_sizes; }
const std::string& CellClassifier::script_source() const { return impl_->source; }

absl::StatusOr<std::unique_ptr<CellClassifier>> CellClassifier::Create(
    const cells::CellHierarchy& cells, int input_dim, const CellClassifierOptions& options) {
  const int num_classes = cells.num_classes();
  if (num_classes < 1) {
    return absl::InvalidArgumentError("cell classifier: the cell hierarchy has no classes");
  }
  if (input_dim < 1 || input_dim > kMaxDescriptorDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("cell classifier: input_dim ", input_dim, " outside [1, ", kMaxDescriptorDim,
                     "]"));
  }
  if (options.hidden < 1 || options.hidden > kMaxHidden) {
    return absl::InvalidArgumentError(
        absl::StrCat("cell classifier: hidden ", options.hidden, " outside [1, ", kMaxHidden, "]"));
  }
  if (!(options.epsilon >= 0.0f && options.epsilon <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cell classifier: epsilon ", options.epsilon, " outside [0, 1]"));
  }
  if (options.variant == CellHeadVariant::kHmcSmooth &&
      !(std::isfinite(options.alpha) && options.alpha > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cell classifier: alpha ", options.alpha, " must be finite and > 0"));
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->input_dim = input_dim;
  impl->num_classes = num_classes;
  impl->source = ScriptSource(options.variant);

  const bool hierarchical = IsHierarchical(options.variant);
  std::vector<std::vector<int>> ancestor_rows;  // per level, per leaf (cells::LevelAncestorRows)
  int64_t total_rows = 0;
  if (hierarchical) {
    for (const std::vector<cells::CellId>& level : cells::LevelCells(cells)) {
      impl->level_sizes.push_back(static_cast<int>(level.size()));
      total_rows += static_cast<int64_t>(level.size());
    }
    ancestor_rows = cells::LevelAncestorRows(cells);
  }
  impl->num_outputs = hierarchical ? static_cast<int>(total_rows) : num_classes;

  try {
    at::Generator gen = at::detail::createCPUGenerator(options.seed);
    torch::jit::Module module(ModuleName(options.variant));
    const int64_t d = input_dim;
    const int64_t h = options.hidden;
    const int64_t o = impl->num_outputs;
    module.register_buffer("input_mean", torch::zeros({d}, at::kFloat));
    module.register_buffer("input_scale", torch::ones({d}, at::kFloat));
    module.register_parameter("hidden_weight", UniformInit({h, d}, d, gen), false);
    module.register_parameter("hidden_bias", UniformInit({h}, d, gen), false);
    module.register_parameter("output_weight", UniformInit({o, h}, h, gen), false);
    module.register_parameter("output_bias", UniformInit({o}, h, gen), false);
    if (hierarchical) {
      // The level matrices (cells::LevelMatrices, docs/CELLS.md) as indices: per level, each
      // leaf's branch row (0 where it has none) and whether it has one.
      const int64_t depth = static_cast<int64_t>(ancestor_rows.size());
      at::Tensor rows = torch::zeros({depth, num_classes}, at::kLong);
      at::Tensor on_branch = torch::zeros({depth, num_classes}, at::kFloat);
      for (int64_t i = 0; i < depth; ++i) {
        for (int k = 0; k < num_classes; ++k) {
          const int row = ancestor_rows[i][k];
          if (row < 0) continue;
          rows[i][k] = row;
          on_branch[i][k] = 1.0f;
        }
      }
      module.register_buffer("level_rows", rows);
      module.register_buffer("level_on_branch", on_branch);
      module.register_attribute("epsilon", c10::FloatType::get(),
                                c10::IValue(static_cast<double>(options.epsilon)));
      // kOne for HMC and HMC-sol, kZero for HMC-smooth (with SmoothNormalizers); docs/CELLS.md.
      const double fill = options.variant == CellHeadVariant::kHmcSmooth ? 0.0 : 1.0;
      module.register_attribute("shallow_fill", c10::FloatType::get(), c10::IValue(fill));
      c10::List<int64_t> sizes;
      for (int n : impl->level_sizes) sizes.push_back(n);
      module.register_attribute("level_sizes", c10::ListType::ofInts(), c10::IValue(sizes));
    }
    if (options.variant == CellHeadVariant::kHmcSmooth) {
      const int depth = cells.depth();
      c10::List<double> weights;
      for (int i = 0; i < depth; ++i) weights.push_back(std::pow(options.alpha, depth - i - 1));
      module.register_attribute("level_weights", c10::ListType::ofFloats(), c10::IValue(weights));
      const std::vector<float> norms = cells::SmoothNormalizers(cells, options.alpha);
      module.register_buffer("smooth_norm", CopyToTensor(norms, {num_classes}));
    }
    module.define(impl->source);
    module.eval();
    impl->module = std::move(module);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "cell classifier: building the module");
  }
  return std::unique_ptr<CellClassifier>(new CellClassifier(std::move(impl)));
}

absl::StatusOr<CellClassifierWeights> CellClassifier::GetWeights() const {
  try {
    CellClassifierWeights w;
    w.input_mean = TensorToVector(impl_->Param("input_mean"));
    w.input_scale = TensorToVector(impl_->Param("input_scale"));
    w.hidden_weight = TensorToVector(impl_->Param("hidden_weight"));
    w.hidden_bias = TensorToVector(impl_->Param("hidden_bias"));
    w.output_weight = TensorToVector(impl_->Param("output_weight"));
    w.output_bias = TensorToVector(impl_->Param("output_bias"));
    return w;
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "cell classifier: reading the weights");
  }
}

absl::Status CellClassifier::SetWeights(const CellClassifierWeights& weights) {
  const int64_t d = impl_->input_dim;
  const int64_t h = impl_->options.hidden;
  const int64_t o = impl_->num_outputs;
  const struct {
    const char* name;
    const std::vector<float>* values;
    int64_t size;
  } fields[] = {
      {"input_mean", &weights.input_mean, d},      {"input_scale", &weights.input_scale, d},
      {"hidden_weight", &weights.hidden_weight, h * d}, {"hidden_bias", &weights.hidden_bias, h},
      {"output_weight", &weights.output_weight, o * h}, {"output_bias", &weights.output_bias, o},
  };
  for (const auto& f : fields) {
    if (static_cast<int64_t>(f.values->size()) != f.size) {
      return absl::InvalidArgumentError(absl::StrCat("cell classifier: ", f.name, " has ",
                                                     f.values->size(), " values, expected ",
                                                     f.size));
    }
    for (float v : *f.values) {
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("cell classifier: ", f.name, " holds a non-finite value"));
      }
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (const auto& f : fields) {
      at::Tensor p = impl_->Param(f.name);
      p.copy_(CopyToTensor(*f.values, p.sizes()));
    }
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "cell classifier: setting the weights");
  }
  return absl::OkStatus();
}

absl::Status CellClassifier::FitInputScaling(absl::Span<const float> descriptors) {
  const int64_t d = impl_->input_dim;
  const int64_t rows = static_cast<int64_t>(descriptors.size()) / d;
  if (rows < 1 || rows * d != static_cast<int64_t>(descriptors.size())) {
    return absl::InvalidArgumentError(absl::StrCat("cell classifier: FitInputScaling needs a "
                                                   "positive multiple of ",
                                                   d, " floats, got ", descriptors.size()));
  }
  std::vector<double> mean(d, 0.0), var(d, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < d; ++j) mean[j] += descriptors[r * d + j];
  }
  for (double& m : mean) m /= rows;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < d; ++j) {
      const double delta = descriptors[r * d + j] - mean[j];
      var[j] += delta * delta;
    }
  }
  double mean_std = 0;
  for (double& v : var) {
    v = std::sqrt(v / rows);  // now the standard deviation
    mean_std += v;
  }
  mean_std /= d;
  // A dimension that (almost) never varies in training must not be blown up at serving time.
  const double floor = std::max(0.01 * mean_std, 1e-12);
  std::vector<float> m(d), s(d);
  for (int64_t j = 0; j < d; ++j) {
    m[j] = static_cast<float>(mean[j]);
    s[j] = static_cast<float>(1.0 / std::max(var[j], floor));
  }
  try {
    torch::NoGradGuard no_grad;
    impl_->Param("input_mean").copy_(CopyToTensor(m, {d}));
    impl_->Param("input_scale").copy_(CopyToTensor(s, {d}));
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "cell classifier: setting the input scaling");
  }
  return absl::OkStatus();
}

absl::Status CellClassifier::Predict(const float* desc, int64_t batch, float* probs) const {
  if (desc == nullptr || probs == nullptr || batch < 1) {
    return absl::InvalidArgumentError("CellClassifier::Predict: null buffer or batch < 1");
  }
  try {
    c10::InferenceMode guard;
    const int64_t d = impl_->input_dim;
    const int64_t l = impl_->num_classes;
    for (int64_t start = 0; start < batch; start += kEvalChunk) {
      const int64_t len = std::min(kEvalChunk, batch - start);
      at::Tensor x = torch::from_blob(const_cast<float*>(desc + start * d), {len, d},
                                      at::TensorOptions().dtype(at::kFloat));
      at::Tensor y = impl_->module.forward({x}).toTensor().to(at::kFloat).contiguous();
      std::memcpy(probs + start * l, y.data_ptr<float>(), sizeof(float) * len * l);
    }
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "CellClassifier::Predict");
  }
  return absl::OkStatus();
}

absl::StatusOr<CellEvaluation> CellClassifier::Evaluate(const CellExamples& examples) const {
  GEOLOC_RETURN_IF_ERROR(
      CheckExamples(examples, impl_->input_dim, impl_->num_classes, "cell classifier evaluation"));
  try {
    const int64_t rows = static_cast<int64_t>(examples.labels.size());
    at::Tensor x = torch::from_blob(const_cast<float*>(examples.descriptors.data()),
                                    {rows, static_cast<int64_t>(impl_->input_dim)},
                                    at::TensorOptions().dtype(at::kFloat));
    at::Tensor y = torch::from_blob(const_cast<int*>(examples.labels.data()), {rows},
                                    at::TensorOptions().dtype(at::kInt))
                       .to(at::kLong);
    return impl_->EvaluateTensors(x, y);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "cell classifier evaluation");
  }
}

absl::StatusOr<CellTrainResult> CellClassifier::Train(const CellExamples& train,
                                                      const CellExamples& val,
                                                      const CellTrainOptions& options) {
  if (options.max_epochs < 1 || options.batch_size < 1 || options.patience < 1 ||
      options.intra_op_threads < 0 ||
      !(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cell classifier training: max_epochs ", options.max_epochs, ", batch_size ",
        options.batch_size, ", patience ", options.patience, " must be >= 1 and learning_rate ",
        options.learning_rate, " > 0"));
  }
  GEOLOC_RETURN_IF_ERROR(CheckExamples(train, impl_->input_dim, impl_->num_classes, "training set"));
  GEOLOC_RETURN_IF_ERROR(CheckExamples(val, impl_->input_dim, impl_->num_classes, "validation set"));
  GEOLOC_RETURN_IF_ERROR(FitInputScaling(train.descriptors));

  const absl::Time start = absl::Now();
  CellTrainResult result;
  try {
    if (options.intra_op_threads > 0) at::set_num_threads(options.intra_op_threads);
    const int64_t d = impl_->input_dim;
    const int64_t n = static_cast<int64_t>(train.labels.size());
    const int64_t n_val = static_cast<int64_t>(val.labels.size());
    const at::Tensor x_train = CopyToTensor(train.descriptors, {n, d});
    const at::Tensor y_train = torch::from_blob(const_cast<int*>(train.labels.data()), {n},
                                                at::TensorOptions().dtype(at::kInt))
                                   .to(at::kLong);
    const at::Tensor x_val = CopyToTensor(val.descriptors, {n_val, d});
    const at::Tensor y_val = torch::from_blob(const_cast<int*>(val.labels.data()), {n_val},
                                              at::TensorOptions().dtype(at::kInt))
                                 .to(at::kLong);

    std::vector<at::Tensor> params;
    for (at::Tensor p : impl_->module.parameters()) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
    torch::optim::Adam adam(params, torch::optim::AdamOptions(options.learning_rate));
    at::Generator gen = at::detail::createCPUGenerator(options.seed);
    impl_->module.train();

    std::vector<at::Tensor> best;
    for (const at::Tensor& p : params) best.push_back(p.detach().clone());
    double best_val = std::numeric_limits<double>::infinity();
    int since_best = 0;
    std::unique_ptr<ProgressReporter> progress;
    if (options.show_progress) {
      progress = std::make_unique<ProgressReporter>(options.progress_label, options.max_epochs,
                                                    "epochs");
    }
    for (int epoch = 1; epoch <= options.max_epochs; ++epoch) {
      const absl::Time epoch_start = absl::Now();
      const at::Tensor order = torch::randperm(n, gen, at::TensorOptions().dtype(at::kLong));
      double loss_sum = 0;
      for (int64_t s = 0; s < n; s += options.batch_size) {
        const int64_t len = std::min<int64_t>(options.batch_size, n - s);
        const at::Tensor idx = order.narrow(0, s, len);
        adam.zero_grad();
        const at::Tensor lp =
            impl_->module.run_method("log_probs", x_train.index_select(0, idx)).toTensor();
        at::Tensor loss = NllLoss(lp, y_train.index_select(0, idx));
        loss.backward();
        adam.step();
        loss_sum += loss.item<double>() * len;
      }
      CellEpochStats stats;
      stats.epoch = epoch;
      stats.train_loss = loss_sum / n;
      if (!std::isfinite(stats.train_loss)) {
        impl_->module.eval();
        return absl::InternalError(absl::StrCat(
            "cell classifier training diverged: training loss ", stats.train_loss, " at epoch ",
            epoch, "; lower the learning rate (", options.learning_rate, ")"));
      }
      const CellEvaluation v = impl_->EvaluateTensors(x_val, y_val);
      stats.val_loss = v.loss;
      stats.val_accuracy = v.accuracy;
      stats.improved = v.loss < best_val;
      if (stats.improved) {
        best_val = v.loss;
        since_best = 0;
        result.best_epoch = epoch;
        result.best_train_loss = stats.train_loss;
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) best[i].copy_(params[i]);
      } else {
        ++since_best;
      }
      stats.seconds = absl::ToDoubleSeconds(absl::Now() - epoch_start);
      result.history.push_back(stats);
      result.epochs_run = epoch;
      if (progress != nullptr) progress->Add(1);
      if (options.on_epoch) options.on_epoch(stats);
      if (since_best >= options.patience) {
        result.stopped_early = epoch < options.max_epochs;
        break;
      }
    }
    if (progress != nullptr) progress->Finish();
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        params[i].copy_(best[i]);
        params[i].set_requires_grad(false);
        params[i].mutable_grad() = at::Tensor();
      }
    }
    impl_->module.eval();
    result.best_val_loss = best_val;
  } catch (const std::exception& e) {
    impl_->module.eval();
    return TorchErrorToStatus(e, "cell classifier training");
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

absl::Status CellClassifier::Save(const std::string& path,
                                  const std::string& metadata_json) const {
  std::string bytes;
  try {
    std::ostringstream out;
    torch::jit::ExtraFilesMap extra{{kHeadInfoFile, metadata_json}};
    impl_->module.save(out, extra);
    bytes = out.str();
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat("cell classifier: saving ", path));
  }
  return WriteFileAtomically(path, bytes);
}

}  // namespace geoloc::model
