// The predictive density of an answer: a mixture of density components plus a uniform floor on the
// sphere. It scores the truth (-log f), draws the regions ({f >= t}) and gives the raw
// probabilities (the mass near the best estimate).
//
//   std::vector<PredictiveDensity::Part> parts;
//   parts.push_back({0.90, std::make_unique<VmfKdeComponent>(std::move(narrow))});
//   parts.push_back({0.09, std::make_unique<VmfKdeComponent>(std::move(broad))});
//   GEOLOC_ASSIGN_OR_RETURN(PredictiveDensity f,
//                           PredictiveDensity::Create(std::move(parts), /*floor_weight=*/0.01));
//   double score = -f.LogDensity(geo::ToUnitVector(truth));
//
// f(x) = sum_c a_c f_c(x) + a_0 u, u = 1 / (4 pi R^2) per km^2, a_c >= 0, a_0 >= 0, sum = 1.
// Why the broad term and the floor: with the answer's KDE alone, one photo whose neighbours are all
// elsewhere gets an infinite score (f(truth) underflows to 0), and then the 95% quantile is
// infinite and the 95% region the whole planet. A broad kernel (the same neighbours at a much
// larger bandwidth: "somewhere in this country") and a floor ("anywhere") make scores finite and
// let regions grow smoothly with the quantile. The weights are fitted offline (mixture_fit.h).
//
// Region extraction bounds f over a cell by the weighted sums of the parts' bounds plus a_0 u
// (superlevel_set.h); the superlevel cover of {f >= t} is, with t' = t - a_0 u and A = sum_c a_c,
// the union of each component's cover
// at t' / A (a weighted mean of the f_c reaches t' / A only where one of them does); t' <= 0 means
// the whole sphere. MassWithin is the weighted sum of the components' (approximate) masses plus
// a_0 (1 - cos(t / R)) / 2, the floor's exact share of a cap of radius t.
//
// Immutable after Create (owns its components): const methods, thread-safe; move-only.
#ifndef GEOLOC_CORE_CALIBRATION_PREDICTIVE_DENSITY_H_
#define GEOLOC_CORE_CALIBRATION_PREDICTIVE_DENSITY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/calibration/density_component.h"

namespace geoloc::calibration {

// The uniform density on the sphere of geo's mean Earth radius, per km^2.
double UniformSphereDensity();

class PredictiveDensity {
 public:
  struct Part {
    double weight = 0;
    std::unique_ptr<DensityComponent> component;
  };

  // InvalidArgument when a weight is negative or not finite, a part has no component, or the
  // weights (with floor_weight) do not sum to 1 within 1e-9.
  static absl::StatusOr<PredictiveDensity> Create(std::vector<Part> parts, double floor_weight);

  PredictiveDensity(PredictiveDensity&&) = default;
  PredictiveDensity& operator=(PredictiveDensity&&) = default;

  double Density(const geo::Vec3& x) const;
  // Accurate where Density underflows; never -infinity when floor_weight > 0.
  double LogDensity(const geo::Vec3& x) const;
  // Caps whose union holds {f >= t}; *whole_sphere is set instead when f >= t everywhere may hold
  // (t <= a_0 u); both empty when no part can reach t.
  std::vector<cells::SphereCap> SuperlevelCover(double t, bool* whole_sphere) const;
  double MassWithin(const geo::Vec3& x, double distance_km) const;
  // The smallest ScaleKm of the parts with a positive weight (+infinity for the floor alone).
  double ScaleKm() const;
  // a_0 u: the density everywhere at least.
  double FloorDensity() const { return floor_weight_ * UniformSphereDensity(); }

  const std::vector<Part>& parts() const { return parts_; }
  double floor_weight() const { return floor_weight_; }

 private:
  PredictiveDensity() = default;

  std::vector<Part> parts_;
  double floor_weight_ = 0;
};

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_PREDICTIVE_DENSITY_H_
