// Retrieved neighbours and the weights the estimators give them (seed 000, eqs. 4.5 and 4.6).
//
//   GEOLOC_ASSIGN_OR_RETURN(auto w, geo::NormalizedNeighborWeights(neighbors, kind, /*m=*/5));
//   double best_share = *std::max_element(w.begin(), w.end());  // the weights sum to 1
//
// Weight of a neighbour with score s, for exponent m >= 0:
//
//   score kind     score meaning                         weight
//   kSimilarity    cosine / inner product of L2-normed    (clamp(s, -1, 1) + 1)^m
//                  descriptors, in [-1, 1]
//   kDistance      L2 distance between descriptors       (1 / max(s, kMinWeightDistance))^m
//                  (not squared: take the square root
//                  of Faiss IndexFlatL2's output)
//
// Edge cases (m = 0 gives every neighbour weight 1, even at similarity -1, since x^0 = 1):
//
//   input                                          result
//   NaN or infinite score                          InvalidArgument (with the index)
//   similarity outside [-1.001, 1.001]             InvalidArgument: not a cosine (are the
//                                                  descriptors L2-normalised?)
//   similarity in (1, 1.001] or [-1.001, -1)       clamped to 1 / -1 (float rounding)
//   distance < 0                                   InvalidArgument
//   distance 0 (a duplicate of the query)          treated as kMinWeightDistance = 1e-6, so a
//                                                  duplicate dominates but the weight is finite
//   m < 0, NaN or > kMaxWeightExponent (50)        InvalidArgument
//   every normalised weight 0 (every similarity    InvalidArgument from NormalizedNeighborWeights
//   is -1 with m > 0)
//
// The exponent is capped at 50 so the raw weights are finite for every valid score:
// (1 / 1e-6)^50 = 1e300 < DBL_MAX. NormalizedNeighborWeights computes in log space, so its result
// never underflows to all zeros even when the raw weights would (e.g. distances of 1e7 at m = 50).
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_GEO_NEIGHBOR_WEIGHTS_H_
#define GEOLOC_CORE_GEO_NEIGHBOR_WEIGHTS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"

namespace geoloc {
namespace geo {

// What a neighbour's score means: a similarity (higher is closer) or a distance (lower is closer).
enum class ScoreKind { kSimilarity, kDistance };

// One retrieved database image: where it was taken and how close its descriptor is to the query's.
struct Neighbor {
  LatLon pos;
  double score = 0;
};

inline constexpr double kMinWeightDistance = 1e-6;
inline constexpr double kMaxWeightExponent = 50.0;
// How far a similarity may stray outside [-1, 1] (float rounding of a dot product) and still be
// clamped rather than rejected.
inline constexpr double kSimilaritySlack = 1e-3;

// Checks one score against its kind (see the table above).
absl::Status ValidateScore(double score, ScoreKind kind);

// Checks everything an estimator needs: at least one neighbour, valid coordinates, valid scores.
// The message names the first bad neighbour's index.
absl::Status ValidateNeighbors(absl::Span<const Neighbor> neighbors, ScoreKind kind);

// The raw weights of the table above, one per neighbour (an empty span gives an empty vector).
// Checks the scores and m, not the coordinates. Raw weights may underflow to 0 for extreme scores;
// estimators use NormalizedNeighborWeights.
absl::StatusOr<std::vector<double>> NeighborWeights(absl::Span<const Neighbor> neighbors,
                                                    ScoreKind kind, double m);

// The same weights divided by their sum (sum 1), computed in log space. InvalidArgument for an
// empty span or when every weight is 0.
absl::StatusOr<std::vector<double>> NormalizedNeighborWeights(absl::Span<const Neighbor> neighbors,
                                                              ScoreKind kind, double m);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_NEIGHBOR_WEIGHTS_H_
