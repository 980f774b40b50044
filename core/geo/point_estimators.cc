#include "core/geo/point_estimators.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"
#include "core/geo/peak_summary.h"
#include "core/geo/unit_vector.h"

namespace geoloc {
namespace geo {

absl::StatusOr<Peak> NearestNeighborPeak(absl::Span<const LatLon> positions,
                                         absl::Span<const double> weights, double mass_share) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorWeights(positions, weights));
  size_t best = 0;
  for (size_t i = 1; i < weights.size(); ++i) {
    if (weights[i] > weights[best]) best = i;  // strict: ties keep the better-ranked neighbour
  }
  const LatLon pos{positions[best].lat, NormalizeLongitude(positions[best].lon)};
  return PeakOverAllNeighbors(pos, positions, weights, mass_share);
}

absl::StatusOr<Peak> MeanDirectionPeak(absl::Span<const LatLon> positions,
                                       absl::Span<const double> weights, double mass_share) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorWeights(positions, weights));
  Vec3 sum;
  double total = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    sum = sum + weights[i] * ToUnitVector(positions[i]);
    total += weights[i];
  }
  const double resultant = Norm(sum) / total;
  if (resultant < kMinResultantLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the neighbours' mean direction is undefined: their unit vectors cancel (resultant "
        "length ",
        resultant, "), e.g. antipodal points; use the spherical KDE, which keeps each cluster"));
  }
  return PeakOverAllNeighbors(FromUnitVector(sum), positions, weights, mass_share);
}

}  // namespace geo
}  // namespace geoloc
