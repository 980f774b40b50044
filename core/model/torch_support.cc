#include "core/model/torch_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ATen/Context.h"
#include "ATen/Parallel.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/model/openmp_threads.h"

namespace geoloc::model {
namespace {

// LibTorch messages can run to pages (TorchScript tracebacks); keep what a log line can carry.
constexpr size_t kMaxErrorChars = 800;
// The contract's numeric checks (docs/MODEL.md).
constexpr double kUnitNormTolerance = 1e-3;
constexpr double kForwardVsPoolTolerance = 1e-4;

std::string ShapeString(const at::Tensor& t) {
  std::vector<int64_t> sizes(t.sizes().begin(), t.sizes().end());
  return absl::StrCat("[", absl::StrJoin(sizes, ", "), "]");
}

absl::Status ContractError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": model does not meet the geoloc contract (docs/MODEL.md): ", what));
}

absl::Status ValidateContract(torch::jit::Module& module, const ModelInfo& info,
                              const std::string& path, const c10::Device& device) {
  for (const char* method : {"features", "pool", "forward"}) {
    if (!module.find_method(method).has_value()) {
      return ContractError(
          path, absl::StrCat("no method `", method, "` (export it with @torch.jit.export)"));
    }
  }
  torch::NoGradGuard no_grad;
  const std::vector<float> probe = ProbeImageHwc(info);
  const at::Tensor x = WrapHwcBatch(probe.data(), 1, info).to(device);
  c10::IValue fmap_value = module.run_method("features", x);
  if (!fmap_value.isTensor()) return ContractError(path, "features(x) does not return a tensor");
  const at::Tensor fmap = fmap_value.toTensor();
  if (fmap.dim() != 4 || fmap.size(0) != 1 || fmap.size(2) < 1 || fmap.size(3) < 1) {
    return ContractError(
        path, absl::StrCat("features(x) of a [1, 3, ", info.input_height, ", ", info.input_width,
                           "] input gives ", ShapeString(fmap), ", expected [1, C, h, w]"));
  }
  c10::IValue pooled_value = module.run_method("pool", fmap);
  c10::IValue out_value = module.forward({x});
  if (!pooled_value.isTensor() || !out_value.isTensor()) {
    return ContractError(path, "pool(fmap) and forward(x) must return tensors");
  }
  const at::Tensor out = out_value.toTensor().to(at::kCPU, at::kFloat);
  const at::Tensor pooled = pooled_value.toTensor().to(at::kCPU, at::kFloat);
  if (out.dim() != 2 || out.size(0) != 1 || out.size(1) != info.dim) {
    return ContractError(
        path, absl::StrCat("forward(x) gives ", ShapeString(out), " but ", kModelInfoFile,
                           " says dim ", info.dim, ", expected [1, ", info.dim, "]"));
  }
  if (!out.isfinite().all().item<bool>()) {
    return ContractError(path, "forward(x) gives non-finite values");
  }
  const double norm = out.norm().item<double>();
  if (std::fabs(norm - 1.0) > kUnitNormTolerance) {
    return ContractError(path,
                         absl::StrFormat("forward(x) is not L2-normalised (norm %.6g)", norm));
  }
  if (pooled.sizes() != out.sizes()) {
    return ContractError(path, absl::StrCat("pool(features(x)) gives ", ShapeString(pooled),
                                            ", forward(x) ", ShapeString(out)));
  }
  const double diff = (pooled - out).abs().max().item<double>();
  if (!(diff < kForwardVsPoolTolerance)) {
    return ContractError(
        path, absl::StrFormat("forward(x) != pool(features(x)) (max abs diff %.3g)", diff));
  }
  return absl::OkStatus();
}

// Every op in the frozen fp32 graphs of the models tests/model runs through
// optimize_for_inference (make_test_models.py: ResNet-18/50 with every head, VGG-16,
// EfficientNet-B0/B1, checkpoint imports, the hand-written user model). Adding an op here needs a
// test model that contains it.
constexpr absl::string_view kOpsKnownToOptimize[] = {
    "aten::__contains__",
    "aten::__isnot__",
    "aten::adaptive_avg_pool2d",
    "aten::add_",
    "aten::amax",
    "aten::avg_pool2d",
    "aten::bmm",
    "aten::cat",
    "aten::clamp",
    "aten::clamp_min",
    "aten::conv2d",
    "aten::div",
    "aten::expand_as",
    "aten::flatten",
    "aten::gt",
    "aten::len",
    "aten::linear",
    "aten::max_pool2d",
    "aten::mul",
    "aten::norm",
    "aten::pow",
    "aten::relu",
    "aten::relu_",
    "aten::sigmoid",
    "aten::silu_",
    "aten::size",
    "aten::softmax",
    "aten::sub",
    "aten::sum",
    "aten::transpose",
    "aten::unsqueeze",
    "aten::upsample_bilinear2d",
    "prim::Constant",
    "prim::If",
    "prim::ListConstruct",
    "prim::RaiseException",
    "prim::Uninitialized",
    "prim::unchecked_cast",
};

// Calls `visit` on every node of `block` and of the blocks nested in it; stops when it returns
// false. Returns false when stopped.
bool VisitNodes(const torch::jit::Block* block,
                const std::function<bool(const torch::jit::Node*)>& visit) {
  for (const torch::jit::Node* node : block->nodes()) {
    if (!visit(node)) return false;
    for (const torch::jit::Block* nested : node->blocks()) {
      if (!VisitNodes(nested, visit)) return false;
    }
  }
  return true;
}

}  // namespace

