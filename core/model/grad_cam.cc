#include "core/model/grad_cam.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/model/preprocess.h"
#include "core/model/torch_support.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "torch/csrc/autograd/autograd.h"
#include "torch/script.h"

namespace geoloc::model {

GradCamTarget GradCamTarget::Similarity(std::vector<float> descriptor) {
  return GradCamTarget(Kind::kSimilarity, std::move(descriptor), nullptr, {});
}

GradCamTarget GradCamTarget::MeanSimilarity(std::vector<float> descriptors) {
  return GradCamTarget(Kind::kMeanSimilarity, std::move(descriptors), nullptr, {});
}

GradCamTarget GradCamTarget::HeadOutput(const DescriptorHead& head, int index) {
  return GradCamTarget(Kind::kHeadOutput, {}, &head, {index});
}

GradCamTarget GradCamTarget::HeadOutputSum(const DescriptorHead& head, std::vector<int> indices) {
  return GradCamTarget(Kind::kHeadOutput, {}, &head, std::move(indices));
}

namespace {

absl::Status ValidateTarget(const GradCamTarget& target, int dim) {
  switch (target.kind()) {
    case GradCamTarget::Kind::kSimilarity:
      if (target.descriptors().size() != static_cast<size_t>(dim)) {
        return absl::InvalidArgumentError(absl::StrCat("Grad-CAM similarity target has ",
                                                       target.descriptors().size(),
                                                       " floats, the model's dimension is ", dim));
      }
      return absl::OkStatus();
    case GradCamTarget::Kind::kMeanSimilarity:
      if (target.descriptors().empty() || target.descriptors().size() % dim != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("Grad-CAM mean-similarity target has ", target.descriptors().size(),
                         " floats, expected a positive multiple of the dimension ", dim));
      }
      return absl::OkStatus();
    case GradCamTarget::Kind::kHeadOutput:
      if (target.head() == nullptr) {
        return absl::InvalidArgumentError("Grad-CAM head target without a head");
      }
      if (target.head()->input_dim() != dim) {
        return absl::InvalidArgumentError(
            absl::StrCat("Grad-CAM head takes ", target.head()->input_dim(),
                         "-d descriptors, the model's dimension is ", dim));
      }
      if (target.indices().empty()) {
        return absl::InvalidArgumentError("Grad-CAM head target without an output index");
      }
      for (int index : target.indices()) {
        if (index < 0 || index >= target.head()->num_outputs()) {
          return absl::InvalidArgumentError(absl::StrCat("Grad-CAM head output index ", index,
                                                         " outside [0, ",
                                                         target.head()->num_outputs(), ")"));
        }
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("Grad-CAM: unknown target kind");
}

// The target's scalar score of the descriptor `desc` [1, D]; differentiable w.r.t. desc.
at::Tensor TargetScore(const at::Tensor& desc, const GradCamTarget& target) {
  const int64_t dim = desc.size(1);
  switch (target.kind()) {
    case GradCamTarget::Kind::kSimilarity:
    case GradCamTarget::Kind::kMeanSimilarity: {
      const auto& d = target.descriptors();
      const int64_t n = static_cast<int64_t>(d.size()) / dim;
      // from_blob needs a mutable pointer; the tensor is only read.
      at::Tensor t = torch::from_blob(const_cast<float*>(d.data()), {n, dim},
                                      at::TensorOptions().dtype(at::kFloat));
      return desc.matmul(t.t()).mean();
    }
    case GradCamTarget::Kind::kHeadOutput: {
      at::Tensor out =
          internal::DescriptorHeadAccess::Module(*target.head()).forward({desc}).toTensor();
      const at::Tensor row = out.select(0, 0);
      if (target.indices().size() == 1) return row.select(0, target.indices().front());
      std::vector<int64_t> indices(target.indices().begin(), target.indices().end());
      return row.index_select(0, torch::tensor(indices, at::kLong)).sum();
    }
  }
  return at::Tensor();
}

}  // namespace

struct GradCam::Impl {
  torch::jit::Module module;  // eval, unfrozen, fp32, CPU, parameters without gradients
  ModelInfo info;
  int intra_op_threads = 0;
};

GradCam::GradCam(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GradCam::~GradCam() = default;

absl::StatusOr<std::unique_ptr<GradCam>> GradCam::Load(const std::string& path,
                                                       const GradCamOptions& options) {
  if (options.intra_op_threads < 0) {
    return absl::InvalidArgumentError("GradCam: intra_op_threads must be >= 0");
  }
  GEOLOC_RETURN_IF_ERROR(SetIntraOpThreads(options.intra_op_threads));
  GEOLOC_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelArchive(path, c10::Device(c10::kCPU)));
  auto impl = std::make_unique<Impl>();
  impl->module = std::move(loaded.module);
  impl->info = std::move(loaded.info);
  impl->intra_op_threads = options.intra_op_threads;
  try {
    // Gradients are wanted w.r.t. the feature map only; weights stay constant and shared.
    for (at::Tensor p : impl->module.parameters()) p.set_requires_grad(false);
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, absl::StrCat(path, ": preparing Grad-CAM"));
  }
  return std::unique_ptr<GradCam>(new GradCam(std::move(impl)));
}

const ModelInfo& GradCam::info() const { return impl_->info; }

absl::StatusOr<GradCamResult> GradCam::Compute(const float* image, const GradCamTarget& target,
                                               cv::Size output_size) const {
  const ModelInfo& info = impl_->info;
  if (image == nullptr) return absl::InvalidArgumentError("Grad-CAM: image is null");
  GEOLOC_RETURN_IF_ERROR(ValidateTarget(target, info.dim));
  if (output_size.empty()) output_size = cv::Size(info.input_width, info.input_height);
  if (output_size.width <= 0 || output_size.height <= 0 || output_size.width > kMaxInputSide * 4 ||
      output_size.height > kMaxInputSide * 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("Grad-CAM: invalid output size ", output_size.width, "x", output_size.height));
  }
  GradCamResult result;
  try {
    ApplyIntraOpThreads(impl_->intra_op_threads);
    torch::jit::Module& module = impl_->module;
    const at::Tensor x = WrapHwcBatch(image, 1, info);
    at::Tensor fmap;
    {
      torch::NoGradGuard no_grad;
      fmap = module.run_method("features", x).toTensor();
    }
    if (fmap.dim() != 4 || fmap.size(0) != 1) {
      return absl::InternalError("Grad-CAM: features returned a non-[1, C, h, w] tensor");
    }
    fmap = fmap.detach().to(at::kFloat).contiguous().requires_grad_(true);
    at::Tensor score;
    std::vector<at::Tensor> grads;
    {
      torch::AutoGradMode with_grad(true);
      const at::Tensor desc = module.run_method("pool", fmap).toTensor();
      score = TargetScore(desc, target);
      // autograd::grad (not backward) writes no .grad anywhere: safe for concurrent calls.
      grads = torch::autograd::grad({score}, {fmap}, /*grad_outputs=*/{},
                                    /*retain_graph=*/false, /*create_graph=*/false,
                                    /*allow_unused=*/true);
    }
    const at::Tensor activations = fmap.detach();
    // An undefined gradient means the score ignores the image: every weight is 0.
    const at::Tensor grad =
        grads.empty() || !grads[0].defined() ? at::zeros_like(activations) : grads[0];
    const at::Tensor weights = grad.mean({2, 3}, /*keepdim=*/true);  // [1, C, 1, 1]
    const at::Tensor cam = (weights * activations).sum(1).squeeze(0).relu().contiguous();
    result.score = score.item<double>();
    result.coarse_height = static_cast<int>(cam.size(0));
    result.coarse_width = static_cast<int>(cam.size(1));
    result.coarse.assign(cam.data_ptr<float>(), cam.data_ptr<float>() + cam.numel());
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, "Grad-CAM failed");
  }
  try {
    const cv::Mat coarse(result.coarse_height, result.coarse_width, CV_32FC1, result.coarse.data());
    // INTER_LINEAR samples at pixel centres, like torch's bilinear with align_corners=false.
    cv::resize(coarse, result.map, output_size, 0, 0, cv::INTER_LINEAR);
    double max_value = 0;
    cv::minMaxLoc(result.map, nullptr, &max_value);
    if (max_value > std::numeric_limits<float>::min()) {
      // Divide in float so that the maximum becomes exactly 1.
      const float peak = static_cast<float>(max_value);
      for (int y = 0; y < result.map.rows; ++y) {
        float* row = result.map.ptr<float>(y);
        for (int x = 0; x < result.map.cols; ++x) row[x] = std::clamp(row[x] / peak, 0.0f, 1.0f);
      }
    } else {
      result.map.setTo(0.0);
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("Grad-CAM upsampling failed: ", e.what()));
  }
  return result;
}

