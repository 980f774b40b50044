// Spherical polygon checks for the PIDF-LO tests, computed independently of the code under test:
// unit vectors, distances to great-circle arcs, and a crossing-number test in the gnomonic plane
// centred on the tested point (where arcs are straight segments).
//
//   EXPECT_GE(MinDistanceInsideM(polygon, p), 0.01);  // p inside, at least 1 cm from every edge
//
// Pure functions: thread-safe.
#ifndef GEOLOC_TESTS_CLIENT_SPHERE_CHECKS_H_
#define GEOLOC_TESTS_CLIENT_SPHERE_CHECKS_H_

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/lat_lon.h"
#include "core/geo/unit_vector.h"

namespace geoloc::client::sphere_checks {

// Signed distance in metres from p to the great circle through a and b, positive on its left.
inline double LeftOfEdgeM(geo::LatLon a, geo::LatLon b, geo::LatLon p) {
  const geo::Vec3 va = geo::ToUnitVector(a);
  const geo::Vec3 vb = geo::ToUnitVector(b);
  // a x (b - a) == a x b, with less cancellation for short edges.
  geo::Vec3 normal = geo::Cross(va, vb - va);
  normal = (1.0 / geo::Norm(normal)) * normal;
  const double s = std::clamp(geo::Dot(normal, geo::ToUnitVector(p)), -1.0, 1.0);
  return std::asin(s) * geo::kEarthRadiusKm * 1000.0;
}

// Distance in metres from p to the arc from a to b (the shorter great-circle arc).
inline double DistanceToArcM(geo::LatLon a, geo::LatLon b, geo::LatLon p) {
  const geo::Vec3 va = geo::ToUnitVector(a);
  const geo::Vec3 vb = geo::ToUnitVector(b);
  const geo::Vec3 vp = geo::ToUnitVector(p);
  const double to_ends_m = std::min(geo::HaversineKm(a, p), geo::HaversineKm(b, p)) * 1000.0;
  geo::Vec3 normal = geo::Cross(va, vb - va);
  const double norm = geo::Norm(normal);
  if (norm == 0) return to_ends_m;
  normal = (1.0 / norm) * normal;
  // The foot of p on the great circle lies on the arc when it is between a and b.
  const geo::Vec3 foot = vp - geo::Dot(vp, normal) * normal;
  const bool on_arc =
      geo::Dot(geo::Cross(va, foot), normal) >= 0 && geo::Dot(geo::Cross(foot, vb), normal) >= 0;
  if (!on_arc) return to_ends_m;
  return std::abs(std::asin(std::clamp(geo::Dot(normal, vp), -1.0, 1.0))) * geo::kEarthRadiusKm *
         1000.0;
}

// Whether p is inside the open ring (any simple ring within p's hemisphere): crossings of a ray
// from p in the gnomonic plane centred on p, where the ring's arcs are straight segments.
inline bool InsideRing(const std::vector<geo::LatLon>& ring, geo::LatLon p) {
  const geo::EastNorthUp frame = geo::EastNorthUpAt(p);
  std::vector<std::pair<double, double>> q;
  for (const geo::LatLon& v : ring) {
    const geo::Vec3 u = geo::ToUnitVector(v);
    const double w = geo::Dot(u, frame.up);
    if (w <= 0) return false;  // not in p's hemisphere: these rings never reach that far
    q.push_back({geo::Dot(u, frame.east) / w, geo::Dot(u, frame.north) / w});
  }
  bool inside = false;
  for (size_t i = 0, j = q.size() - 1; i < q.size(); j = i++) {
    const auto [xi, yi] = q[i];
    const auto [xj, yj] = q[j];
    if ((yi > 0) != (yj > 0) && 0 < xi + (0 - yi) * (xj - xi) / (yj - yi)) inside = !inside;
  }
  return inside;
}

// How far inside the open ring p is, metres (its distance to the nearest edge arc); negative
// (minus that distance) when p is outside.
inline double MinDistanceInsideM(const std::vector<geo::LatLon>& ring, geo::LatLon p) {
  double min = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < ring.size(); ++i) {
    min = std::min(min, DistanceToArcM(ring[i], ring[(i + 1) % ring.size()], p));
  }
  return InsideRing(ring, p) ? min : -min;
}

// Twice the signed area of the open ring in the gnomonic plane at its first vertex's
// antipode-free centre (the mean of its vertices): > 0 when counter-clockwise seen from outside.
inline double OrientedArea(const std::vector<geo::LatLon>& ring) {
  geo::Vec3 sum;
  for (const geo::LatLon& v : ring) sum = sum + geo::ToUnitVector(v);
  const geo::EastNorthUp frame = geo::EastNorthUpAt(geo::FromUnitVector(sum));
  double twice = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    const geo::Vec3 a = geo::ToUnitVector(ring[i]);
    const geo::Vec3 b = geo::ToUnitVector(ring[(i + 1) % ring.size()]);
    const double wa = geo::Dot(a, frame.up);
    const double wb = geo::Dot(b, frame.up);
    twice += geo::Dot(a, frame.east) / wa * geo::Dot(b, frame.north) / wb -
             geo::Dot(b, frame.east) / wb * geo::Dot(a, frame.north) / wa;
  }
  return twice;
}

// The smallest left turn of an open ring, in metres off the previous edge's great circle: > 0
// for a strictly convex counter-clockwise ring (collinear points give about 0).
inline double MinLeftTurnM(const std::vector<geo::LatLon>& ring) {
  double min = std::numeric_limits<double>::infinity();
  const size_t n = ring.size();
  for (size_t i = 0; i < n; ++i) {
    min = std::min(min, LeftOfEdgeM(ring[i], ring[(i + 1) % n], ring[(i + 2) % n]));
  }
  return min;
}

inline double LongestEdgeKm(const std::vector<geo::LatLon>& ring) {
  double longest = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    longest = std::max(longest, geo::HaversineKm(ring[i], ring[(i + 1) % ring.size()]));
  }
  return longest;
}

}  // namespace geoloc::client::sphere_checks

#endif  // GEOLOC_TESTS_CLIENT_SPHERE_CHECKS_H_
