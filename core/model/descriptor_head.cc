#include "core/model/descriptor_head.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/common/status_macros.h"
#include "core/model/torch_support.h"
#include "torch/script.h"

namespace geoloc::model {

struct DescriptorHead::Impl {
  torch::jit::Module module;  // eval, unfrozen, parameters without gradients
  int input_dim = 0;
  int num_outputs = 0;
  std::string metadata;
};

torch::jit::Module& internal::DescriptorHeadAccess::Module(const DescriptorHead& head) {
  return head.impl_->module;
}

DescriptorHead::DescriptorHead(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DescriptorHead::~DescriptorHead() = default;

absl::StatusOr<std::unique_ptr<DescriptorHead>> DescriptorHead::Load(const std::string& path,
                                                                     int input_dim) {
  if (input_dim <= 0 || input_dim > kMaxDescriptorDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("DescriptorHead: invalid input_dim ", input_dim));
  }
  GEOLOC_RETURN_IF_ERROR(CheckReadableFile(path));
  auto impl = std::make_unique<Impl>();
  impl->input_dim = input_dim;
  torch::jit::ExtraFilesMap extra_files{{kHeadInfoFile, ""}};
  try {
    impl->module = torch::jit::load(path, c10::Device(c10::kCPU), extra_files);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat(path, ": not a TorchScript archive"),
                              absl::StatusCode::kInvalidArgument);
  }
  impl->metadata = extra_files[kHeadInfoFile];
  try {
    impl->module.eval();
    // Inference only: without gradients on the weights, concurrent Grad-CAM passes through the
    // head build private graphs and accumulate nothing in shared parameters.
    for (at::Tensor p : impl->module.parameters()) p.set_requires_grad(false);
    if (!impl->module.find_method("forward").has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": descriptor head has no forward"));
    }
    torch::NoGradGuard no_grad;
    c10::IValue out = impl->module.forward({at::zeros({1, input_dim}, at::kFloat)});
    if (!out.isTensor() || out.toTensor().dim() != 2 || out.toTensor().size(0) != 1 ||
        out.toTensor().size(1) < 1 || !out.toTensor().is_floating_point()) {
      const std::string shape =
          out.isTensor() ? absl::StrCat("[", absl::StrJoin(out.toTensor().sizes(), ", "), "]")
                         : out.tagKind();
      return absl::InvalidArgumentError(absl::StrCat(path, ": descriptor head forward([1, ",
                                                     input_dim, "]) gives ", shape,
                                                     ", expected a float [1, C] tensor"));
    }
    impl->num_outputs = static_cast<int>(out.toTensor().size(1));
  } catch (const std::exception& e) {
    return TorchErrorToStatus(
        e, absl::StrCat(path, ": descriptor head forward([1, ", input_dim, "]) failed"),
        absl::StatusCode::kInvalidArgument);
  }
  return std::unique_ptr<DescriptorHead>(new DescriptorHead(std::move(impl)));
}

int DescriptorHead::input_dim() const { return impl_->input_dim; }
int DescriptorHead::num_outputs() const { return impl_->num_outputs; }
const std::string& DescriptorHead::metadata() const { return impl_->metadata; }

absl::Status DescriptorHead::Run(const float* desc, int batch, float* out) const {
  if (desc == nullptr || out == nullptr) {
    return absl::InvalidArgumentError("DescriptorHead::Run: desc and out must not be null");
  }
  if (batch <= 0)
    return absl::InvalidArgumentError(absl::StrCat("DescriptorHead::Run: batch ", batch));
  try {
    c10::InferenceMode inference_mode;
    // from_blob needs a mutable pointer; the head only reads its input.
    at::Tensor x = torch::from_blob(const_cast<float*>(desc), {batch, impl_->input_dim},
                                    at::TensorOptions().dtype(at::kFloat));
    at::Tensor y = impl_->module.forward({x}).toTensor().to(at::kFloat).contiguous();
    if (y.dim() != 2 || y.size(0) != batch || y.size(1) != impl_->num_outputs) {
      return absl::InternalError(absl::StrCat("DescriptorHead::Run: output shape [",
                                              absl::StrJoin(y.sizes(), ", "), "], expected [",
                                              batch, ", ", impl_->num_outputs, "]"));
    }
    std::memcpy(out, y.data_ptr<float>(), sizeof(float) * batch * impl_->num_outputs);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "DescriptorHead::Run");
  }
  return absl::OkStatus();
}

}  // namespace geoloc::model
