#include "core/model/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ATen/autocast_mode.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/model/cpu_features.h"
#include "core/model/preprocess.h"
#include "core/model/torch_support.h"
#include "torch/cuda.h"
#include "torch/script.h"

namespace geoloc::model {
namespace {

// bf16 must keep descriptors close to fp32 for retrieval to be unchanged; checked once at Load on
// a fixed input (tests check realistic images to the same bound).
constexpr double kMinBf16Cosine = 0.99;
// The profiling executor specialises a graph on its first runs; two passes reach the fast plan.
constexpr int kWarmupPasses = 2;
// optimize_for_inference must not change descriptors beyond float reassociation (docs/MODEL.md).
constexpr double kMaxOptimizedDiff = 1e-4;

// Sets this thread's autocast state for one forward pass and restores it afterwards. Autocast
// state is thread-local in LibTorch, so it must be set on the thread that runs the forward.
class AutocastScope {
 public:
  AutocastScope(bool enable, bool cuda)
      : cuda_(cuda),
        was_enabled_(cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled()),
        old_dtype_(cuda ? at::autocast::get_autocast_gpu_dtype()
                        : at::autocast::get_autocast_cpu_dtype()) {
    if (cuda_) {
      at::autocast::set_enabled(enable);
      // Half runs on every CUDA GPU with tensor cores; bf16 only on Ampere and newer.
      if (enable) at::autocast::set_autocast_gpu_dtype(at::kHalf);
    } else {
      at::autocast::set_cpu_enabled(enable);
      if (enable) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    // As torch.autocast's __exit__: the cast cache dies with the outermost scope.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_) {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(old_dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(old_dtype_);
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  const bool cuda_;
  const bool was_enabled_;
  const at::ScalarType old_dtype_;
};

}  // namespace

absl::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kAuto:
      return "auto";
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
  }
  return "unknown";
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "auto") return Precision::kAuto;
  if (lower == "fp32") return Precision::kFp32;
  if (lower == "bf16") return Precision::kBf16;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision \"", name, "\"; expected auto, fp32 or bf16"));
}

struct Encoder::Impl {
  torch::jit::Module module;  // frozen (or frozen and optimized), eval
  ModelInfo info;
  Precision precision = Precision::kFp32;
  c10::Device device = c10::Device(c10::kCPU);
  int intra_op_threads = 0;
  bool int8 = false;
  bool graph_optimized = false;

  // Replaces `module` (frozen) by optimize_for_inference(`unfrozen`) when that is known to be safe
  // and gives the same descriptors (EncoderOptions::optimize_graph); else keeps it and says why.
  absl::Status MaybeOptimize(torch::jit::Module& unfrozen, const std::string& path);

  // One forward pass of `batch` images at `precision`; descriptors are L2-normalised in fp32.
  absl::Status Forward(const float* images, int batch, Precision run_precision, float* out) {
    if (images == nullptr || out == nullptr) {
      return absl::InvalidArgumentError("Encode: images and out must not be null");
    }
    if (batch <= 0) return absl::InvalidArgumentError(absl::StrCat("Encode: batch is ", batch));
    const bool cuda = device.is_cuda();
    try {
      ApplyIntraOpThreads(intra_op_threads);
      c10::InferenceMode inference_mode;
      AutocastScope autocast(run_precision == Precision::kBf16, cuda);
      at::Tensor x = WrapHwcBatch(images, batch, info);
      if (cuda) x = x.to(device);
      at::Tensor y = module.forward({x}).toTensor();
      y = y.to(at::kCPU, at::kFloat).contiguous();
      if (y.dim() != 2 || y.size(0) != batch || y.size(1) != info.dim) {
        return absl::InternalError(absl::StrCat("Encode: the model returned shape [",
                                                absl::StrJoin(y.sizes(), ", "), "], expected [",
                                                batch, ", ", info.dim, "]"));
      }
      // A reduced-precision forward leaves norms near but not at 1; the index needs exact ones.
      if (run_precision == Precision::kBf16) {
        y = y / y.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
      }
      if (!y.isfinite().all().item<bool>()) {
        return absl::InternalError("Encode: the model produced non-finite descriptors");
      }
      std::memcpy(out, y.data_ptr<float>(), sizeof(float) * batch * info.dim);
    } catch (const std::exception& e) {
      return TorchErrorToStatus(e, "Encode: forward pass failed");
    }
    return absl::OkStatus();
  }
};

