#include "core/geo/spherical_kde.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/common/status_macros.h"
#include "core/geo/distance.h"
#include "core/geo/peak_summary.h"
#include "core/geo/unit_vector.h"

namespace geoloc {
namespace geo {
namespace {

// exp(-40) = 4e-18: a term this small relative to the kernel's peak cannot move a mode.
constexpr double kUnderflowExponent = 40.0;
// A start has converged when its step is shorter than this fraction of h.
constexpr double kConvergenceFraction = 1e-4;
// A start joins a known mode when it comes this close (as a fraction of min(h, merge radius)):
// near a mode the ascent leads into it, and modes closer than the merge radius merge anyway.
constexpr double kEarlyExitFraction = 0.05;
// Successive mean-shift steps are stretched by up to this factor while they keep gaining density.
constexpr double kMaxRelaxation = 8;

// Chord length of a great-circle distance (capped at the antipode).
double ChordOfKm(double km) { return 2.0 * std::sin(0.5 * std::min(km / kEarthRadiusKm, kPi)); }

double SquaredChord(Vec3 a, Vec3 b) {
  const Vec3 d = a - b;
  return Dot(d, d);
}

// Distinct neighbour positions as unit vectors (structure of arrays for the kernel loop), with
// the summed weight of the neighbours at each.
struct DistinctPoints {
  std::vector<double> x, y, z, w;
  std::vector<int> of_neighbor;  // neighbour index -> distinct point index
  size_t size() const { return w.size(); }
  Vec3 at(size_t j) const { return {x[j], y[j], z[j]}; }
};

DistinctPoints Deduplicate(absl::Span<const Vec3> v, absl::Span<const double> w) {
  const size_t n = v.size();
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto key_less = [&](int a, int b) {
    if (v[a].x != v[b].x) return v[a].x < v[b].x;
    if (v[a].y != v[b].y) return v[a].y < v[b].y;
    return v[a].z < v[b].z;
  };
  std::sort(order.begin(), order.end(), key_less);  // equal keys merge, so order among them is moot
  DistinctPoints d;
  d.of_neighbor.resize(n);
  for (size_t r = 0; r < n; ++r) {
    const int i = order[r];
    const bool same = r > 0 && v[i].x == v[order[r - 1]].x && v[i].y == v[order[r - 1]].y &&
                      v[i].z == v[order[r - 1]].z;
    if (!same) {
      d.x.push_back(v[i].x);
      d.y.push_back(v[i].y);
      d.z.push_back(v[i].z);
      d.w.push_back(0.0);
    }
    d.w.back() += w[i];
    d.of_neighbor[i] = static_cast<int>(d.size()) - 1;
  }
  return d;
}

// Kernel-weighted moments of the offsets d_j = v_j - x of the points from x. Offsets rather than
// the v_j themselves keep metre-scale differences at full precision.
struct Moments {
  double s = 0;  // sum_j w_j K_j: the unnormalised density at x
  Vec3 d;        // sum_j w_j K_j d_j: s times the mean-shift vector
  // sum_j w_j K_j d_j d_j^T (symmetric): its trace is sum w K |d|^2 and its projection on the
  // tangent plane is the weighted scatter of the neighbourhood.
  double xx = 0, xy = 0, xz = 0, yy = 0, yz = 0, zz = 0;
};

// The hot loop: no trig, one exp per term within the cutoff.
Moments KernelMoments(const DistinctPoints& p, Vec3 x, double half_kappa, double cutoff_sq_chord) {
  const size_t n = p.size();
  const double* px = p.x.data();
  const double* py = p.y.data();
  const double* pz = p.z.data();
  const double* pw = p.w.data();
  Moments m;
  for (size_t j = 0; j < n; ++j) {
    const double dx = px[j] - x.x, dy = py[j] - x.y, dz = pz[j] - x.z;
    const double c2 = dx * dx + dy * dy + dz * dz;
    if (c2 > cutoff_sq_chord) continue;
    const double k = pw[j] * std::exp(-half_kappa * c2);
    const double kx = k * dx, ky = k * dy, kz = k * dz;
    m.s += k;
    m.d.x += kx;
    m.d.y += ky;
    m.d.z += kz;
    m.xx += kx * dx;
    m.xy += kx * dy;
    m.xz += kx * dz;
    m.yy += ky * dy;
    m.yz += ky * dz;
    m.zz += kz * dz;
  }
  return m;
}

// a^T M b for the symmetric matrix of m's second moments.
double Quadratic(const Moments& m, Vec3 a, Vec3 b) {
  return a.x * (m.xx * b.x + m.xy * b.y + m.xz * b.z) +
         a.y * (m.xy * b.x + m.yy * b.y + m.yz * b.z) +
         a.z * (m.xz * b.x + m.yz * b.y + m.zz * b.z);
}

// Unnormalised density only (for the peaks' reported density).
double KernelSum(const DistinctPoints& p, Vec3 x, double half_kappa, double cutoff_sq_chord) {
  double s = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    const double c2 = SquaredChord(x, p.at(j));
    if (c2 <= cutoff_sq_chord) s += p.w[j] * std::exp(-half_kappa * c2);
  }
  return s;
}

// An orthonormal basis (e1, e2) of the tangent plane at the unit vector x.
void TangentBasis(Vec3 x, Vec3* e1, Vec3* e2) {
  // Cross with the axis least aligned with x, so the cross product is never tiny.
  const double ax = std::abs(x.x), ay = std::abs(x.y), az = std::abs(x.z);
  const Vec3 axis =
      ax <= ay && ax <= az ? Vec3{1, 0, 0} : (ay <= az ? Vec3{0, 1, 0} : Vec3{0, 0, 1});
  const Vec3 c = Cross(axis, x);
  *e1 = (1.0 / Norm(c)) * c;
  *e2 = Cross(x, *e1);
}

// The Newton step for log f in the tangent plane (e1, e2) at x, or false when log f is not
// locally concave (the quadratic model has no maximum) or the step is longer than max_step.
//
// With offsets p_j = (d_j.e1, d_j.e2), b = sum w K p / s (the kernel-weighted mean offset) and
// Cov = sum w K p p^T / s - b b^T (their kernel-weighted covariance), the gradient of log f is
// kappa b and its Hessian is kappa (kappa Cov - c I) with c = 1 - sum w K |d|^2 / (2 s), the
// sphere's curvature term (the weighted mean of x.v_j). The step is -(kappa Cov - c I)^-1 b. For a
// single kernel it lands exactly on the kernel's centre (log f is quadratic there): that is why
// Newton runs on log f rather than on f. Concave iff the neighbourhood's kernel-weighted spread is
// below h in every direction.
bool NewtonStep(const Moments& m, Vec3 e1, Vec3 e2, double kappa, double max_step, double* t1,
                double* t2) {
  const double b1 = Dot(m.d, e1) / m.s, b2 = Dot(m.d, e2) / m.s;
  const double c = 1.0 - 0.5 * (m.xx + m.yy + m.zz) / m.s;
  const double a11 = kappa * (Quadratic(m, e1, e1) / m.s - b1 * b1) - c;
  const double a12 = kappa * (Quadratic(m, e1, e2) / m.s - b1 * b2);
  const double a22 = kappa * (Quadratic(m, e2, e2) / m.s - b2 * b2) - c;
  const double det = a11 * a22 - a12 * a12;
  if (!(a11 < 0 && a22 < 0 && det > 0)) return false;
  *t1 = -(a22 * b1 - a12 * b2) / det;
  *t2 = -(a11 * b2 - a12 * b1) / det;
  return std::hypot(*t1, *t2) <= max_step;
}

struct Mode {
  Vec3 x;
  double kde_sum = 0;  // unnormalised sum_j w_j K_j near x, for ordering the merge
};

}  // namespace

double VmfConcentration(double bandwidth_km) {
  const double r = kEarthRadiusKm / bandwidth_km;
  return r * r;
}

double SphericalKdeDensity(absl::Span<const LatLon> positions, absl::Span<const double> weights,
                           double bandwidth_km, LatLon at) {
  const double kappa = VmfConcentration(bandwidth_km);
  const Vec3 x = ToUnitVector(at);
  double sum = 0, total = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    total += weights[i];
    const double e = 0.5 * kappa * SquaredChord(x, ToUnitVector(positions[i]));
    if (e < kUnderflowExponent) sum += weights[i] * std::exp(-e);
  }
  const double c =
      kappa / (2.0 * kPi * kEarthRadiusKm * kEarthRadiusKm * -std::expm1(-2.0 * kappa));
  return c * sum / total;
}

