#include "core/geo/neighbor_weights.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc {
namespace geo {
namespace {

absl::Status ValidateExponent(double m) {
  if (!(m >= 0.0 && m <= kMaxWeightExponent)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight exponent m = ", m, " is not in [0, ", kMaxWeightExponent, "]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateScores(absl::Span<const Neighbor> neighbors, ScoreKind kind) {
  for (size_t i = 0; i < neighbors.size(); ++i) {
    const absl::Status s = ValidateScore(neighbors[i].score, kind);
    if (!s.ok()) return Annotate(s, absl::StrCat("neighbor ", i));  // message built only on error
  }
  return absl::OkStatus();
}

// The base the exponent applies to: (s + 1) for a similarity, 1 / d for a distance.
double WeightBase(double score, ScoreKind kind) {
  if (kind == ScoreKind::kSimilarity) return std::clamp(score, -1.0, 1.0) + 1.0;
  return 1.0 / std::max(score, kMinWeightDistance);
}

}  // namespace

absl::Status ValidateScore(double score, ScoreKind kind) {
  if (!std::isfinite(score)) {
    return absl::InvalidArgumentError(absl::StrCat("score ", score, " is not a finite number"));
  }
  if (kind == ScoreKind::kSimilarity) {
    if (score < -1.0 - kSimilaritySlack || score > 1.0 + kSimilaritySlack) {
      return absl::InvalidArgumentError(absl::StrCat(
          "similarity ", score,
          " is not a cosine in [-1, 1]; are the descriptors L2-normalised, or is the score a "
          "distance (ScoreKind::kDistance)?"));
    }
  } else if (score < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("distance ", score, " is negative; an L2 distance is >= 0"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNeighbors(absl::Span<const Neighbor> neighbors, ScoreKind kind) {
  if (neighbors.empty()) {
    return absl::InvalidArgumentError("no neighbours: a location needs at least one (k >= 1)");
  }
  for (size_t i = 0; i < neighbors.size(); ++i) {
    const absl::Status s = ValidateLatLon(neighbors[i].pos);
    if (!s.ok()) return Annotate(s, absl::StrCat("neighbor ", i));
  }
  return ValidateScores(neighbors, kind);
}

absl::StatusOr<std::vector<double>> NeighborWeights(absl::Span<const Neighbor> neighbors,
                                                    ScoreKind kind, double m) {
  GEOLOC_RETURN_IF_ERROR(ValidateExponent(m));
  GEOLOC_RETURN_IF_ERROR(ValidateScores(neighbors, kind));
  std::vector<double> w(neighbors.size());
  for (size_t i = 0; i < neighbors.size(); ++i) {
    w[i] = std::pow(WeightBase(neighbors[i].score, kind), m);  // pow(x, 0) == 1, even for x = 0
  }
  return w;
}

absl::StatusOr<std::vector<double>> NormalizedNeighborWeights(absl::Span<const Neighbor> neighbors,
                                                              ScoreKind kind, double m) {
  GEOLOC_RETURN_IF_ERROR(ValidateExponent(m));
  GEOLOC_RETURN_IF_ERROR(ValidateScores(neighbors, kind));
  if (neighbors.empty()) {
    return absl::InvalidArgumentError("no neighbours: cannot normalise an empty set of weights");
  }
  // log w = m log(base); subtracting the largest before exp keeps the biggest weight at 1, so
  // nothing overflows and only weights truly below 1e-308 of the largest underflow.
  std::vector<double> w(neighbors.size());
  double max_log = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < neighbors.size(); ++i) {
    const double base = WeightBase(neighbors[i].score, kind);
    w[i] = m == 0.0 ? 0.0 : m * std::log(base);  // base 0 gives -inf: weight 0
    max_log = std::max(max_log, w[i]);
  }
  if (max_log == -std::numeric_limits<double>::infinity()) {
    return absl::InvalidArgumentError(
        "every neighbour weight is 0 (all similarities are -1 with m > 0): nothing to estimate "
        "from");
  }
  double sum = 0;
  for (double& x : w) {
    x = std::exp(x - max_log);
    sum += x;
  }
  for (double& x : w) x /= sum;
  return w;
}

}  // namespace geo
}  // namespace geoloc
