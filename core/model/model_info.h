// The metadata every geoloc model archive carries in its extra file `geoloc.json` (docs/MODEL.md).
//
//   GEOLOC_ASSIGN_OR_RETURN(ModelInfo info, ParseModelInfoJson(json_text));
//   if (info.metric == Metric::kInnerProduct) ...
//
// A plain value type: copy it freely, share it across threads.
#ifndef GEOLOC_CORE_MODEL_MODEL_INFO_H_
#define GEOLOC_CORE_MODEL_MODEL_INFO_H_

#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::model {

// How descriptors compare: inner product of L2-normalised vectors (cosine) or L2 distance.
enum class Metric { kInnerProduct, kL2 };

// How an image of any size becomes the model's input_height x input_width.
//   kResizeCenterCrop: scale so the image covers the input, then crop the centre (default).
//   kResize:           scale each axis independently (aspect ratio not kept).
enum class ResizePolicy { kResizeCenterCrop, kResize };

struct ModelInfo {
  std::string name;      // e.g. "resnet18-gem512"
  std::string backbone;  // e.g. "resnet18"
  std::string head;      // e.g. "cosplace", "gem", "netvlad"
  int dim = 0;           // descriptor dimension D
  Metric metric = Metric::kInnerProduct;
  int input_height = 224;
  int input_width = 224;
  ResizePolicy resize = ResizePolicy::kResizeCenterCrop;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // RGB, applied after scaling to [0, 1]
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
  std::string fingerprint;  // changes whenever the weights change (SHA-256 of the state dict)
  // int8 archives (export_model.py --quantize int8): the fingerprint of the fp32 original they
  // were quantized from; "" for any other archive. Only used to explain a bundle mismatch.
  std::string fp32_fingerprint;
};

// Field-by-field equality (floats compared exactly): the same archive metadata.
bool operator==(const ModelInfo& a, const ModelInfo& b);
inline bool operator!=(const ModelInfo& a, const ModelInfo& b) { return !(a == b); }

// Bounds ParseModelInfoJson enforces; anything outside them is a broken or hostile archive.
inline constexpr int kMaxInputSide = 4096;
inline constexpr int kMaxDescriptorDim = 1 << 20;

// Parses geoloc.json (format in docs/IMAGES.md); every field above is validated (positive sizes,
// known metric and policy, non-empty fingerprint, std > 0) and an invalid one gives an
// INVALID_ARGUMENT naming it. Unknown fields are ignored.
//   required: format_version (1), name, dim, metric, input_size [H, W], mean, std, fingerprint
//   optional: backbone, head (default ""), resize (default "resize_center_crop"),
//             fp32_fingerprint (default "")
absl::StatusOr<ModelInfo> ParseModelInfoJson(absl::string_view json);
// Writes every field through protobuf's JSON printer (google.protobuf.Struct), so strings are
// escaped properly and ParseModelInfoJson(*ModelInfoToJson(info)) == info. Floats print as their
// shortest exact decimal (0.485, not 0.48500001430511475). INTERNAL when a string is not UTF-8.
absl::StatusOr<std::string> ModelInfoToJson(const ModelInfo& info);

absl::string_view MetricName(Metric metric);  // "ip" or "l2"
absl::StatusOr<Metric> ParseMetric(absl::string_view name);
absl::string_view ResizePolicyName(ResizePolicy policy);  // "resize_center_crop" or "resize"
absl::StatusOr<ResizePolicy> ParseResizePolicy(absl::string_view name);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_MODEL_INFO_H_
