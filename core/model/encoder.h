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
// inference, selects precision and device, and runs a warm-up forward pass.
//
// Precision (case table):
//   kFp32 -> fp32 everywhere.
//   kBf16 -> bf16 autocast on CPU (fails at Load if the CPU lacks avx512_bf16/AMX), fp16/bf16 on CUDA.
//   kAuto -> kBf16 when the CPU supports it (or on CUDA), else kFp32.
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
};

class Encoder {
 public:
  static absl::StatusOr<std::unique_ptr<Encoder>> Load(const std::string& path,
                                                       const EncoderOptions& options);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  const ModelInfo& info() const;
  Precision precision() const;  // resolved: never kAuto
  std::string device() const;   // "cpu" or "cuda:0"

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