absl::StatusOr<std::vector<Peak>> FindSphericalKdePeaks(absl::Span<const LatLon> positions,
                                                        absl::Span<const double> weights,
                                                        const EstimatorOptions& options) {
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorOptions(options));
  GEOLOC_RETURN_IF_ERROR(ValidateEstimatorWeights(positions, weights));
  GEOLOC_RETURN_IF_ERROR(ValidatePositions(positions));
  const size_t k = positions.size();
  std::vector<Vec3> v(k);
  std::vector<double> w(weights.begin(), weights.end());
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (size_t i = 0; i < k; ++i) {
    v[i] = ToUnitVector(positions[i]);
    w[i] /= total;
  }
  const DistinctPoints pts = Deduplicate(v, w);

  const double h = options.bandwidth_km;
  const double merge_km = EffectiveMergeRadiusKm(options);
  const double kappa = VmfConcentration(h);
  const double half_kappa = 0.5 * kappa;
  const double cutoff_sq_chord = kUnderflowExponent / half_kappa;
  const double tol_sq_chord = std::pow(ChordOfKm(kConvergenceFraction * h), 2);
  const double exit_sq_chord = std::pow(ChordOfKm(kEarlyExitFraction * std::min(h, merge_km)), 2);
  const double merge_sq_chord = std::pow(ChordOfKm(merge_km), 2);
  const double max_step = h / kEarthRadiusKm;

  // Heaviest starts first: their modes are found first and the lighter starts exit early.
  std::vector<int> starts(pts.size());
  std::iota(starts.begin(), starts.end(), 0);
  std::stable_sort(starts.begin(), starts.end(), [&](int a, int b) { return pts.w[a] > pts.w[b]; });

  std::vector<Mode> modes;
  std::vector<int> mode_of_point(pts.size(), -1);
  for (const int s : starts) {
    Vec3 x = pts.at(s);
    double kde_sum = 0;        // density at the last accepted position
    Vec3 fallback;             // the plain mean-shift point of the previous position
    bool accelerated = false;  // the last step was Newton or over-relaxed: check it gained density
    double relax = 1;          // over-relaxation factor of the next mean-shift step
    int joined = -1;
    for (int it = 0;; ++it) {
      for (size_t m = 0; m < modes.size(); ++m) {
        if (SquaredChord(x, modes[m].x) < exit_sq_chord) {
          joined = static_cast<int>(m);
          break;
        }
      }
      if (joined >= 0 || it == options.max_iterations) break;
      const Moments mo = KernelMoments(pts, x, half_kappa, cutoff_sq_chord);
      if (accelerated && mo.s < kde_sum * (1 - 1e-12)) {
        // The step lost density: take the plain mean-shift step, which always ascends.
        x = fallback;
        accelerated = false;
        relax = 1;
        continue;
      }
      // No pull at all (a zero-weight point alone): x is the mode.
      if (!(mo.s > 0)) break;
      // Mean-shift: normalize(sum w K v) = normalize(x + sum w K d / s).
      const Vec3 shift = (1.0 / mo.s) * mo.d;
      const Vec3 mean = x + shift;
      const double len = Norm(mean);
      if (!(len > 0)) break;  // a neighbourhood that cancels (global bandwidth): stay
      const Vec3 plain = (1.0 / len) * mean;
      Vec3 next = plain;
      accelerated = false;
      Vec3 e1, e2;
      TangentBasis(x, &e1, &e2);
      double t1, t2;
      if (NewtonStep(mo, e1, e2, kappa, max_step, &t1, &t2)) {
        next = x + t1 * e1 + t2 * e2;
        accelerated = true;
      } else {
        const double shift_len = Norm(shift);
        const double lambda = std::min(relax, std::max(1.0, max_step / shift_len));
        if (lambda > 1) {
          next = x + lambda * shift;
          accelerated = true;
        }
        relax = std::min(2 * relax, kMaxRelaxation);
      }
      if (accelerated) {
        next = (1.0 / Norm(next)) * next;
        fallback = plain;
      }
      const double step = SquaredChord(next, x);
      x = next;
      kde_sum = mo.s;
      if (step < tol_sq_chord) break;
    }
    if (joined < 0) {
      modes.push_back({x, kde_sum});
      joined = static_cast<int>(modes.size()) - 1;
    }
    mode_of_point[s] = joined;
  }

  // Merge: densest first, each mode joins the first kept mode within the merge radius.
  std::vector<int> by_density(modes.size());
  std::iota(by_density.begin(), by_density.end(), 0);
  std::stable_sort(by_density.begin(), by_density.end(),
                   [&](int a, int b) { return modes[a].kde_sum > modes[b].kde_sum; });
  std::vector<int> kept;  // mode indices of the surviving peaks
  std::vector<int> peak_of_mode(modes.size(), -1);
  for (const int m : by_density) {
    for (size_t p = 0; p < kept.size(); ++p) {
      if (SquaredChord(modes[m].x, modes[kept[p]].x) <= merge_sq_chord) {
        peak_of_mode[m] = static_cast<int>(p);
        break;
      }
    }
    if (peak_of_mode[m] < 0) {
      peak_of_mode[m] = static_cast<int>(kept.size());
      kept.push_back(m);
    }
  }

  const double norm_c =
      kappa / (2.0 * kPi * kEarthRadiusKm * kEarthRadiusKm * -std::expm1(-2.0 * kappa));
  const double kernel_radius = GaussianContainmentRadiusKm(h, options.mass_share);
  std::vector<Peak> peaks(kept.size());
  for (size_t p = 0; p < kept.size(); ++p) {
    peaks[p].pos = FromUnitVector(modes[kept[p]].x);
    peaks[p].density = norm_c * KernelSum(pts, modes[kept[p]].x, half_kappa, cutoff_sq_chord);
  }
  for (size_t i = 0; i < k; ++i) {  // ascending, so neighbor_indices come out sorted
    Peak& peak = peaks[peak_of_mode[mode_of_point[pts.of_neighbor[i]]]];
    peak.mass += w[i];
    ++peak.support;
    peak.neighbor_indices.push_back(static_cast<int>(i));
  }
  std::vector<double> dist, basin_w;
  for (Peak& peak : peaks) {
    dist.clear();
    basin_w.clear();
    for (int i : peak.neighbor_indices) {
      dist.push_back(HaversineKm(peak.pos, positions[i]));
      basin_w.push_back(w[i]);
    }
    peak.radius_km =
        CombineRadii(WeightedQuantile(dist, basin_w, options.mass_share), kernel_radius);
  }

  std::sort(peaks.begin(), peaks.end(), [](const Peak& a, const Peak& b) {
    if (a.mass != b.mass) return a.mass > b.mass;
    if (a.density != b.density) return a.density > b.density;
    return a.neighbor_indices.front() < b.neighbor_indices.front();
  });
  if (options.max_peaks > 0 && peaks.size() > static_cast<size_t>(options.max_peaks)) {
    peaks.resize(options.max_peaks);
  }
  return peaks;
}

}  // namespace geo
}  // namespace geoloc
