// Which location estimator to run and its parameters: the one table of estimator names and the
// one declaration of every estimator limit (the server's request mapping, geolocd's and the CLI's
// flags and geoloc-eval all read them from here).
//
//   geo::EstimatorOptions options;  // spherical KDE, h = 0.5 km, m = 5
//   GEOLOC_ASSIGN_OR_RETURN(options.kind, geo::ParseEstimatorKind(flag_value));
//   GEOLOC_RETURN_IF_ERROR(geo::ValidateEstimatorOptions(options));
//
// Plain value types; the functions are pure and thread-safe. docs/GEO.md explains every estimator;
// docs/DEVELOPING.md "Add an estimator" lists every file a new one touches.
#ifndef GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_
#define GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/common/option_range.h"
#include "core/geo/neighbor_weights.h"

namespace geoloc {
namespace geo {

enum class EstimatorKind {
  kNearest,       // the highest-weight neighbour (1-NN; seed 000)
  kMean,          // mean of the neighbours' unit vectors, unweighted
  kWeightedMean,  // the same with the neighbour weights
  kGridKde,       // the seed's KDE: Gaussian in degrees, maximised over grids around neighbours
  kSphericalKde,  // the default: von Mises-Fisher KDE in km, every mode by mean-shift
};

// The names of one estimator: `name` is canonical (logs, geoloc-eval's tables), `short_name` is
// what the CLI prints and both parse.
struct EstimatorNames {
  EstimatorKind kind;
  absl::string_view name;
  absl::string_view short_name;
};

// Every estimator, in EstimatorKind order:
//   kind            name            short name
//   kNearest        nearest         1nn
//   kMean           mean            mean
//   kWeightedMean   weighted_mean   weighted_mean
//   kGridKde        grid_kde        grid_kde
//   kSphericalKde   spherical_kde   kde
absl::Span<const EstimatorNames> AllEstimators();

absl::string_view EstimatorName(EstimatorKind kind);
absl::string_view EstimatorShortName(EstimatorKind kind);

// Accepts either name of every estimator, in any letter case; INVALID_ARGUMENT
// ("unknown estimator 'median'; expected one of: ...") otherwise.
absl::StatusOr<EstimatorKind> ParseEstimatorKind(absl::string_view name);
// "nearest (1nn), mean, weighted_mean, grid_kde, spherical_kde (kde)": for messages and flag help.
std::string EstimatorNameList();

// The limits of the options below (ValidateEstimatorOptions checks them all; the names are the
// API's and the flags').
// (Fields: name, min, max, min_exclusive, max_exclusive, unit.)
inline constexpr RealRange kWeightExponentRange{"weight_exponent", 0, kMaxWeightExponent};
inline constexpr RealRange kSigmaDegRange{"sigma_deg", 0, 45, true, false, "degrees"};
inline constexpr IntRange kGridBRange{"grid_b", 1, 10};
inline constexpr IntRange kGridNRange{"grid_n", 1, 10};
inline constexpr RealRange kBandwidthKmRange{"bandwidth_km", 0.001, 20000, false, false, "km"};
inline constexpr RealRange kMergeRadiusKmRange{"merge_radius_km", 0, 20015, false, false, "km"};
inline constexpr RealRange kMassShareRange{"mass_share", 0, 1, true, true, ""};
inline constexpr IntRange kMaxIterationsRange{"max_iterations", 1, 100000};
inline constexpr IntRange kEstimatorMaxPeaksRange{"estimator max_peaks", 0,
                                                  std::numeric_limits<int>::max()};

struct EstimatorOptions {
  EstimatorKind kind = EstimatorKind::kSphericalKde;
  // Exponent m of the neighbour weights (neighbor_weights.h), kWeightExponentRange. Seed
  // optimum: 5.
  double weight_exponent_m = 5;
  // Grid KDE: Gaussian standard deviation in degrees, kSigmaDegRange. Seed optimum: 0.0025
  // (~250 m).
  double sigma_deg = 0.0025;
  // Grid KDE: the grid spans +-b sigma around each neighbour with n points per sigma, so it has
  // (2bn + 1)^2 points. kGridBRange, kGridNRange; the seed used b = n = 3.
  int grid_b = 3;
  int grid_n = 3;
  // Spherical KDE: kernel bandwidth h in km, kBandwidthKmRange (the kernel is a Gaussian of
  // standard deviation h in great-circle distance for h << R).
  double bandwidth_km = 0.5;
  // Spherical KDE: modes closer than this are merged (the denser one is kept), km,
  // kMergeRadiusKmRange; 0 means "= bandwidth_km".
  double merge_radius_km = 0;
  // Share of a peak's mass its radius_km must hold, kMassShareRange (open at both ends).
  double mass_share = 0.68;
  // Spherical KDE: mean-shift iteration cap per start, kMaxIterationsRange.
  int max_iterations = 100;
  // Keep at most this many peaks (the heaviest), kEstimatorMaxPeaksRange; 0 keeps all.
  int max_peaks = 0;
};

// INVALID_ARGUMENT naming the first field outside its range (option_range.h's messages). Every
// field is checked, whichever estimator `kind` selects.
absl::Status ValidateEstimatorOptions(const EstimatorOptions& options);

// merge_radius_km, or bandwidth_km when merge_radius_km is 0.
double EffectiveMergeRadiusKm(const EstimatorOptions& options);

}  // namespace geo
}  // namespace geoloc

#endif  // GEOLOC_CORE_GEO_ESTIMATOR_OPTIONS_H_
