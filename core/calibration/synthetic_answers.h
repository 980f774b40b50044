// Deterministic synthetic answers with known true places, for the calibration tests, benchmarks
// and demos (no model, index or images needed): what the engine would answer for photos of a world
// of towns whose database photos cluster in those towns.
//
//   SyntheticAnswerOptions options;  // k = 100, h = 0.5 km, 60% of photos localizable, ...
//   std::vector<CalibrationExample> val = MakeSyntheticSplit(options, /*seed=*/1, 1000);
//
// The world: options.towns town centres uniform in a latitude/longitude box. A photo with a place
// is taken near a random town (Gaussian, options.photo_spread_km). Its k neighbours are database
// photos: when the photo is localizable (probability options.localizable_share), a share
// options.good_share of them lie near the true place (Gaussian, options.good_spread_km) with high
// similarities, the rest near random towns with lower ones; otherwise every neighbour lies near a
// random town. A distractor (probability options.distractor_share) has no place and only random
// neighbours. Neighbours come ranked by similarity; weights, the best estimate and the peak masses
// are core/geo's spherical KDE's (geo::EstimateLocation), as the engine's.
//
// Every value depends only on the options, the seed and the photo's index (std::mt19937_64 with
// libstdc++'s distributions). Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_SYNTHETIC_ANSWERS_H_
#define GEOLOC_CORE_CALIBRATION_SYNTHETIC_ANSWERS_H_

#include <cstdint>
#include <vector>

#include "core/calibration/answer.h"
#include "core/calibration/fit.h"

namespace geoloc::calibration {

struct SyntheticAnswerOptions {
  int k = 100;
  double bandwidth_km = 0.5;
  double weight_exponent_m = 5;
  int towns = 300;
  double lat_min = 36, lat_max = 60, lon_min = -10, lon_max = 30;
  uint64_t world_seed = 17;  // the towns
  double photo_spread_km = 2.0;
  double localizable_share = 0.6;
  double distractor_share = 0.1;
  double good_share = 0.5;
  double good_spread_km = 0.4;
  double town_spread_km = 1.0;
};

// The settings the synthetic answers are produced with (spherical KDE, similarity scores).
EstimatorSettings SyntheticSettings(const SyntheticAnswerOptions& options);

CalibrationExample MakeSyntheticExample(const SyntheticAnswerOptions& options, uint64_t seed,
                                        int64_t index);
std::vector<CalibrationExample> MakeSyntheticSplit(const SyntheticAnswerOptions& options,
                                                   uint64_t seed, int64_t photos);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_SYNTHETIC_ANSWERS_H_
