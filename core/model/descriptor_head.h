// A model on top of descriptors: a TorchScript module whose forward(desc [B, D]) returns scores or
// probabilities [B, C] (e.g. the hierarchical cell classifier, docs/MODEL.md "Descriptor heads").
//
//   GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<DescriptorHead> head, DescriptorHead::Load(path, 512));
//   std::vector<float> probs(batch * head->num_outputs());
//   GEOLOC_RETURN_IF_ERROR(head->Run(descriptors.data(), batch, probs.data()));
//
// Lifetime: a DescriptorHead owns its module; outputs go to caller-owned memory. A GradCam target
// that refers to a head must not outlive it.
// Threading: Run() is safe to call concurrently from many threads (inference only; the module's
// parameters never require gradients, so Grad-CAM through the head mutates nothing either).
//
// Load() checks the module with one forward pass on a zero descriptor [1, input_dim]:
//   forward missing / throws        -> INVALID_ARGUMENT with LibTorch's message
//   output not a float [1, C] tensor -> INVALID_ARGUMENT with the shape
// The module runs in fp32 on the CPU, in eval mode and unfrozen (heads are small; keeping the graph
// plain lets Grad-CAM differentiate through it).
#ifndef GEOLOC_CORE_MODEL_DESCRIPTOR_HEAD_H_
#define GEOLOC_CORE_MODEL_DESCRIPTOR_HEAD_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace geoloc::model {

namespace internal {
struct DescriptorHeadAccess;
}  // namespace internal

class DescriptorHead {
 public:
  // `input_dim` is the descriptor dimension D the head expects (the encoder's info().dim).
  static absl::StatusOr<std::unique_ptr<DescriptorHead>> Load(const std::string& path,
                                                              int input_dim);
  ~DescriptorHead();
  DescriptorHead(const DescriptorHead&) = delete;
  DescriptorHead& operator=(const DescriptorHead&) = delete;

  int input_dim() const;
  int num_outputs() const;  // C
  // The archive's extra file `geoloc_head.json`, verbatim ("" when absent): what the outputs mean
  // (e.g. cell tokens), written by whoever produced the head.
  const std::string& metadata() const;

  // desc: batch * input_dim floats; out: batch * num_outputs floats, row-major.
  absl::Status Run(const float* desc, int batch, float* out) const;

 private:
  struct Impl;
  friend struct internal::DescriptorHeadAccess;
  explicit DescriptorHead(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_DESCRIPTOR_HEAD_H_
