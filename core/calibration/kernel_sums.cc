#include "core/calibration/kernel_sums.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace geoloc::calibration {
namespace {

// Below this the result is 0: exp(-700) = 1e-304, and 2^n stays a normal number above it.
constexpr double kMinArgument = -700.0;
// Relative error of a sum (FastExp), of a bound (FastExpForBounds), and what one term counted as 0
// can hide.
constexpr double kRelativeError = 1e-14;
constexpr double kBoundRelativeError = 1e-7;
constexpr double kUnderflow = 1e-304;
// Independent accumulators, so sums vectorise without reassociating one accumulator.
constexpr size_t kLanes = 8;

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
// ln 2), exp(r) by its Taylor polynomial of degree `Degree` (truncation error at |r| = ln2/2: below
// 2e-16 relative for degree 12, below 6e-9 for degree 7).
template <int Degree>
inline double ExpTemplate(double x) {
  static constexpr double kInverseFactorial[] = {1.0,
                                                 1.0,
                                                 1.0 / 2,
                                                 1.0 / 6,
                                                 1.0 / 24,
                                                 1.0 / 120,
                                                 1.0 / 720,
                                                 1.0 / 5040,
                                                 1.0 / 40320,
                                                 1.0 / 362880,
                                                 1.0 / 3628800,
                                                 1.0 / 39916800,
                                                 1.0 / 479001600};
  const double clamped = x < kMinArgument ? kMinArgument : x;
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer in the bits
  const double shifted = clamped * kLog2e + kShifter;
  const double n = shifted - kShifter;
  const double r = (clamped - n * kLn2Hi) - n * kLn2Lo;
  double p = kInverseFactorial[Degree];
  for (int d = Degree - 1; d >= 0; --d) p = p * r + kInverseFactorial[d];
  // The integer n sits in the low bits of `shifted`; 2^n as a double has exponent field n + 1023.
  const int64_t k = static_cast<int64_t>(Bits(shifted) - Bits(kShifter));
  const double scale = FromBits(static_cast<uint64_t>(k + 1023) << 52);
  return x < kMinArgument ? 0.0 : p * scale;
}

inline double FastExp(double x) { return ExpTemplate<12>(x); }
// Bounds are widened by kBoundRelativeError anyway: a shorter polynomial does.
inline double FastExpForBounds(double x) { return ExpTemplate<7>(x); }

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) double KernelSum(
    const KernelCentres& k, const geo::Vec3& at, double half_kappa) {
  double lane[kLanes] = {};
  const size_t full = k.n - k.n % kLanes;
  for (size_t i = 0; i < full; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const double dx = k.x[i + l] - at.x, dy = k.y[i + l] - at.y, dz = k.z[i + l] - at.z;
      lane[l] += k.w[i + l] * FastExp(-half_kappa * (dx * dx + dy * dy + dz * dz));
    }
  }
  double s = 0;
  for (size_t i = full; i < k.n; ++i) {
    const double dx = k.x[i] - at.x, dy = k.y[i] - at.y, dz = k.z[i] - at.z;
    s += k.w[i] * FastExp(-half_kappa * (dx * dx + dy * dy + dz * dz));
  }
  for (double v : lane) s += v;
  return s;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void KernelSumAndGradient(
    const KernelCentres& k, const geo::Vec3& at, double half_kappa, double* sum,
    geo::Vec3* gradient) {
  // d/dat w exp(-hk |at - v|^2) = 2 hk w exp(...) (v - at).
  double s[kLanes] = {}, gx[kLanes] = {}, gy[kLanes] = {}, gz[kLanes] = {};
  auto term = [&](size_t i, size_t l) {
    const double dx = k.x[i] - at.x, dy = k.y[i] - at.y, dz = k.z[i] - at.z;
    const double t = k.w[i] * FastExp(-half_kappa * (dx * dx + dy * dy + dz * dz));
    s[l] += t;
    gx[l] += t * dx;
    gy[l] += t * dy;
    gz[l] += t * dz;
  };
  const size_t full = k.n - k.n % kLanes;
  for (size_t i = 0; i < full; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) term(i + l, l);
  }
  for (size_t i = full; i < k.n; ++i) term(i, 0);
  double total = 0;
  geo::Vec3 g;
  for (size_t l = 0; l < kLanes; ++l) {
    total += s[l];
    g.x += gx[l];
    g.y += gy[l];
    g.z += gz[l];
  }
  *sum = total;
  *gradient = (2 * half_kappa) * g;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void KernelDistances(
    const KernelCentres& k, const geo::Vec3& centre, double* distance) {
  for (size_t i = 0; i < k.n; ++i) {
    const double dx = k.x[i] - centre.x, dy = k.y[i] - centre.y, dz = k.z[i] - centre.z;
    distance[i] = std::sqrt(dx * dx + dy * dy + dz * dz);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void KernelSumBoundsFromDistances(
    const KernelCentres& k, const double* distance, double rho, double half_kappa, double* lo,
    double* hi, double* near_exponent) {
  double lane_lo[kLanes] = {}, lane_hi[kLanes] = {};
  auto term = [&](size_t i, double* l_lo, double* l_hi) {
    const double d = distance[i];
    const double near = std::max(0.0, d - rho);
    const double far = std::min(2.0, d + rho);
    const double e_near = half_kappa * near * near;
    near_exponent[i] = e_near;
    *l_hi += k.w[i] * FastExpForBounds(-e_near);
    *l_lo += k.w[i] * FastExpForBounds(-half_kappa * far * far);
  };
  const size_t full = k.n - k.n % kLanes;
  for (size_t i = 0; i < full; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) term(i + l, &lane_lo[l], &lane_hi[l]);
  }
  double s_lo = 0, s_hi = 0;
  for (size_t i = full; i < k.n; ++i) term(i, &s_lo, &s_hi);
  for (size_t l = 0; l < kLanes; ++l) {
    s_lo += lane_lo[l];
    s_hi += lane_hi[l];
  }
  *lo = s_lo * (1 - kBoundRelativeError);
  *hi = s_hi * (1 + kBoundRelativeError) + k.w_sum * kUnderflow;
}

void KernelSumBounds(const KernelCentres& k, const geo::Vec3& centre, double rho, double half_kappa,
                     double* lo, double* hi, double* near_exponent) {
  thread_local std::vector<double> distance;
  distance.resize(k.n);
  KernelDistances(k, centre, distance.data());
  KernelSumBoundsFromDistances(k, distance.data(), rho, half_kappa, lo, hi, near_exponent);
}

double WeightSum(const double* w, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += w[i];
  return sum;
}

double ExpOfNonPositive(double x) { return FastExp(x); }

}  // namespace geoloc::calibration