std::string SelectQuantizedEngine() {
  static std::once_flag once;
  static std::string name = "none";
  std::call_once(once, [] {
    const std::vector<at::QEngine>& supported = at::globalContext().supportedQEngines();
    for (const at::QEngine engine :
         {at::QEngine::X86, at::QEngine::FBGEMM, at::QEngine::ONEDNN, at::QEngine::QNNPACK}) {
      if (std::find(supported.begin(), supported.end(), engine) == supported.end()) continue;
      try {
        if (at::globalContext().qEngine() != engine) at::globalContext().setQEngine(engine);
        name = c10::toString(engine);
      } catch (const std::exception& e) {
        GEOLOC_LOG(WARNING) << "selecting the quantized engine " << c10::toString(engine)
                            << " failed: " << e.what();
        continue;
      }
      break;
    }
    name = absl::AsciiStrToLower(name);
  });
  return name;
}

bool GraphIsQuantized(const torch::jit::Graph& graph) {
  const torch::jit::Symbol quantize = c10::Symbol::fromQualString("aten::quantize_per_tensor");
  return !VisitNodes(graph.block(), [&](const torch::jit::Node* node) {
    const std::string kind = node->kind().toQualString();
    return !(node->kind() == quantize || absl::StartsWith(kind, "quantized::"));
  });
}

std::string FirstOpNotKnownToOptimize(const torch::jit::Graph& graph) {
  std::string unknown;
  VisitNodes(graph.block(), [&](const torch::jit::Node* node) {
    const absl::string_view kind = node->kind().toQualString();
    if (std::find(std::begin(kOpsKnownToOptimize), std::end(kOpsKnownToOptimize), kind) !=
        std::end(kOpsKnownToOptimize)) {
      return true;
    }
    unknown = std::string(kind);
    return false;
  });
  return unknown;
}

absl::Status TorchErrorToStatus(const std::exception& e, absl::string_view context,
                                absl::StatusCode code) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string message = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  if (message.size() > kMaxErrorChars) message = message.substr(0, kMaxErrorChars) + " ...";
  return absl::Status(code, absl::StrCat(context, ": ", message));
}

absl::Status SetIntraOpThreads(int threads) {
  if (threads <= 0) return absl::OkStatus();
  try {
    at::set_num_threads(threads);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat("setting ", threads, " intra-op threads failed"));
  }
  return absl::OkStatus();
}

void ApplyIntraOpThreads(int threads) {
  threads = CappedThreads(threads);
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
}

absl::Status CheckReadableFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": ", std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": not readable"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedModel> LoadModelArchive(const std::string& path, const c10::Device& device) {
  GEOLOC_RETURN_IF_ERROR(CheckReadableFile(path));
  SelectQuantizedEngine();  // before loading: int8 weights are packed for the engine on load
  LoadedModel loaded;
  torch::jit::ExtraFilesMap extra_files{{kModelInfoFile, ""}};
  try {
    loaded.module = torch::jit::load(path, device, extra_files);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat(path, ": not a TorchScript archive"),
                              absl::StatusCode::kInvalidArgument);
  }
  const std::string& json = extra_files[kModelInfoFile];
  if (json.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the archive has no ", kModelInfoFile,
                     " extra file; export with tools/export_model.py or torch.jit.save(m, path, "
                     "_extra_files={'geoloc.json': ...}) as docs/MODEL.md describes"));
  }
  absl::StatusOr<ModelInfo> info = ParseModelInfoJson(json);
  if (!info.ok()) return Annotate(info.status(), path);
  loaded.info = *std::move(info);
  try {
    loaded.module.eval();
    GEOLOC_RETURN_IF_ERROR(ValidateContract(loaded.module, loaded.info, path, device));
  } catch (const std::exception& e) {
    return TorchErrorToStatus(
        e, absl::StrCat(path, ": the contract check's forward pass failed (docs/MODEL.md)"),
        absl::StatusCode::kInvalidArgument);
  }
  return loaded;
}

std::vector<float> ProbeImageHwc(const ModelInfo& info) {
  std::vector<float> probe(static_cast<size_t>(info.input_height) * info.input_width * 3);
  for (int y = 0; y < info.input_height; ++y) {
    for (int x = 0; x < info.input_width; ++x) {
      for (int c = 0; c < 3; ++c) {
        probe[(static_cast<size_t>(y) * info.input_width + x) * 3 + c] =
            static_cast<float>(1.5 * std::sin(y * 0.11 + c * 0.7) * std::cos(x * 0.07 - c * 0.4) +
                               0.5 * std::sin((x + y) * 0.23 + c));
      }
    }
  }
  return probe;
}

at::Tensor WrapHwcBatch(const float* images, int batch, const ModelInfo& info) {
  const int64_t h = info.input_height;
  const int64_t w = info.input_width;
  // from_blob needs a mutable pointer; nothing writes through it (the model only reads its input).
  return torch::from_blob(const_cast<float*>(images), {batch, 3, h, w}, {h * w * 3, 1, w * 3, 3},
                          at::TensorOptions().dtype(at::kFloat));
}

}  // namespace geoloc::model
