#include "core/calibration/synthetic_answers.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/geo/distance.h"
#include "core/geo/estimator.h"

namespace geoloc::calibration {
namespace {

std::vector<geo::LatLon> Towns(const SyntheticAnswerOptions& o) {
  std::mt19937_64 rng(o.world_seed);
  std::uniform_real_distribution<double> lat(o.lat_min, o.lat_max), lon(o.lon_min, o.lon_max);
  std::vector<geo::LatLon> towns(o.towns);
  for (geo::LatLon& t : towns) t = {lat(rng), lon(rng)};
  return towns;
}

// A point at a Gaussian offset (standard deviation sd_km per axis) from `centre`.
geo::LatLon Around(geo::LatLon centre, double sd_km, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> bearing(0, 360);
  const double r = sd_km * std::hypot(g(rng), g(rng));
  return geo::DestinationPoint(centre, bearing(rng), r);
}

}  // namespace

EstimatorSettings SyntheticSettings(const SyntheticAnswerOptions& o) {
  EstimatorSettings s;
  s.estimator = "spherical_kde";
  s.k = o.k;
  s.weight_exponent_m = o.weight_exponent_m;
  s.bandwidth_km = o.bandwidth_km;
  s.score_kind = geo::ScoreKind::kSimilarity;
  return s;
}

CalibrationExample MakeSyntheticExample(const SyntheticAnswerOptions& o, uint64_t seed,
                                        int64_t index) {
  const std::vector<geo::LatLon> towns = Towns(o);  // a few microseconds: not worth caching
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index));
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> town(0, o.towns - 1);
  CalibrationExample e;
  const double kind = u(rng);
  const bool distractor = kind < o.distractor_share;
  const bool localizable = !distractor && u(rng) < o.localizable_share;
  if (!distractor) e.truth = Around(towns[town(rng)], o.photo_spread_km, rng);
  std::vector<geo::Neighbor> neighbors;
  for (int i = 0; i < o.k; ++i) {
    const bool good = localizable && u(rng) < o.good_share;
    geo::Neighbor n;
    n.pos = good ? Around(*e.truth, o.good_spread_km, rng)
                 : Around(towns[town(rng)], o.town_spread_km, rng);
    n.score = good ? 0.75 + 0.15 * u(rng) : 0.55 + 0.2 * u(rng);
    neighbors.push_back(n);
  }
  std::sort(neighbors.begin(), neighbors.end(),
            [](const geo::Neighbor& a, const geo::Neighbor& b) { return a.score > b.score; });
  geo::EstimatorOptions options;
  options.bandwidth_km = o.bandwidth_km;
  options.weight_exponent_m = o.weight_exponent_m;
  // Valid by construction (coordinates from DestinationPoint, similarities in [0.55, 0.9]).
  const geo::Estimate est = *geo::EstimateLocation(neighbors, geo::ScoreKind::kSimilarity, options);
  for (const geo::Neighbor& n : neighbors) {
    e.positions.push_back(n.pos);
    e.scores.push_back(n.score);
  }
  e.weights = est.weights;
  e.best = est.peaks.front().pos;
  for (const geo::Peak& p : est.peaks) e.peak_masses.push_back(p.mass);
  return e;
}

std::vector<CalibrationExample> MakeSyntheticSplit(const SyntheticAnswerOptions& options,
                                                   uint64_t seed, int64_t photos) {
  std::vector<CalibrationExample> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(photos, 0)));
  for (int64_t i = 0; i < photos; ++i) out.push_back(MakeSyntheticExample(options, seed, i));
  return out;
}

}  // namespace geoloc::calibration
