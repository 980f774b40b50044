// The fused answer of Locate when the bundle has a cell classifier: retrieval's peaks re-weighted
// by the classifier's probability of the leaf cell each peak lies in (docs/CLASSIFIER.md
// "Fusion").
//
//   score(p) = mass(p) * (q(leaf(p)) + 1 / L)      p: a retrieval peak, L: the number of leaves
//   best     = the peak with the highest score; its weight_share = score(best) / sum_p score(p)
//
// q(leaf(p)) is the classifier's probability of the leaf holding p (0 outside every kept leaf).
// The 1/L floor is the uniform classifier's probability: a peak in a cell the classifier rules
// out (or outside every kept cell) keeps a score proportional to its retrieval mass instead of
// zero, so such peaks stay ordered by retrieval, and when no peak lies in a cell the classifier
// favours the answer is retrieval's. With a uniform classifier (q = 1/L everywhere) the rule is
// retrieval's ranking unchanged. A peak wins over one with m times its mass when its cell's
// probability is more than m times the other's (both plus 1/L).
//
// Pure function; safe from any thread.
#ifndef GEOLOC_CORE_ENGINE_FUSION_H_
#define GEOLOC_CORE_ENGINE_FUSION_H_

#include <vector>

#include "absl/types/span.h"
#include "core/geo/peak.h"

namespace geoloc::engine {

struct FusedChoice {
  int peak = -1;          // index into the peaks
  double weight_share = 0;  // the peak's share of the fused scores, [0, 1] (not a probability)
};

// `leaf_probability[i]` is q(leaf(peaks[i])); `num_leaves` >= 1. peak = -1 for no peaks.
FusedChoice FusePeaks(absl::Span<const geo::Peak> peaks, absl::Span<const double> leaf_probability,
                      int num_leaves);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_FUSION_H_
