#include "core/engine/fusion.h"

#include <algorithm>

namespace geoloc::engine {

FusedChoice FusePeaks(absl::Span<const geo::Peak> peaks, absl::Span<const double> leaf_probability,
                      int num_leaves) {
  FusedChoice choice;
  const double floor = 1.0 / std::max(num_leaves, 1);
  double total = 0;
  double best = -1;
  for (size_t i = 0; i < peaks.size() && i < leaf_probability.size(); ++i) {
    const double score = peaks[i].mass * (std::max(leaf_probability[i], 0.0) + floor);
    total += score;
    // Strictly greater: ties keep retrieval's order.
    if (score > best) {
      best = score;
      choice.peak = static_cast<int>(i);
    }
  }
  if (choice.peak >= 0) choice.weight_share = total > 0 ? best / total : 0;
  return choice;
}

}  // namespace geoloc::engine
