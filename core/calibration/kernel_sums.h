// The hot loops of the von Mises-Fisher kernel densities, vectorised: the weighted kernel sum at a
// point, and its lower and upper bounds over a cap (region extraction evaluates these hundreds of
// thousands of times per answer).
//
//   const KernelCentres k{x.data(), y.data(), z.data(), w.data(), n};
//   double f = norm * KernelSum(k, at, half_kappa);
//   double lo, hi;
//   KernelSumBounds(k, cell.centre, cell.outer_chord, half_kappa, &lo, &hi, near.data());
//
// The kernel is exp(-half_kappa |x - v_i|^2) (vmf_kde_component.h). exp is a branch-free
// polynomial (below) that the compiler vectorises; each function is compiled in clones for
// AVX-512, AVX2 and baseline x86-64, picked at load time (GCC target_clones), so one binary runs on
// any x86-64 CPU; the file is compiled with -fno-math-errno so that sqrt vectorises too. std::exp,
// one value at a time, was about 3 ns per call here.
//
// Accuracy: the exp of KernelSum has relative error below 1e-15 for arguments in [-700, 0] and
// gives 0 below -700 (the true value is under 1e-304), so the sum is within 1e-14 relative
// (+ n 1e-304) of the exact one. KernelSumBounds uses a shorter polynomial (error below 1e-8) and
// widens its bounds by 1e-7 relative (+ n 1e-304), so they stay conservative:
// lo <= sum <= hi for every point within chord rho of the centre (triangle inequality in R^3:
// |x - v_i| lies in [|c - v_i| - rho, |c - v_i| + rho]).
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_KERNEL_SUMS_H_
#define GEOLOC_CORE_CALIBRATION_KERNEL_SUMS_H_

#include <cstddef>

#include "core/geo/unit_vector.h"

namespace geoloc::calibration {

// Kernel centres (unit vectors) and weights as parallel arrays of n values, and the weights' sum
// (WeightSum(w, n), which KernelSumBounds needs for its underflow allowance: whoever builds the
// view computes it once, not every bound over every cell).
struct KernelCentres {
  const double* x = nullptr;
  const double* y = nullptr;
  const double* z = nullptr;
  const double* w = nullptr;
  size_t n = 0;
  double w_sum = 0;
};

// w[0] + w[1] + ... + w[n - 1], added in that order (so that a view's w_sum is the same number
// however it was built).
double WeightSum(const double* w, size_t n);

// sum_i w_i exp(-half_kappa |at - v_i|^2).
double KernelSum(const KernelCentres& k, const geo::Vec3& at, double half_kappa);

// The sum and its gradient with respect to `at` (as a vector of R^3).
void KernelSumAndGradient(const KernelCentres& k, const geo::Vec3& at, double half_kappa,
                          double* sum, geo::Vec3* gradient);

// Bounds of that sum over {x : |x - centre| <= rho} (k.w_sum must be WeightSum(k.w, k.n)).
// near_exponent (n values) receives half_kappa (max(0, |centre - v_i| - rho))^2 for each i: term i
// is at most w_i exp(-that).
void KernelSumBounds(const KernelCentres& k, const geo::Vec3& centre, double rho, double half_kappa,
                     double* lo, double* hi, double* near_exponent);

// KernelSumBounds in two steps, for kernels that several densities share (the same centres at
// several bandwidths): the distances |centre - v_i| (n values), which do not depend on the
// bandwidth, then the bounds from them, exactly the numbers KernelSumBounds gives.
void KernelDistances(const KernelCentres& k, const geo::Vec3& centre, double* distance);
void KernelSumBoundsFromDistances(const KernelCentres& k, const double* distance, double rho,
                                  double half_kappa, double* lo, double* hi, double* near_exponent);

// The scalar exp(x) the sums use, for x <= 0 (0 below -700). Exposed for its test.
double ExpOfNonPositive(double x);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_KERNEL_SUMS_H_
