#include "core/calibration/predictive_density.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"

namespace geoloc::calibration {
namespace {

constexpr double kWeightSumTolerance = 1e-9;

}  // namespace

double UniformSphereDensity() {
  return 1.0 / (4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm);
}

absl::StatusOr<PredictiveDensity> PredictiveDensity::Create(std::vector<Part> parts,
                                                            double floor_weight) {
  if (!(floor_weight >= 0) || !std::isfinite(floor_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the floor weight must be finite and >= 0, got ", floor_weight));
  }
  double sum = floor_weight;
  for (size_t c = 0; c < parts.size(); ++c) {
    if (!(parts[c].weight >= 0) || !std::isfinite(parts[c].weight)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mixture weight ", c, " is ", parts[c].weight, ": must be finite and >= 0"));
    }
    if (parts[c].component == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("mixture part ", c, " has no component"));
    }
    sum += parts[c].weight;
  }
  if (std::abs(sum - 1) > kWeightSumTolerance) {
    return absl::InvalidArgumentError(
        absl::StrCat("mixture weights (floor included) must sum to 1, they sum to ", sum));
  }
  PredictiveDensity f;
  f.parts_ = std::move(parts);
  f.floor_weight_ = floor_weight;
  return f;
}

double PredictiveDensity::Density(const geo::Vec3& x) const {
  double s = FloorDensity();
  for (const Part& p : parts_) {
    if (p.weight > 0) s += p.weight * p.component->Density(x);
  }
  return s;
}

double PredictiveDensity::LogDensity(const geo::Vec3& x) const {
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  std::vector<double> terms;
  terms.reserve(parts_.size() + 1);
  if (floor_weight_ > 0) terms.push_back(std::log(FloorDensity()));
  for (const Part& p : parts_) {
    if (p.weight > 0) terms.push_back(std::log(p.weight) + p.component->LogDensity(x));
  }
  const double top = terms.empty() ? kMinusInfinity : *std::max_element(terms.begin(), terms.end());
  if (top == kMinusInfinity) return kMinusInfinity;
  double s = 0;
  for (double t : terms) s += std::exp(t - top);
  return top + std::log(s);
}

std::vector<cells::SphereCap> PredictiveDensity::SuperlevelCover(double t,
                                                                 bool* whole_sphere) const {
  std::vector<cells::SphereCap> caps;
  *whole_sphere = false;
  const double rest = t - FloorDensity();
  if (rest <= 0) {
    *whole_sphere = true;
    return caps;
  }
  double weight = 0;
  for (const Part& p : parts_) weight += p.weight;
  if (weight <= 0) return caps;
  for (const Part& p : parts_) {
    if (p.weight > 0) p.component->AppendSuperlevelCover(rest / weight, &caps);
  }
  return caps;
}

double PredictiveDensity::MassWithin(const geo::Vec3& x, double distance_km) const {
  if (!(distance_km > 0)) return 0.0;
  const double angle = std::min(distance_km / geo::kEarthRadiusKm, geo::kPi);
  double mass = floor_weight_ * 0.5 * (1 - std::cos(angle));
  for (const Part& p : parts_) {
    if (p.weight > 0) mass += p.weight * p.component->MassWithin(x, distance_km);
  }
  return std::clamp(mass, 0.0, 1.0);
}

double PredictiveDensity::ScaleKm() const {
  double scale = std::numeric_limits<double>::infinity();
  for (const Part& p : parts_) {
    if (p.weight > 0) scale = std::min(scale, p.component->ScaleKm());
  }
  return scale;
}

}  // namespace geoloc::calibration