absl::Status Encoder::Impl::MaybeOptimize(torch::jit::Module& unfrozen, const std::string& path) {
  const std::string unknown_op = FirstOpNotKnownToOptimize(*module.get_method("forward").graph());
  if (!unknown_op.empty()) {
    GEOLOC_LOG(INFO) << path << ": running the frozen graph without optimize_for_inference ("
                     << unknown_op << " is not among the ops it is tested with)";
    return absl::OkStatus();
  }
  torch::jit::Module optimized;
  try {
    // From the unfrozen module: it freezes a copy first, leaving `module` as it is.
    optimized = torch::jit::optimize_for_inference(unfrozen);
  } catch (const std::exception& e) {
    GEOLOC_LOG(WARNING) << TorchErrorToStatus(e, absl::StrCat(path,
                                                              ": optimize_for_inference "
                                                              "failed; running the frozen graph"));
    return absl::OkStatus();
  }
  // The same descriptors on a batch of two different images (the rewrite must neither change the
  // maths nor mix up images within a batch).
  const std::vector<float> probe = ProbeImageHwc(info);
  std::vector<float> batch(probe);
  for (float v : probe) batch.push_back(0.5f - 0.75f * v);
  std::vector<float> frozen_out(2 * static_cast<size_t>(info.dim));
  std::vector<float> optimized_out(frozen_out.size());
  GEOLOC_RETURN_IF_ERROR(Forward(batch.data(), 2, Precision::kFp32, frozen_out.data()));
  std::swap(module, optimized);
  const absl::Status status = Forward(batch.data(), 2, Precision::kFp32, optimized_out.data());
  double diff = 0;
  for (size_t i = 0; i < frozen_out.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(frozen_out[i] - optimized_out[i])));
  }
  if (!status.ok() || !(diff < kMaxOptimizedDiff)) {
    std::swap(module, optimized);
    GEOLOC_LOG(WARNING) << path << ": optimize_for_inference changed the descriptors ("
                        << (status.ok() ? absl::StrFormat("max abs diff %.3g", diff)
                                        : status.ToString())
                        << "); running the frozen graph";
    return absl::OkStatus();
  }
  graph_optimized = true;
  return absl::OkStatus();
}

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::~Encoder() = default;

