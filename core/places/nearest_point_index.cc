#include "core/places/nearest_point_index.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "core/geo/unit_vector.h"

namespace geoloc::places {
namespace {

// A subtree still to search, with the squared distance from the query to its half-space (a lower
// bound on the distance to any point in it).
struct Pending {
  uint32_t lo;
  uint32_t hi;
  double bound;
};

}  // namespace

NearestPointIndex::NearestPointIndex(absl::Span<const geo::LatLon> points) {
  const size_t n = points.size();
  x_.resize(n);
  y_.resize(n);
  z_.resize(n);
  axis_.assign(n, 0);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0u);
  for (size_t i = 0; i < n; ++i) {
    const geo::Vec3 v = geo::ToUnitVector(points[i]);
    x_[i] = v.x;
    y_[i] = v.y;
    z_[i] = v.z;
  }
  Build(0, n);
}

void NearestPointIndex::Build(size_t lo, size_t hi) {
  // Iterative over the left/right halves with an explicit stack: a degenerate set (many copies of
  // one point) must not overflow the call stack.
  std::vector<std::pair<size_t, size_t>> todo{{lo, hi}};
  std::vector<size_t> perm;
  while (!todo.empty()) {
    auto [a, b] = todo.back();
    todo.pop_back();
    if (b - a <= 1) continue;
    const std::array<const std::vector<double>*, 3> coords{&x_, &y_, &z_};
    // The widest axis of this subtree's points.
    int axis = 0;
    double widest = -1;
    for (int k = 0; k < 3; ++k) {
      const auto [mn, mx] = std::minmax_element(coords[k]->begin() + a, coords[k]->begin() + b);
      if (*mx - *mn > widest) {
        widest = *mx - *mn;
        axis = k;
      }
    }
    const size_t m = (a + b) / 2;
    perm.resize(b - a);
    std::iota(perm.begin(), perm.end(), a);
    const std::vector<double>& key = *coords[axis];
    std::nth_element(perm.begin(), perm.begin() + (m - a), perm.end(),
                     [&key](size_t i, size_t j) { return key[i] < key[j]; });
    // Apply the permutation to the subtree's slices.
    auto apply = [&](auto& column) {
      using T = typename std::decay_t<decltype(column)>::value_type;
      std::vector<T> slice(b - a);
      for (size_t i = 0; i < perm.size(); ++i) slice[i] = column[perm[i]];
      std::copy(slice.begin(), slice.end(), column.begin() + a);
    };
    apply(x_);
    apply(y_);
    apply(z_);
    apply(order_);
    axis_[m] = static_cast<uint8_t>(axis);
    todo.push_back({a, m});
    todo.push_back({m + 1, b});
  }
}

std::optional<size_t> NearestPointIndex::Nearest(geo::LatLon p) const {
  if (order_.empty() || !std::isfinite(p.lat) || !std::isfinite(p.lon)) return std::nullopt;
  const geo::Vec3 q = geo::ToUnitVector({std::clamp(p.lat, -90.0, 90.0), p.lon});
  const std::array<double, 3> qa{q.x, q.y, q.z};
  const std::array<const double*, 3> coords{x_.data(), y_.data(), z_.data()};

  size_t best = 0;
  double best_d2 = INFINITY;
  // Depth-first, nearer half first; a subtree is skipped when its half-space is farther than the
  // best point so far. Each step pops one subtree and pushes its two halves, so the stack never
  // holds more than the tree's depth plus one (33 for 2^32 points).
  std::array<Pending, 64> stack;
  size_t top = 0;
  stack[top++] = {0, static_cast<uint32_t>(order_.size()), 0.0};
  while (top > 0) {
    const Pending s = stack[--top];
    if (s.lo >= s.hi || s.bound >= best_d2) continue;
    const uint32_t m = (s.lo + s.hi) / 2;
    const double dx = x_[m] - q.x, dy = y_[m] - q.y, dz = z_[m] - q.z;
    const double d2 = dx * dx + dy * dy + dz * dz;
    if (d2 < best_d2) {
      best_d2 = d2;
      best = m;
    }
    const int axis = axis_[m];
    const double diff = qa[axis] - coords[axis][m];
    const double plane_d2 = diff * diff;
    // Lower side: positions [lo, m) hold keys <= the node's; upper side (m, hi) keys >= it.
    const Pending lower{s.lo, m, diff < 0 ? s.bound : std::max(s.bound, plane_d2)};
    const Pending upper{m + 1, s.hi, diff < 0 ? std::max(s.bound, plane_d2) : s.bound};
    // Push the farther side first so the nearer one is searched first.
    stack[top++] = diff < 0 ? upper : lower;
    stack[top++] = diff < 0 ? lower : upper;
  }
  return order_[best];
}

}  // namespace geoloc::places
