#include "core/calibration/exp_sum.h"

#include <cstdint>
#include <cstring>

namespace geoloc::calibration {
namespace {

// Below this the result is 0: exp(-700) = 1e-304, and 2^n stays a normal number above it.
constexpr double kMinArgument = -700.0;

inline uint64_t Bits(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline double FromBits(uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (Cody-Waite split of
// ln 2), exp(r) by its Taylor polynomial of degree 12 (truncation below 2e-16 relative).
inline double FastExp(double x) {
  const double clamped = x < kMinArgument ? kMinArgument : x;
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer in the bits
  const double shifted = clamped * kLog2e + kShifter;
  const double n = shifted - kShifter;
  const double r = (clamped - n * kLn2Hi) - n * kLn2Lo;
  double p = 1.0 / 479001600.0;  // 1/12!
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // The integer n sits in the low bits of `shifted`; 2^n as a double has exponent field n + 1023.
  const int64_t k = static_cast<int64_t>(Bits(shifted) - Bits(kShifter));
  const double scale = FromBits(static_cast<uint64_t>(k + 1023) << 52);
  return x < kMinArgument ? 0.0 : p * scale;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default")))
double WeightedExpSum(const double* w, const double* e, size_t n) {
  // Independent lanes so the sum vectorises without reassociating one accumulator.
  constexpr size_t kLanes = 8;
  double lane[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lane[l] += w[i + l] * FastExp(-e[i + l]);
  }
  double s = 0;
  for (; i < n; ++i) s += w[i] * FastExp(-e[i]);
  for (size_t l = 0; l < kLanes; ++l) s += lane[l];
  return s;
}

double ExpOfNonPositive(double x) { return FastExp(x); }

}  // namespace geoloc::calibration