absl::StatusOr<std::unique_ptr<Encoder>> Encoder::Load(const std::string& path,
                                                       const EncoderOptions& options) {
  if (options.intra_op_threads < 0 || options.warmup_batch < 0) {
    return absl::InvalidArgumentError("Encoder: intra_op_threads and warmup_batch must be >= 0");
  }
  auto impl = std::make_unique<Impl>();
  bool cuda = false;
  try {
    cuda = options.allow_cuda && torch::cuda::is_available();
  } catch (const std::exception& e) {
    GEOLOC_LOG(WARNING) << "Encoder: CUDA probe failed, using the CPU: " << e.what();
  }
  impl->device = cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (options.precision == Precision::kBf16 && !cuda && !CpuSupportsBf16()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Encoder: precision bf16 needs a CPU with avx512_bf16 or amx_bf16; this one has: ",
        CpuFeaturesString(GetCpuFeatures()), " (use precision auto or fp32)"));
  }
  impl->intra_op_threads = options.intra_op_threads;
  GEOLOC_RETURN_IF_ERROR(SetIntraOpThreads(options.intra_op_threads));

  GEOLOC_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelArchive(path, impl->device));
  impl->info = std::move(loaded.info);
  try {
    // Freezing inlines the weights as constants and folds conv+bn.
    impl->module = torch::jit::freeze(loaded.module);
    impl->int8 = GraphIsQuantized(*impl->module.get_method("forward").graph());
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat(path, ": torch::jit::freeze failed"));
  }

  switch (options.precision) {
    case Precision::kFp32:
      impl->precision = Precision::kFp32;
      break;
    case Precision::kBf16:
      if (impl->int8) {
        return absl::FailedPreconditionError(absl::StrCat(
            path,
            ": an int8 archive runs its float head in fp32, not bf16 (use precision auto "
            "or fp32, or export the model without --quantize for bf16)"));
      }
      impl->precision = Precision::kBf16;
      break;
    case Precision::kAuto:
      // bf16 pays off with AMX tiles. With AVX512_BF16 alone, oneDNN 2.6's bf16 convolutions
      // ran slower than fp32 on our Xeon VMs (docs/MODEL.md, "Precision"), so auto keeps fp32
      // there; an explicit kBf16 still runs bf16 on such CPUs. An int8 archive's head is fp32.
      impl->precision =
          !impl->int8 && (cuda || GetCpuFeatures().amx_bf16) ? Precision::kBf16 : Precision::kFp32;
      break;
  }
  if (impl->precision == Precision::kFp32 && !cuda && !impl->int8 && options.optimize_graph) {
    GEOLOC_RETURN_IF_ERROR(impl->MaybeOptimize(loaded.module, path));
  }
  loaded.module = torch::jit::Module();  // the unfrozen copy is no longer needed

  // bf16 guard on a fixed image-like input: a model that bf16 breaks (e.g. a very sharp softmax)
  // falls back to fp32 under kAuto and is refused under an explicit kBf16.
  if (impl->precision == Precision::kBf16) {
    const ModelInfo& info = impl->info;
    const std::vector<float> probe = ProbeImageHwc(info);
    std::vector<float> fp32(info.dim), bf16(info.dim);
    GEOLOC_RETURN_IF_ERROR(impl->Forward(probe.data(), 1, Precision::kFp32, fp32.data()));
    GEOLOC_RETURN_IF_ERROR(impl->Forward(probe.data(), 1, Precision::kBf16, bf16.data()));
    double cosine = 0;
    for (int i = 0; i < info.dim; ++i) cosine += static_cast<double>(fp32[i]) * bf16[i];
    if (cosine < kMinBf16Cosine) {
      const std::string why =
          absl::StrFormat("%s: bf16 descriptors drift from fp32 (cosine %.4f < %.2f)", path, cosine,
                          kMinBf16Cosine);
      if (options.precision == Precision::kBf16) return absl::FailedPreconditionError(why);
      GEOLOC_LOG(WARNING) << why << "; running in fp32";
      impl->precision = Precision::kFp32;
    }
  }

  if (options.warmup_batch > 0) {
    std::vector<float> zeros(options.warmup_batch * PreprocessedSize(impl->info), 0.0f);
    std::vector<float> out(static_cast<size_t>(options.warmup_batch) * impl->info.dim);
    for (int pass = 0; pass < kWarmupPasses; ++pass) {
      absl::Status status =
          impl->Forward(zeros.data(), options.warmup_batch, impl->precision, out.data());
      if (!status.ok()) return Annotate(status, absl::StrCat(path, ": warm-up"));
    }
  }
  GEOLOC_LOG(INFO) << "Encoder: loaded " << path << " (" << impl->info.name << ", dim "
                   << impl->info.dim << ", input " << impl->info.input_height << "x"
                   << impl->info.input_width << ", "
                   << (impl->int8 ? absl::StrCat("int8 (", SelectQuantizedEngine(), ")")
                                  : std::string(PrecisionName(impl->precision)))
                   << (impl->graph_optimized ? ", optimized graph" : ", frozen graph") << " on "
                   << impl->device.str() << ", cpu: " << CpuFeaturesString(GetCpuFeatures()) << ")";
  return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
}

const ModelInfo& Encoder::info() const { return impl_->info; }
Precision Encoder::precision() const { return impl_->precision; }
std::string Encoder::device() const { return impl_->device.str(); }
bool Encoder::int8() const { return impl_->int8; }
std::string Encoder::precision_name() const {
  return impl_->int8 ? "int8" : std::string(PrecisionName(impl_->precision));
}
bool Encoder::graph_optimized() const { return impl_->graph_optimized; }

absl::Status Encoder::Encode(const float* images, int batch, float* out) const {
  return impl_->Forward(images, batch, impl_->precision, out);
}

absl::StatusOr<std::vector<float>> Encoder::EncodeImages(absl::Span<const cv::Mat> images) const {
  if (images.empty()) return std::vector<float>();
  const size_t per_image = PreprocessedSize(impl_->info);
  std::vector<float> batch(images.size() * per_image);
  for (size_t i = 0; i < images.size(); ++i) {
    absl::Status status = PreprocessInto(images[i], impl_->info, batch.data() + i * per_image);
    if (!status.ok()) return Annotate(status, absl::StrCat("image ", i));
  }
  std::vector<float> out(images.size() * static_cast<size_t>(impl_->info.dim));
  GEOLOC_RETURN_IF_ERROR(Encode(batch.data(), static_cast<int>(images.size()), out.data()));
  return out;
}

}  // namespace geoloc::model
