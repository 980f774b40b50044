// The hot loop of the kernel densities: sum_i w_i exp(-e_i) over arrays, vectorised.
//
//   double s = WeightedExpSum(weights.data(), exponents.data(), n);  // exponents >= 0
//
// std::exp is called one value at a time (about 3 ns each here) and region extraction evaluates
// hundreds of thousands of kernel bounds per answer. This evaluates exp with a branch-free
// polynomial that the compiler vectorises, in clones for AVX-512, AVX2 and baseline x86-64 picked
// at load time (GCC target_clones), so one binary runs on any x86-64 CPU.
//
// Accuracy: relative error below 1e-15 of std::exp for every argument in [-700, 0]; arguments
// below -700 give 0 (the true value is below 1e-304), so a sum of terms is never overestimated
// by more than 1e-15 relative and never underestimated by more than that plus n * 1e-304. Callers
// that need conservative bounds widen them by kExpSumRelativeError.
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_EXP_SUM_H_
#define GEOLOC_CORE_CALIBRATION_EXP_SUM_H_

#include <cstddef>

namespace geoloc::calibration {

inline constexpr double kExpSumRelativeError = 1e-14;
// What one term counted as 0 (argument below -700) can hide, at most.
inline constexpr double kExpSumUnderflow = 1e-304;

// sum_i w[i] exp(-e[i]), e[i] >= 0 (NaN or negative e: unspecified but finite for e > -700).
double WeightedExpSum(const double* w, const double* e, size_t n);

// The scalar exp(x) the sum uses, for x <= 0 (0 below -700). Exposed for its test.
double ExpOfNonPositive(double x);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_EXP_SUM_H_
