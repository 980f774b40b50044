#include "core/calibration/vmf_kde_component.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/calibration/kernel_sums.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"

namespace geoloc::calibration {
namespace {

// Beyond this many deviations from the disc's edge a Gaussian's mass is 0 or 1 to double precision.
constexpr double kMassTailSigmas = 8.0;

absl::Status ValidateBandwidth(double bandwidth_km) {
  if (!(bandwidth_km > 0 && bandwidth_km <= geo::kHalfCircumferenceKm)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel bandwidth must be in (0, ", geo::kHalfCircumferenceKm, "] km, got ", bandwidth_km));
  }
  return absl::OkStatus();
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Per-thread buffers: a subset's kernels gathered into contiguous arrays, and their exponents; and
// the distances from the last cell centre to every kernel of the last kernel set bounded over all
// its terms (an answer's narrow, broad and regional terms share their kernels: the three are
// bounded over a cell one after the other, and need the distances once).
struct Scratch {
  std::vector<double> x, y, z, w, near;
  uint64_t distances_of = 0;  // VmfKdeComponent::kernels_id_; 0: none
  geo::Vec3 distances_from;
  std::vector<double> distances;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

double GaussianMassWithin(double d, double t, double sigma) {
  if (!(t > 0)) return 0.0;
  if (t - d > kMassTailSigmas * sigma) return 1.0;
  if (d - t > kMassTailSigmas * sigma) return 0.0;
  // R^2 / sigma^2 is non-central chi-square with 2 degrees of freedom and non-centrality
  // lambda = (d / sigma)^2; Sankaran (1959) maps it to a normal variate.
  const double nu = 2.0;
  const double lambda = (d / sigma) * (d / sigma);
  const double x = (t / sigma) * (t / sigma);
  const double h = 1.0 - (2.0 / 3.0) * (nu + lambda) * (nu + 3 * lambda) /
                             ((nu + 2 * lambda) * (nu + 2 * lambda));
  const double p = (nu + 2 * lambda) / ((nu + lambda) * (nu + lambda));
  const double m = (h - 1) * (1 - 3 * h);
  const double mean = 1 + h * p * (h - 1 - 0.5 * (2 - h) * m * p);
  const double sd = h * std::sqrt(2 * p) * (1 + 0.5 * m * p);
  return NormalCdf((std::pow(x / (nu + lambda), h) - mean) / sd);
}

absl::StatusOr<VmfKdeComponent> VmfKdeComponent::Create(absl::Span<const geo::LatLon> positions,
                                                        absl::Span<const double> weights,
                                                        double bandwidth_km) {
  if (positions.empty()) {
    return absl::InvalidArgumentError("a kernel density needs at least one position");
  }
  if (positions.size() != weights.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(positions.size(), " positions but ", weights.size(), " weights"));
  }
  GEOLOC_RETURN_IF_ERROR(ValidateBandwidth(bandwidth_km));
  double total = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    if (absl::Status s = geo::ValidateLatLon(positions[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("position ", i, ": ", s.message()));
    }
    if (!(weights[i] >= 0) || !std::isfinite(weights[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("weight ", i, " is ", weights[i], ": weights must be finite and >= 0"));
    }
    total += weights[i];
  }
  if (!(total > 0)) return absl::InvalidArgumentError("every kernel weight is 0");

  // Distinct positions (exactly equal unit vectors merge) with positive weight.
  std::vector<geo::Vec3> v(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) v[i] = geo::ToUnitVector(positions[i]);
  std::vector<int> order(positions.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (v[a].x != v[b].x) return v[a].x < v[b].x;
    if (v[a].y != v[b].y) return v[a].y < v[b].y;
    return v[a].z < v[b].z;
  });
  VmfKdeComponent c;
  for (size_t r = 0; r < order.size(); ++r) {
    const int i = order[r];
    if (weights[i] == 0) continue;
    const bool same =
        !c.w_.empty() && v[i].x == c.x_.back() && v[i].y == c.y_.back() && v[i].z == c.z_.back();
    if (!same) {
      c.x_.push_back(v[i].x);
      c.y_.push_back(v[i].y);
      c.z_.push_back(v[i].z);
      c.w_.push_back(0.0);
    }
    c.w_.back() += weights[i] / total;
  }
  c.kernels_id_ = NewKernelsId();
  c.SetBandwidth(bandwidth_km);
  return c;
}

uint64_t VmfKdeComponent::NewKernelsId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

absl::StatusOr<VmfKdeComponent> VmfKdeComponent::WithBandwidth(double bandwidth_km) const {
  GEOLOC_RETURN_IF_ERROR(ValidateBandwidth(bandwidth_km));
  VmfKdeComponent c;
  c.x_ = x_;
  c.y_ = y_;
  c.z_ = z_;
  c.w_ = w_;
  c.kernels_id_ = kernels_id_;
  c.SetBandwidth(bandwidth_km);
  return c;
}

void VmfKdeComponent::SetBandwidth(double bandwidth_km) {
  bandwidth_km_ = bandwidth_km;
  const double kappa = (geo::kEarthRadiusKm / bandwidth_km) * (geo::kEarthRadiusKm / bandwidth_km);
  half_kappa_ = 0.5 * kappa;
  log_norm_ = std::log(kappa) - std::log(2 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm) -
              std::log(-std::expm1(-2 * kappa));
  norm_ = std::exp(log_norm_);
  log_cw_.clear();
  for (double w : w_) log_cw_.push_back(log_norm_ + std::log(w));
  w_sum_ = WeightSum(w_.data(), w_.size());
}

double VmfKdeComponent::Density(const geo::Vec3& x) const {
  return DensityOfTerms(x, TermSubset{});
}

double VmfKdeComponent::LogDensity(const geo::Vec3& x) const {
  // log-sum-exp of log w_i - kappa c_i^2 / 2.
  double top = -std::numeric_limits<double>::infinity();
  std::vector<double> e(w_.size());
  for (size_t i = 0; i < w_.size(); ++i) {
    const double dx = x_[i] - x.x, dy = y_[i] - x.y, dz = z_[i] - x.z;
    e[i] = std::log(w_[i]) - half_kappa_ * (dx * dx + dy * dy + dz * dz);
    top = std::max(top, e[i]);
  }
  double s = 0;
  for (double ei : e) s += std::exp(ei - top);
  return log_norm_ + top + std::log(s);
}

KernelCentres VmfKdeComponent::Gather(const TermSubset& terms) const {
  if (terms.all) return {x_.data(), y_.data(), z_.data(), w_.data(), w_.size(), w_sum_};
  Scratch& b = ThreadScratch();
  const size_t n = terms.indices.size();
  b.x.resize(n);
  b.y.resize(n);
  b.z.resize(n);
  b.w.resize(n);
  double w_sum = 0;  // WeightSum of the gathered weights, in their order
  for (size_t r = 0; r < n; ++r) {
    const size_t i = static_cast<size_t>(terms.indices[r]);
    b.x[r] = x_[i];
    b.y[r] = y_[i];
    b.z[r] = z_[i];
    b.w[r] = w_[i];
    w_sum += w_[i];
  }
  return {b.x.data(), b.y.data(), b.z.data(), b.w.data(), n, w_sum};
}

double VmfKdeComponent::DensityOfTerms(const geo::Vec3& x, const TermSubset& terms) const {
  return norm_ * KernelSum(Gather(terms), x, half_kappa_);
}

void VmfKdeComponent::DensityAndGradientOfTerms(const geo::Vec3& x, const TermSubset& terms,
                                                double* value, geo::Vec3* gradient) const {
  KernelSumAndGradient(Gather(terms), x, half_kappa_, value, gradient);
  *value *= norm_;
  *gradient = norm_ * *gradient;
}

void VmfKdeComponent::KernelBounds(const cells::CellGeometry& disc, const TermSubset& terms,
                                   double* lo, double* hi, double* near) const {
  const KernelCentres k = Gather(terms);
  if (!terms.all) {
    KernelSumBounds(k, disc.centre, disc.outer_chord, half_kappa_, lo, hi, near);
    return;
  }
  Scratch& b = ThreadScratch();
  if (b.distances_of != kernels_id_ || b.distances_from.x != disc.centre.x ||
      b.distances_from.y != disc.centre.y || b.distances_from.z != disc.centre.z) {
    b.distances.resize(k.n);
    KernelDistances(k, disc.centre, b.distances.data());
    b.distances_of = kernels_id_;
    b.distances_from = disc.centre;
  }
  KernelSumBoundsFromDistances(k, b.distances.data(), disc.outer_chord, half_kappa_, lo, hi, near);
}

TermBounds VmfKdeComponent::BoundsOverTerms(cells::CellId, const cells::CellGeometry& disc,
                                            const TermSubset& terms, double negligible,
                                            std::vector<int32_t>* kept) const {
  Scratch& b = ThreadScratch();
  b.near.resize(terms.all ? w_.size() : terms.indices.size());
  double lo = 0, hi = 0;
  KernelBounds(disc, terms, &lo, &hi, b.near.data());
  TermBounds out;
  out.bounds = {norm_ * lo, norm_ * hi};
  Prune(terms, b.near.data(), negligible, kept, &out);
  return out;
}

void VmfKdeComponent::MemoiseTerms(const cells::CellGeometry& disc, const TermSubset& terms,
                                   double* memo) const {
  double lo = 0, hi = 0;
  KernelBounds(disc, terms, &lo, &hi, memo + 2);
  memo[0] = norm_ * lo;
  memo[1] = norm_ * hi;
}

TermBounds VmfKdeComponent::BoundsFromTermsMemo(const TermSubset& terms, const double* memo,
                                                double negligible,
                                                std::vector<int32_t>* kept) const {
  TermBounds out;
  out.bounds = {memo[0], memo[1]};
  Prune(terms, memo + 2, negligible, kept, &out);
  return out;
}

void VmfKdeComponent::Prune(const TermSubset& terms, const double* near, double negligible,
                            std::vector<int32_t>* kept, TermBounds* out) const {
  if (!(negligible > 0) || kept == nullptr) return;
  // The kernels that cannot reach `negligible` anywhere in the cell are left out of its
  // descendants (each counted there at `negligible`).
  const size_t n = terms.all ? w_.size() : terms.indices.size();
  const double log_negligible = std::log(negligible);
  // Branch-free compaction: every index is written, the kept ones advance the end.
  const size_t before = kept->size();
  kept->resize(before + n);
  int32_t* const to = kept->data() + before;
  size_t count = 0;
  for (size_t r = 0; r < n; ++r) {
    const size_t i = terms.all ? r : static_cast<size_t>(terms.indices[r]);
    to[count] = static_cast<int32_t>(i);
    count += near[r] < log_cw_[i] - log_negligible;
  }
  const size_t left_out = n - count;
  out->pruned = left_out > 0;
  out->left_out_hi = static_cast<double>(left_out) * negligible;
  kept->resize(out->pruned ? before + count : before);
}

void VmfKdeComponent::AppendSuperlevelCover(double t, std::vector<cells::SphereCap>* caps) const {
  if (!(t > 0)) {
    caps->push_back({{x_[0], y_[0], z_[0]}, 2.0});
    return;
  }
  if (t > norm_) return;  // no kernel reaches t, so neither does their weighted mean
  const double chord = std::sqrt(std::log(norm_ / t) / half_kappa_);
  for (size_t i = 0; i < w_.size(); ++i) {
    caps->push_back({{x_[i], y_[i], z_[i]}, std::min(2.0, chord)});
  }
}

double VmfKdeComponent::MassWithin(const geo::Vec3& x, double distance_km) const {
  double mass = 0;
  for (size_t i = 0; i < w_.size(); ++i) {
    const double dx = x_[i] - x.x, dy = y_[i] - x.y, dz = z_[i] - x.z;
    const double chord = std::sqrt(dx * dx + dy * dy + dz * dz);
    const double d_km = 2.0 * std::asin(std::min(1.0, 0.5 * chord)) * geo::kEarthRadiusKm;
    mass += w_[i] * GaussianMassWithin(d_km, distance_km, bandwidth_km_);
  }
  return std::min(1.0, mass);
}

}  // namespace geoloc::calibration
