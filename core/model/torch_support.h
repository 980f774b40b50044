// INTERNAL to geoloc_model: LibTorch helpers shared by encoder.cc, grad_cam.cc and
// descriptor_head.cc. This header includes LibTorch; never include it from a public header (the
// public ones use pimpl so that users of geoloc_model compile without LibTorch).
//
//   GEOLOC_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelArchive(path, torch::kCPU));
//   at::Tensor x = WrapHwcBatch(images, batch, loaded.info);  // no copy
//
// Stateless functions, safe from any thread.
#ifndef GEOLOC_CORE_MODEL_TORCH_SUPPORT_H_
#define GEOLOC_CORE_MODEL_TORCH_SUPPORT_H_

#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/model/descriptor_head.h"
#include "core/model/model_info.h"
#include "torch/script.h"

namespace geoloc::model {

// Name of the extra file inside a model archive that carries ModelInfo (docs/MODEL.md).
inline constexpr char kModelInfoFile[] = "geoloc.json";
// Optional extra file of a DescriptorHead archive, passed through as DescriptorHead::metadata().
inline constexpr char kHeadInfoFile[] = "geoloc_head.json";

// A model archive that passed the contract checks: eval mode, unfrozen, fp32, on `device`.
struct LoadedModel {
  torch::jit::Module module;
  ModelInfo info;
};

// Loads a TorchScript archive and validates the contract of docs/MODEL.md:
//   case                                   -> status
//   file missing / unreadable              -> NOT_FOUND / PERMISSION_DENIED (path named)
//   not a TorchScript archive              -> INVALID_ARGUMENT "not a TorchScript archive"
//   no geoloc.json, or an invalid one      -> INVALID_ARGUMENT naming the file or field
//   no features / pool / forward method    -> INVALID_ARGUMENT naming the method
//   features not [1, C, h, w]              -> INVALID_ARGUMENT with the shape
//   forward not [1, dim], not unit norm,   -> INVALID_ARGUMENT with the shape / norm / difference
//   or forward != pool(features)
// The checks run one forward pass on a fixed pattern at the model's input size.
absl::StatusOr<LoadedModel> LoadModelArchive(const std::string& path, const c10::Device& device);

// A deterministic image-like input (smooth per-channel waves in about [-2, 2], HWC, one image at
// the model's input size) for checks that must not depend on a random generator's state.
std::vector<float> ProbeImageHwc(const ModelInfo& info);

// A [batch, 3, H, W] float tensor viewing caller-owned HWC images with channels-last strides (no
// copy). The tensor must not outlive `images`; the model never writes its input.
at::Tensor WrapHwcBatch(const float* images, int batch, const ModelInfo& info);

// LibTorch's intra-op thread count is process-wide, but under OpenMP each OS thread picks the
// value up lazily, once. SetIntraOpThreads sets it (0 leaves the default); ApplyIntraOpThreads
// re-applies it on a forwarding thread whose own count differs, never above the thread's
// OpenMpThreadCap (openmp_threads.h). Both are no-ops for 0.
absl::Status SetIntraOpThreads(int threads);
void ApplyIntraOpThreads(int threads);

// The quantized engine int8 archives run on, chosen once per process before the first archive is
// loaded (quantized weights are packed for the engine at load time): the first of X86, FBGEMM,
// ONEDNN, QNNPACK that this LibTorch build supports (Debian's 1.13 has ONEDNN and QNNPACK). The
// choice is process-wide, as LibTorch's engine setting is. Returns the engine's name ("onednn").
std::string SelectQuantizedEngine();

// True when `graph` (a frozen, inlined forward) runs int8 kernels: a quantized:: op or a
// quantize_per_tensor node, as FX-quantized backbones (export_model.py --quantize int8) have.
bool GraphIsQuantized(const torch::jit::Graph& graph);

// torch::jit::optimize_for_inference rewrites a frozen graph for oneDNN (blocked layouts,
// prepacked weights). An internal assert in its rewrite aborts the process (it cannot be caught),
// so it is only applied to graphs made of ops that the tests run through it (every exported
// backbone and head, and a hand-written model). Returns "" when every op of `graph` (a frozen,
// inlined forward) is on that list, else the first op that is not (e.g. "aten::lstm").
std::string FirstOpNotKnownToOptimize(const torch::jit::Graph& graph);

// Turns an exception from LibTorch (c10::Error without its C++ backtrace) into a status.
absl::Status TorchErrorToStatus(const std::exception& e, absl::string_view context,
                                absl::StatusCode code = absl::StatusCode::kInternal);

// OK when `path` names a readable regular file; else NOT_FOUND, PERMISSION_DENIED or
// INVALID_ARGUMENT (a directory, a device), with the path in the message.
absl::Status CheckReadableFile(const std::string& path);

namespace internal {
// Grad-CAM's way into a DescriptorHead (a friend of it): the head's module, through which
// gradients of a head target flow. Defined in descriptor_head.cc.
struct DescriptorHeadAccess {
  static torch::jit::Module& Module(const DescriptorHead& head);
};
}  // namespace internal

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_TORCH_SUPPORT_H_
