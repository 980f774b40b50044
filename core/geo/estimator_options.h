// Which location estimator to run and its parameters, with range checks.
//
//   geo::EstimatorOptions options;  // spherical KDE, h = 0.5 km, m = 5
//   GEOLOC_ASSIGN_OR_RETURN(options.kind, geo::ParseEstimatorKind(flag_value));
//
// Plain value type; the functions are pure and thread-safe. docs/GEO.md explains every estimator.
#ifndef GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_
#define GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc {
namespace geo {

enum class EstimatorKind {
  kNearest,       // the highest-weight neighbour (1-NN; seed 000)
  kMean,          // mean of the neighbours' unit vectors, unweighted
  kWeightedMean,  // the same with the neighbour weights
  kGridKde,       // the seed's KDE: Gaussian in degrees, maximised over grids around neighbours
  kSphericalKde,  // the default: von Mises-Fisher KDE in km, every mode by mean-shift
};

// Canonical names: "nearest", "mean", "weighted_mean", "grid_kde", "spherical_kde".
absl::string_view EstimatorName(EstimatorKind kind);

// Accepts the canonical names and the aliases "1nn" (kNearest) and "kde" (kSphericalKde), in any
// letter case; InvalidArgument listing the accepted names otherwise.
absl::StatusOr<EstimatorKind> ParseEstimatorKind(absl::string_view name);

struct EstimatorOptions {
  EstimatorKind kind = EstimatorKind::kSphericalKde;
  // Exponent m of the neighbour weights (neighbor_weights.h), [0, 50]. Seed optimum: 5.
  double weight_exponent_m = 5;
  // Grid KDE: Gaussian standard deviation in degrees (0, 45]. Seed optimum: 0.0025 (~250 m).
  double sigma_deg = 0.0025;
  // Grid KDE: the grid spans +-b sigma around each neighbour with n points per sigma, so it has
  // (2bn + 1)^2 points. Each in [1, 10]; the seed used b = n = 3.
  int grid_b = 3;
  int grid_n = 3;
  // Spherical KDE: kernel bandwidth h in km [0.001, 20000] (the kernel is a Gaussian of standard
  // deviation h in great-circle distance for h << R).
  double bandwidth_km = 0.5;
  // Spherical KDE: modes closer than this are merged (the denser one is kept), km in
  // [0, 20015]; 0 means "= bandwidth_km".
  double merge_radius_km = 0;
  // Share of a peak's mass its radius_km must hold, in (0, 1).
  double mass_share = 0.68;
  // Spherical KDE: mean-shift iteration cap per start, [1, 100000].
  int max_iterations = 100;
  // Keep at most this many peaks (the heaviest), >= 0; 0 keeps all.
  int max_peaks = 0;
};

// InvalidArgument naming the first field outside its documented range. Every field is checked,
// whichever estimator `kind` selects.
absl::Status ValidateEstimatorOptions(const EstimatorOptions& options);

// merge_radius_km, or bandwidth_km when merge_radius_km is 0.
double EffectiveMergeRadiusKm(const EstimatorOptions& options);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_