absl::StatusOr<GradCamResult> GradCam::ComputeForImage(const cv::Mat& bgr,
                                                       const GradCamTarget& target) const {
  std::vector<float> input(PreprocessedSize(impl_->info));
  GEOLOC_RETURN_IF_ERROR(PreprocessInto(bgr, impl_->info, input.data()));
  const cv::Rect region = CropRegion(bgr.size(), impl_->info);
  GEOLOC_ASSIGN_OR_RETURN(GradCamResult result, Compute(input.data(), target, region.size()));
  try {
    cv::Mat full = cv::Mat::zeros(bgr.size(), CV_32FC1);
    result.map.copyTo(full(region));
    result.map = full;
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("Grad-CAM: placing the map failed: ", e.what()));
  }
  return result;
}

absl::StatusOr<std::string> RenderOverlayPng(const cv::Mat& bgr, const cv::Mat& map, double alpha) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    return absl::InvalidArgumentError("RenderOverlayPng: expected a non-empty CV_8UC3 image");
  }
  if (map.empty() || map.type() != CV_32FC1) {
    return absl::InvalidArgumentError("RenderOverlayPng: expected a non-empty CV_32FC1 map");
  }
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RenderOverlayPng: alpha ", alpha, " outside [0, 1]"));
  }
  try {
    cv::Mat resized;
    if (map.size() == bgr.size()) {
      resized = map;
    } else {
      cv::resize(map, resized, bgr.size(), 0, 0, cv::INTER_LINEAR);
    }
    cv::Mat levels;
    // convertTo saturates: values outside [0, 1] clamp to 0 / 255.
    resized.convertTo(levels, CV_8UC1, 255.0);
    cv::Mat heat;
    cv::applyColorMap(levels, heat, cv::COLORMAP_JET);
    cv::Mat blended;
    cv::addWeighted(bgr, 1.0 - alpha, heat, alpha, 0.0, blended);
    std::vector<uchar> png;
    if (!cv::imencode(".png", blended, png)) {
      return absl::InternalError("RenderOverlayPng: PNG encoding failed");
    }
    return std::string(png.begin(), png.end());
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("RenderOverlayPng: ", e.what()));
  }
}

}  // namespace geoloc::model
