// Incidents: several photos believed to show one place, pooled into one body of evidence
// (docs/INCIDENTS.md has the why). Locator::LocateIncident (locator.h) turns the pooled evidence
// into one answer (peaks, cells, classifier fusion, calibration) and reports each photo's part.
//
//   GEOLOC_ASSIGN_OR_RETURN(PooledEvidence pooled, PoolIncidentEvidence(photo_results, options));
//   // pooled.neighbors / pooled.weights feed the spherical KDE like one photo's neighbours
//
// The rule, a robust log-linear pool with redundancy-discounted exponents:
//   photo i's evidence   p_i(x) = its spherical KDE over its neighbours (its own weights w_i)
//   robust version       p'_i(x) = (1 - eps) p_i(x) + eps / A   (A: the Earth's area): a photo
//                        may be wrong (another place, a mislabelled upload) with probability eps,
//                        so it can lower a place's score by a bounded factor but never veto it
//   redundancy           r_ij = sum over database rows u of min(w_i(u), w_j(u)), in [0, 1]: the
//                        share of evidence photos i and j have in common (1 for identical photos)
//   exponent             kGeometricMean (the default): a_i = 1 / n
//                        kSharedEvidence: a_i = 1 / sum_j r_ij  (r_ii = 1): n copies of one
//                        photo get 1/n each, photos sharing nothing 1 each
//                        (docs/INCIDENTS.md: measured, the second is overconfident)
//   pooled density       q(x) proportional to prod_i p'_i(x)^a_i
// q is represented on the union of every photo's neighbours (a database row retrieved by several
// photos appears once): each row u gets the mixture weight m(u) = sum_i a_i w_i(u) / sum_i a_i
// re-weighted by q / m at its position (self-normalised importance weights, the mixture
// m(x) = sum_i a_i p_i(x) / sum_i a_i being the KDE of those rows), so that the KDE of the pooled
// rows approximates q. Properties (tested):
//   n identical photos                 exactly one photo's weights (a_i = 1/n): no more confident
//   one photo                          its own weights, times (1 - eps) + eps / (A p(y)), which
//                                      is constant to 1e-6 wherever a neighbour lies
//   photos agreeing                    places all support gain; with kSharedEvidence and little
//                                      shared, the product also sharpens
//   one photo elsewhere (a dissent)    its places get eps-small weight; it is reported, not hidden
//
// Pure functions; thread-safe.
#ifndef GEOLOC_CORE_ENGINE_INCIDENT_H_
#define GEOLOC_CORE_ENGINE_INCIDENT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/engine/locator.h"

namespace geoloc::engine {

// How the exponents a_i are set (the rest of the rule is the same).
enum class IncidentPooling {
  // a_i = 1 / sum_j r_ij: evidence the photos share counts once, evidence they do not share
  // multiplies (photos that retrieve different database photos count as independent).
  kSharedEvidence,
  // a_i = 1 / n: a geometric mean of the photos' densities (a log-linear pool whose weights sum
  // to 1). Places every photo supports win, but the answer is never sharper than an average
  // photo's: photos of one place are not independent witnesses (they fail together).
  kGeometricMean,
};

struct IncidentOptions {
  IncidentPooling pooling = IncidentPooling::kGeometricMean;
  // eps above: the probability that a photo does not show the incident's place.
  double outlier_probability = 0.05;
  // A photo dissents when the share of its own neighbour weight in the basin of the answer's
  // best peak is below this fraction of the other photos' median share (and the incident has at
  // least two photos): it gives the answer's place much less weight than the others do.
  // Relative, so that photos with diffuse evidence (every share small) are not all called
  // dissents for being diffuse; copies of one photo never dissent. 0.12: the largest ratio that
  // flags at most 5% of genuine photos in incidents of 2 and 4 photos on the proving ground's
  // val split (docs/INCIDENTS.md, "The dissent flag"; at 8 photos no ratio gets below 7%).
  double dissent_ratio = 0.12;
};

// Locator::CombineIncident's answer.
struct IncidentResult {
  // The incident's answer, as one photo's would be (best, peaks, cells, classifier, calibration,
  // abstention); its neighbours are the pooled rows with the pooled weights.
  LocateResult combined;
  struct Photo {
    double exponent = 0;  // a_i: 1 for a photo sharing nothing with the others, 1/n for n copies
    // The photo's share of its own neighbour weight in the basin of each of combined.peaks.
    std::vector<double> peak_support;
    double best_support = 0;  // the same for the peak of combined.best
    // best_support < options.dissent_ratio x the other photos' median best_support (>= 2 photos)
    bool dissents = false;
  };
  std::vector<Photo> photos;
  double effective_photos = 0;  // sum of the exponents
};

struct PooledEvidence {
  std::vector<index::Neighbor> neighbors;  // the union, first-seen order; score: the best any
                                           // photo gave the row
  std::vector<double> weights;             // pooled, sum 1
  std::vector<double> photo_exponents;     // a_i
  // row_of[i][k]: photo i's k-th neighbour's index in `neighbors`.
  std::vector<std::vector<int>> row_of;
  // With a classifier: the pooled leaf probabilities (the same rule on the leaf distributions,
  // eps spread over the leaves), else empty.
  std::vector<double> classifier_leaf_probabilities;
};

// `photos` are the photos' own answers (LocateResult::neighbors and ::weights, and with a
// classifier ::classifier_leaf_probabilities), all from one snapshot with one bandwidth.
// INVALID_ARGUMENT: no photo, more than kMaxIncidentPhotos, a photo without neighbours or with
// weights that do not match them, classifier leaves on some photos only, or bad options.
absl::StatusOr<PooledEvidence> PoolIncidentEvidence(absl::Span<const LocateResult> photos,
                                                    double bandwidth_km,
                                                    const IncidentOptions& options);

// Photo i's share of its own neighbour weight inside each peak's basin (peaks[p].neighbor_indices
// index pooled.neighbors). One row per photo, one column per peak.
std::vector<std::vector<double>> PeakSupport(const PooledEvidence& pooled,
                                             absl::Span<const LocateResult> photos,
                                             absl::Span<const geo::Peak> peaks);

// Which photos dissent, from each photo's share of its weight in the best peak's basin: those
// below `ratio` times the other photos' median share. None with fewer than two photos.
std::vector<bool> Dissents(absl::Span<const double> best_support, double ratio);

}  // namespace geoloc::engine

#endif  // GEOLOC_CORE_ENGINE_INCIDENT_H_
