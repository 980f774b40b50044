// The CNN encoder: a TorchScript model archive (docs/MODEL.md) turned into descriptors.
//
//   EncoderOptions opts;  opts.precision = Precision::kAuto;  opts.intra_op_threads = 2;
//   GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<Encoder> enc, Encoder::Load("model.pt", opts));
//   std::vector<float> desc(batch * enc->info().dim);
//   GEOLOC_RETURN_IF_ERROR(enc->Encode(images_hwc.data(), batch, desc.data()));
//
// Lifetime: an Encoder owns its module; descriptors are written into caller-owned memory.
// Threading: Encode() is safe to call concurrently from many threads (each call is one forward
// pass; callers that want shared batches use the server's batcher). Load() freezes the module for
// inference (and, for fp32 on the CPU, optimizes the frozen graph when that is safe), selects
// precision and device, and runs a warm-up forward pass.
//
// Precision (case table; docs/MODEL.md, "Precision"):
//   archive  option  -> runs
//   float    kFp32   -> fp32 (optimize_for_inference'd on the CPU when safe, see optimize_graph)
//   float    kBf16   -> bf16 autocast on CPU (fails at Load if the CPU lacks avx512_bf16/AMX),
//                       fp16 autocast on CUDA
//   float    kAuto   -> kBf16 on CPUs with AMX-BF16 (or on CUDA), else kFp32
//   int8     kFp32   -> int8 backbone, fp32 head; precision() kFp32, int8() true
//   int8     kAuto   -> the same
//   int8     kBf16   -> FAILED_PRECONDITION (the int8 archive's float head runs in fp32)
// "int8" archives have a statically quantized backbone (export_model.py --quantize int8); they
// are recognised by the quantized ops in their graph, and precision_name() reports "int8".
// Device: CUDA when LibTorch was built with CUDA and a device is present and allowed, else CPU.
#ifndef GEOLOC_CORE_MODEL_ENCODER_H_
#define GEOLOC_CORE_MODEL_ENCODER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/model/model_info.h"
#include "opencv2/core.hpp"

namespace geoloc::model {

enum class Precision { kAuto, kFp32, kBf16 };
absl::string_view PrecisionName(Precision precision);  // "auto", "fp32", "bf16"
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);
// True when this CPU has avx512_bf16 or AMX-BF16 (read from cpuid).
bool CpuSupportsBf16();

struct EncoderOptions {
  Precision precision = Precision::kAuto;
  int intra_op_threads = 0;  // 0: leave LibTorch's default
  bool allow_cuda = true;    // use CUDA when the build and the machine have it
  int warmup_batch = 1;      // 0 skips the warm-up forward pass
  // fp32 on the CPU: rewrite the frozen graph with torch::jit::optimize_for_inference (oneDNN
  // layouts, prepacked weights) when every op in it is one the tests run through that rewrite and
  // its descriptors match the frozen graph's within 1e-4 on a probe batch; otherwise, or when
  // false, the frozen graph runs as it is. See graph_optimized().
  bool optimize_graph = true;
};

class Encoder {
 public:
  static absl::StatusOr<std::unique_ptr<Encoder>> Load(const std::string& path,
                                                       const EncoderOptions& options);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  const ModelInfo& info() const;
  Precision precision() const;  // resolved: never kAuto; for an int8 archive, its float part's
  std::string device() const;   // "cpu" or "cuda:0"
  // The archive's backbone runs int8 kernels (a statically quantized archive).
  bool int8() const;
  // What runs, for logs and metrics: "int8" for an int8 archive, else PrecisionName(precision()).
  std::string precision_name() const;
  // Load applied optimize_for_inference (EncoderOptions::optimize_graph).
  bool graph_optimized() const;

  // images: batch * PreprocessedSize(info()) floats (HWC per image, see preprocess.h).
  // out: batch * info().dim floats, L2-normalised descriptors.
  absl::Status Encode(const float* images, int batch, float* out) const;
  // Convenience: preprocess decoded BGR images and encode them as one batch.
  absl::StatusOr<std::vector<float>> EncodeImages(absl::Span<const cv::Mat> images) const;

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_ENCODER_H_
