// The spherical KDE of core/geo/spherical_kde.h as a density component: weighted von Mises-Fisher
// kernels on the neighbours' positions, normalised on the sphere.
//
//   GEOLOC_ASSIGN_OR_RETURN(VmfKdeComponent narrow,
//                           VmfKdeComponent::Create(positions, estimate.weights, 0.5));
//   double f = narrow.Density(geo::ToUnitVector(truth));  // == geo::SphericalKdeDensity(...)
//
// f(x) = C sum_i w_i exp(-kappa |x - v_i|^2 / 2) / sum_i w_i, kappa = (R / h)^2,
// C = kappa / (2 pi R^2 (1 - exp(-2 kappa))): the same density as geo::SphericalKdeDensity, per
// km^2. Positions that are exactly equal are merged (their weights add up).
//
// | method                 | how                                                              |
// | ---------------------- | ---------------------------------------------------------------- |
// | LogDensity             | log-sum-exp over the kernels: finite however far x is            |
// | BoundsOverTerms        | per kernel, the chord to the cell's centre +- the cell's outer   |
// |                        | chord (triangle inequality in R^3), summed by KernelSumBounds;   |
// |                        | kernels whose upper bound is below `negligible` are left out of  |
// |                        | the cell's descendants                                           |
// | MemoiseTerms           | the same bounds, kept with each kernel's near exponent, so that  |
// |                        | BoundsFromTermsMemo prunes for any `negligible` without          |
// |                        | evaluating the kernels again. Over all the terms, both reuse the |
// |                        | distances to the cell's centre of the last component with the    |
// |                        | same kernels (WithBandwidth) bounded there on the thread         |
// | AppendSuperlevelCover  | one cap per kernel, of the chord where C exp(-kappa r^2 / 2) = t |
// |                        | (a weighted mean of kernels reaches t only where one of them does)|
// | MassWithin             | per kernel, the planar mass of a Gaussian of deviation h within  |
// |                        | distance t of a point at distance d from its centre (the Rice    |
// |                        | distribution's CDF) by Sankaran's approximation to the           |
// |                        | non-central chi-square: within 0.015 of the exact value for      |
// |                        | every d, t (tests/calibration); exact 0 or 1 beyond 8 h from the |
// |                        | edge. On the sphere d and t are great-circle distances, which is |
// |                        | exact in the limit h, t << R and approximate beyond              |
// | ScaleKm                | h                                                                |
//
// Immutable after Create: const methods, thread-safe; copy or move freely.
#ifndef GEOLOC_CORE_CALIBRATION_VMF_KDE_COMPONENT_H_
#define GEOLOC_CORE_CALIBRATION_VMF_KDE_COMPONENT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/calibration/density_component.h"
#include "core/calibration/kernel_sums.h"
#include "core/geo/lat_lon.h"

namespace geoloc::calibration {

class VmfKdeComponent final : public DensityComponent {
 public:
  // InvalidArgument for no positions, a size mismatch, a bad coordinate, a negative or non-finite
  // weight, weights summing to 0, or a bandwidth outside (0, 20015] km.
  static absl::StatusOr<VmfKdeComponent> Create(absl::Span<const geo::LatLon> positions,
                                                absl::Span<const double> weights,
                                                double bandwidth_km);
  // The same kernels at another bandwidth: exactly what Create(positions, weights, bandwidth_km)
  // gives, without merging the positions again (an answer's narrow, broad and regional terms share
  // their kernels). InvalidArgument for a bandwidth outside (0, 20015] km.
  absl::StatusOr<VmfKdeComponent> WithBandwidth(double bandwidth_km) const;

  double Density(const geo::Vec3& x) const override;
  double LogDensity(const geo::Vec3& x) const override;
  int32_t NumTerms() const override { return static_cast<int32_t>(w_.size()); }
  double DensityOfTerms(const geo::Vec3& x, const TermSubset& terms) const override;
  void DensityAndGradientOfTerms(const geo::Vec3& x, const TermSubset& terms, double* value,
                                 geo::Vec3* gradient) const override;
  TermBounds BoundsOverTerms(cells::CellId id, const cells::CellGeometry& disc,
                             const TermSubset& terms, double negligible,
                             std::vector<int32_t>* kept) const override;
  // The memo: the bounds of the kernels over the cell, then each kernel's near exponent
  // (KernelSumBounds), 2 + (number of kernels) doubles.
  int64_t TermsMemoSize(const TermSubset& terms) const override {
    return 2 + static_cast<int64_t>(terms.all ? w_.size() : terms.indices.size());
  }
  void MemoiseTerms(const cells::CellGeometry& disc, const TermSubset& terms,
                    double* memo) const override;
  TermBounds BoundsFromTermsMemo(const TermSubset& terms, const double* memo, double negligible,
                                 std::vector<int32_t>* kept) const override;
  void AppendSuperlevelCover(double t, std::vector<cells::SphereCap>* caps) const override;
  double MassWithin(const geo::Vec3& x, double distance_km) const override;
  double ScaleKm() const override { return bandwidth_km_; }

  double bandwidth_km() const { return bandwidth_km_; }
  // C, the density at a kernel's centre per unit weight (per km^2).
  double peak_density() const { return norm_; }
  // Distinct kernel centres after merging equal positions.
  size_t size() const { return w_.size(); }

 private:
  VmfKdeComponent() = default;
  // Sets the bandwidth and what follows from it (kappa, C, log(C w_i)).
  void SetBandwidth(double bandwidth_km);
  // The terms' centres and weights as arrays (the subset gathered into per-thread scratch).
  KernelCentres Gather(const TermSubset& terms) const;
  // KernelSumBounds of the terms over the cell; over all the terms, the distances to the cell's
  // centre are reused from the last component with the same kernels bounded over the same centre
  // on this thread (the same numbers: they do not depend on the bandwidth).
  void KernelBounds(const cells::CellGeometry& disc, const TermSubset& terms, double* lo,
                    double* hi, double* near) const;
  // A process-wide id for a set of kernels (positions and weights): Create makes a new one,
  // WithBandwidth and copies keep it.
  static uint64_t NewKernelsId();
  // Leaves out of a cell's descendants the terms whose near exponents (in the order of `terms`)
  // say they cannot reach `negligible` anywhere in the cell (BoundsOverTerms).
  void Prune(const TermSubset& terms, const double* near, double negligible,
             std::vector<int32_t>* kept, TermBounds* out) const;

  // Kernel centres as unit vectors (structure of arrays) and their normalised weights.
  std::vector<double> x_, y_, z_, w_;
  double w_sum_ = 0;  // WeightSum(w_): the all-terms view's
  uint64_t kernels_id_ = 0;
  // log(C w_i): a kernel's upper bound over a cell is below b when kappa near^2 / 2 >= this - log
  // b.
  std::vector<double> log_cw_;
  double bandwidth_km_ = 0;
  double half_kappa_ = 0;
  double norm_ = 0;      // C
  double log_norm_ = 0;  // log C
};

// The mass of a planar isotropic Gaussian of standard deviation sigma, centred at distance d from a
// point, within distance t of that point (the CDF of the Rice distribution at t), by Sankaran's
// approximation (exact 0 or 1 beyond 8 sigma from the edge). Exposed for its test.
double GaussianMassWithin(double d, double t, double sigma);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_VMF_KDE_COMPONENT_H_
