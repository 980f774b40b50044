#include "core/model/encoder.h"

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
  torch::jit::Module module;  // frozen, eval
  ModelInfo info;
  Precision precision = Precision::kFp32;
  c10::Device device = c10::Device(c10::kCPU);
  int intra_op_threads = 0;

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
  const bool cpu_bf16 = CpuSupportsBf16();
  switch (options.precision) {
    case Precision::kFp32:
      impl->precision = Precision::kFp32;
      break;
    case Precision::kBf16:
      if (!cuda && !cpu_bf16) {
        return absl::FailedPreconditionError(absl::StrCat(
            "Encoder: precision bf16 needs a CPU with avx512_bf16 or amx_bf16; this one has: ",
            CpuFeaturesString(GetCpuFeatures()), " (use precision auto or fp32)"));
      }
      impl->precision = Precision::kBf16;
      break;
    case Precision::kAuto:
      // bf16 pays off with AMX tiles. With AVX512_BF16 alone, oneDNN 2.6's bf16 convolutions
      // ran slower than fp32 on our Xeon VMs (docs/MODEL.md, "Precision"), so auto keeps fp32
      // there; an explicit kBf16 still runs bf16 on such CPUs.
      impl->precision = (cuda || GetCpuFeatures().amx_bf16) ? Precision::kBf16 : Precision::kFp32;
      break;
  }
  impl->intra_op_threads = options.intra_op_threads;
  GEOLOC_RETURN_IF_ERROR(SetIntraOpThreads(options.intra_op_threads));

  GEOLOC_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelArchive(path, impl->device));
  impl->info = std::move(loaded.info);
  try {
    // Freezing inlines the weights as constants and folds conv+bn; the unfrozen copy is dropped.
    impl->module = torch::jit::freeze(loaded.module);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat(path, ": torch::jit::freeze failed"));
  }

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
                   << impl->info.input_width << ", " << PrecisionName(impl->precision) << " on "
                   << impl->device.str() << ", cpu: " << CpuFeaturesString(GetCpuFeatures()) << ")";
  return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
}

const ModelInfo& Encoder::info() const { return impl_->info; }
Precision Encoder::precision() const { return impl_->precision; }
std::string Encoder::device() const { return impl_->device.str(); }

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
