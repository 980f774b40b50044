// Grad-CAM saliency: which parts of a photo drive a score computed from its descriptor (seed 001;
// Selvaraju et al. 2017), for the Explain call.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<GradCam> cam, GradCam::Load("model.pt", {}));
//   GEOLOC_ASSIGN_OR_RETURN(GradCamResult r,
//                           cam->ComputeForImage(bgr, GradCamTarget::Similarity(neighbour_desc)));
//   GEOLOC_ASSIGN_OR_RETURN(std::string png, RenderOverlayPng(bgr, r.map));
//
// How a map is made: A = features(x) (the last conv map [C, h, w], computed without gradients),
// d = pool(A) with gradients from A on, s = the target score of d, g = ds/dA; channel weights
// w_c = mean over (h, w) of g_c; coarse = ReLU(sum_c w_c * A_c); map = coarse upsampled
// bilinearly to the requested size and divided by its maximum.
//
// Targets (score s of the query's descriptor d; targets hold copies of the descriptors):
//   Similarity(t)          s = <d, t>                  why the query looks like neighbour t
//   MeanSimilarity(T)      s = mean_j <d, t_j>         why it looks like the neighbours of a peak
//   HeadOutput(head, k)    s = head.forward(d)[0, k]   e.g. a cell classifier's probability
//   HeadOutputSum(head, K) s = sum_{k in K} head.forward(d)[0, k]   e.g. an ancestor cell's
//                                                      probability (the sum over its leaves)
//
// Map normalisation (case table):
//   max(coarse) > 0  -> map = upsampled / max, in [0, 1], the strongest evidence is 1.
//   max(coarse) == 0 -> map is all zeros (nothing in the image raises the score; not rescaled).
//
// Lifetime: a GradCam owns its own unfrozen fp32 copy of the model (separate from the Encoder's
// frozen one). A HeadOutput target points at its DescriptorHead, which must outlive the call.
// Threading: Compute() and ComputeForImage() may run concurrently from many threads: each call
// builds its own autograd graph, and no parameter requires gradients, so nothing shared is
// written. CPU and fp32 only (saliency is not on the latency path).
#ifndef GEOLOC_CORE_MODEL_GRAD_CAM_H_
#define GEOLOC_CORE_MODEL_GRAD_CAM_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/descriptor_head.h"
#include "core/model/model_info.h"
#include "opencv2/core.hpp"

namespace geoloc::model {

class GradCamTarget {
 public:
  enum class Kind { kSimilarity, kMeanSimilarity, kHeadOutput };

  // `descriptor`: one descriptor of the model's dimension (e.g. a retrieved neighbour's).
  static GradCamTarget Similarity(std::vector<float> descriptor);
  // `descriptors`: n >= 1 descriptors, row-major (n * dim floats).
  static GradCamTarget MeanSimilarity(std::vector<float> descriptors);
  // Output `index` of `head` applied to the query's descriptor.
  static GradCamTarget HeadOutput(const DescriptorHead& head, int index);
  // The sum of outputs `indices` (n >= 1, each in [0, num_outputs)) of `head`.
  static GradCamTarget HeadOutputSum(const DescriptorHead& head, std::vector<int> indices);

  Kind kind() const { return kind_; }
  const std::vector<float>& descriptors() const { return descriptors_; }
  const DescriptorHead* head() const { return head_; }
  const std::vector<int>& indices() const { return indices_; }  // kHeadOutput: summed outputs

 private:
  GradCamTarget(Kind kind, std::vector<float> descriptors, const DescriptorHead* head,
                std::vector<int> indices)
      : kind_(kind),
        descriptors_(std::move(descriptors)),
        head_(head),
        indices_(std::move(indices)) {}
  Kind kind_;
  std::vector<float> descriptors_;
  const DescriptorHead* head_;
  std::vector<int> indices_;
};

struct GradCamResult {
  int coarse_height = 0;      // h of the feature map
  int coarse_width = 0;       // w of the feature map
  std::vector<float> coarse;  // ReLU(sum_c w_c A_c), row-major h * w, not normalised
  cv::Mat map;                // CV_32FC1 in [0, 1] (see the case table above)
  double score = 0;           // the target score s
};

struct GradCamOptions {
  int intra_op_threads = 0;  // 0: leave LibTorch's default (process-wide, as for the Encoder)
};

class GradCam {
 public:
  // Loads and checks the archive like Encoder::Load (docs/MODEL.md), keeping it unfrozen.
  static absl::StatusOr<std::unique_ptr<GradCam>> Load(const std::string& path,
                                                       const GradCamOptions& options);
  ~GradCam();
  GradCam(const GradCam&) = delete;
  GradCam& operator=(const GradCam&) = delete;

  const ModelInfo& info() const;

  // image: one preprocessed image, PreprocessedSize(info()) floats (HWC, preprocess.h).
  // The map is upsampled to `output_size`; an empty size means the model input size.
  // INVALID_ARGUMENT for a target whose descriptors do not have info().dim floats (per row), a
  // head whose input_dim differs, or no or an out-of-range output index (outside [0, num_outputs)).
  absl::StatusOr<GradCamResult> Compute(const float* image, const GradCamTarget& target,
                                        cv::Size output_size = cv::Size()) const;

  // Preprocesses a BGR photo (CV_8UC3) and returns a map of the photo's size: the part the model
  // saw (CropRegion in preprocess.h) gets the upsampled map, the cropped-away margins are 0.
  absl::StatusOr<GradCamResult> ComputeForImage(const cv::Mat& bgr,
                                                const GradCamTarget& target) const;

 private:
  struct Impl;
  explicit GradCam(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The map coloured with COLORMAP_JET and blended over the photo: out = (1 - alpha) * bgr +
// alpha * jet(map), encoded as PNG. `map` (CV_32FC1, values clamped to [0, 1]) is resized to the
// photo with bilinear interpolation. INVALID_ARGUMENT for an empty or non-CV_8UC3 photo, an empty
// or non-CV_32FC1 map, or alpha outside [0, 1]. Stateless, safe from any thread.
absl::StatusOr<std::string> RenderOverlayPng(const cv::Mat& bgr, const cv::Mat& map,
                                             double alpha = 0.4);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_GRAD_CAM_H_
