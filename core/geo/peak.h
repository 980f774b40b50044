// What an estimator returns: ranked location hypotheses (peaks) and the neighbour weights used.
//
//   GEOLOC_ASSIGN_OR_RETURN(geo::Estimate est, geo::EstimateLocation(neighbors, kind, options));
//   geo::LatLon best = est.peaks[0].pos;  // never empty on success
//
// Plain value types: copy or move freely.
#ifndef GEOLOC_CORE_GEO_PEAK_H_
#define GEOLOC_CORE_GEO_PEAK_H_

#include <vector>

#include "core/geo/lat_lon.h"

namespace geoloc {
namespace geo {

struct Peak {
  // The hypothesis; lon in [-180, 180).
  LatLon pos;
  // The normalised KDE at pos: per km^2 for the spherical KDE, per square degree for the grid KDE,
  // 0 for the point estimators (nearest, mean, weighted mean), which have no density model.
  double density = 0;
  // Share of the total neighbour weight in this peak's basin; the masses of all peaks sum to 1
  // (less when max_peaks dropped some).
  double mass = 0;
  // Number of neighbours in the basin (duplicates counted), == neighbor_indices.size().
  int support = 0;
  // Radius in km around pos holding options.mass_share of the peak's mass (docs/GEO.md).
  double radius_km = 0;
  // Indices into the estimator's input span of the neighbours in the basin, ascending.
  std::vector<int> neighbor_indices;
};

struct Estimate {
  // Sorted by mass, descending (ties: denser first, then lower first neighbour index); peaks[0] is
  // the best estimate.
  std::vector<Peak> peaks;
  // Normalised neighbour weights (sum 1), one per input neighbour, as the estimator used them
  // (uniform for kMean).
  std::vector<double> weights;
};

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_PEAK_H_
