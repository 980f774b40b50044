#include "proto/outer_polygon.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"

namespace geoloc::pidf {
namespace {

using geo::Vec3;

// Vertices further than this from the ring's mean direction are refused: the gnomonic plane
// stretches by 1/cos^2 and a convex polygon must stay well inside one hemisphere.
constexpr double kMaxSpreadDeg = 75.0;
// Points created by the reduction may go a little further, never near the horizon.
constexpr double kMaxVertexDeg = 85.0;
// Shorter edges are merged away where cheap: rounding written coordinates would turn them.
constexpr double kMinEdgeM = 1.0;

struct P2 {
  double x = 0;
  double y = 0;
};
P2 operator-(P2 a, P2 b) { return {a.x - b.x, a.y - b.y}; }
P2 operator+(P2 a, P2 b) { return {a.x + b.x, a.y + b.y}; }
P2 operator*(double s, P2 a) { return {s * a.x, s * a.y}; }
double Cross(P2 a, P2 b) { return a.x * b.y - a.y * b.x; }
double Length(P2 a) { return std::hypot(a.x, a.y); }

// The gnomonic projection centred on `up`: great circles are straight lines.
class Gnomonic {
 public:
  explicit Gnomonic(const geo::EastNorthUp& frame) : frame_(frame) {}
  // The cosine of the angle from the centre, and the projected point (valid when cos > 0).
  double CosFromCentre(Vec3 v) const { return geo::Dot(v, frame_.up); }
  P2 Project(Vec3 v) const {
    const double w = geo::Dot(v, frame_.up);
    return {geo::Dot(v, frame_.east) / w, geo::Dot(v, frame_.north) / w};
  }
  Vec3 Unproject(P2 p) const {
    const Vec3 v = frame_.up + p.x * frame_.east + p.y * frame_.north;
    return (1.0 / geo::Norm(v)) * v;
  }

 private:
  geo::EastNorthUp frame_;
};

double SignedArea(const std::vector<P2>& ring) {
  double twice = 0;
  for (size_t i = 0; i < ring.size(); ++i) twice += Cross(ring[i], ring[(i + 1) % ring.size()]);
  return twice / 2;
}

// Andrew's monotone chain; counter-clockwise, collinear points dropped.
std::vector<P2> ConvexHull(std::vector<P2> points) {
  std::sort(points.begin(), points.end(),
            [](P2 a, P2 b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  points.erase(std::unique(points.begin(), points.end(),
                           [](P2 a, P2 b) { return a.x == b.x && a.y == b.y; }),
               points.end());
  if (points.size() < 3) return points;
  std::vector<P2> hull(2 * points.size());
  size_t k = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    while (k >= 2 && Cross(hull[k - 1] - hull[k - 2], points[i] - hull[k - 2]) <= 0) --k;
    hull[k++] = points[i];
  }
  for (size_t i = points.size() - 1, lower = k + 1; i-- > 0;) {
    while (k >= lower && Cross(hull[k - 1] - hull[k - 2], points[i] - hull[k - 2]) <= 0) --k;
    hull[k++] = points[i];
  }
  hull.resize(k - 1);  // the last point repeats the first
  return hull;
}

// Removing edge (i, i+1) of a convex counter-clockwise polygon: extend edge (i-1, i) beyond i and
// edge (i+2, i+1) beyond i+1 to their meeting point. Returns false when they do not meet on the
// outside (exterior angles summing to 180 degrees or more) or meet beyond `max_radius`.
bool MeetingPoint(const std::vector<P2>& poly, size_t i, double max_radius, P2* meet,
                  double* added_area) {
  const size_t n = poly.size();
  const P2 prev = poly[(i + n - 1) % n];
  const P2 a = poly[i];
  const P2 b = poly[(i + 1) % n];
  const P2 next = poly[(i + 2) % n];
  const P2 d1 = a - prev;  // direction of the edge arriving at a
  const P2 d2 = b - next;  // direction of the edge arriving at b, walked backwards
  const double denom = Cross(d1, d2);
  // The lines a + t d1 and b + s d2 meet ahead of both (t, s >= 0) only when the two exterior
  // angles sum to less than 180 degrees; parallel lines (exactly 180) never meet.
  if (denom == 0) return false;
  const double t = Cross(b - a, d2) / denom;
  const double s = Cross(b - a, d1) / denom;
  if (!(t >= 0) || !(s >= 0)) return false;
  const P2 p = a + t * d1;
  if (!(Length(p) <= max_radius)) return false;
  *meet = p;
  *added_area = std::abs(Cross(a - p, b - p)) / 2;
  return true;
}

}  // namespace

absl::StatusOr<std::vector<geo::LatLon>> OuterPolygon(absl::Span<const geo::LatLon> ring,
                                                      const OuterPolygonOptions& options) {
  if (options.max_vertices < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_vertices must be at least 4, got ", options.max_vertices));
  }
  if (!(options.max_edge_km > 0)) {
    return absl::InvalidArgumentError("max_edge_km must be positive");
  }
  if (!(options.margin_m >= 0) || !std::isfinite(options.margin_m)) {
    return absl::InvalidArgumentError("margin_m must be finite and >= 0");
  }
  if (ring.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ring needs at least 3 vertices, got ", ring.size()));
  }
  std::vector<Vec3> vertices;
  vertices.reserve(ring.size());
  Vec3 sum;
  for (size_t i = 0; i < ring.size(); ++i) {
    if (absl::Status valid = geo::ValidateLatLon(ring[i]); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ring vertex ", i, ": ", valid.message()));
    }
    vertices.push_back(geo::ToUnitVector(ring[i]));
    sum = sum + vertices.back();
  }
  if (geo::Norm(sum) < 1e-9 * static_cast<double>(ring.size())) {
    return absl::OutOfRangeError("the ring's vertices surround the globe: no mean direction");
  }
  const Gnomonic plane(geo::EastNorthUpAt(geo::FromUnitVector(sum)));

  const double min_cos = std::cos(kMaxSpreadDeg * geo::kDegToRad);
  std::vector<P2> projected;
  projected.reserve(vertices.size());
  for (size_t i = 0; i < vertices.size(); ++i) {
    if (plane.CosFromCentre(vertices[i]) < min_cos) {
      return absl::OutOfRangeError(absl::StrCat(
          "ring vertex ", i, " ", geo::FormatLatLon(ring[i]), " is more than ", kMaxSpreadDeg,
          " degrees from the ring's centre: too large for one convex polygon"));
    }
    projected.push_back(plane.Project(vertices[i]));
  }
  double extent = 0;
  for (const P2& p : projected) extent = std::max(extent, Length(p));
  if (SignedArea(projected) < -1e-12 * std::max(extent * extent, 1e-30)) {
    return absl::InvalidArgumentError(
        "the ring is clockwise: its inside would be the far side of the globe (exteriors are "
        "counter-clockwise)");
  }

  // 1. Hull of the vertices, each widened to a square that holds a disc of margin_m on the
  // ground (the plane stretches distances from the centre by 1/cos^2 at most).
  const double margin_rad = options.margin_m / 1000.0 / geo::kEarthRadiusKm;
  std::vector<P2> points;
  points.reserve(4 * projected.size());
  for (size_t i = 0; i < projected.size(); ++i) {
    const double c = plane.CosFromCentre(vertices[i]);
    const double half_side = 1.01 * margin_rad / (c * c);
    if (half_side == 0) {
      points.push_back(projected[i]);
      continue;
    }
    for (const P2 corner : {P2{-1, -1}, P2{1, -1}, P2{1, 1}, P2{-1, 1}}) {
      points.push_back(projected[i] + half_side * corner);
    }
  }
  std::vector<P2> poly = ConvexHull(std::move(points));
  if (poly.size() < 3) {
    return absl::InvalidArgumentError("the ring has no area (give a margin to widen it)");
  }

  // 2. Fewer vertices: remove the edge whose removal adds the least area, until few enough; then
  // remove edges shorter than kMinEdgeM where that adds little (their meeting point lies within
  // about the edge's length), so that no two vertices nearly coincide.
  const double max_radius = std::tan(kMaxVertexDeg * geo::kDegToRad);
  const double min_edge = kMinEdgeM / 1000.0 / geo::kEarthRadiusKm;  // plane units >= radians
  while (true) {
    const bool too_many = static_cast<int>(poly.size()) > options.max_vertices;
    size_t best_edge = poly.size();
    P2 best_point;
    double best_area = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < poly.size() && poly.size() > 3; ++i) {
      const double length = Length(poly[(i + 1) % poly.size()] - poly[i]);
      if (!too_many && length >= min_edge) continue;
      P2 meet;
      double area = 0;
      if (!MeetingPoint(poly, i, max_radius, &meet, &area) || area >= best_area) continue;
      if (!too_many && area > length * length) continue;
      best_edge = i;
      best_point = meet;
      best_area = area;
    }
    if (best_edge == poly.size()) {
      if (!too_many) break;
      return absl::OutOfRangeError(absl::StrCat("cannot bring the polygon below ", poly.size(),
                                                " vertices within ", kMaxVertexDeg,
                                                " degrees of its centre"));
    }
    // Vertices i and i+1 become the meeting point.
    const size_t i = best_edge;
    const size_t j = (i + 1) % poly.size();
    poly[i] = best_point;
    poly.erase(poly.begin() + static_cast<std::ptrdiff_t>(j));
  }

  // 3. Long edges split at their arc's midpoint while there is room.
  std::vector<Vec3> out;
  out.reserve(static_cast<size_t>(options.max_vertices));
  for (const P2& p : poly) out.push_back(plane.Unproject(p));
  const double max_edge_rad = options.max_edge_km / geo::kEarthRadiusKm;
  while (static_cast<int>(out.size()) < options.max_vertices) {
    size_t longest = 0;
    double longest_rad = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const double rad = geo::AngleBetweenRad(out[i], out[(i + 1) % out.size()]);
      if (rad > longest_rad) {
        longest = i;
        longest_rad = rad;
      }
    }
    if (longest_rad <= max_edge_rad) break;
    const Vec3 mid = out[longest] + out[(longest + 1) % out.size()];
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(longest + 1),
               (1.0 / geo::Norm(mid)) * mid);
  }

  std::vector<geo::LatLon> result;
  result.reserve(out.size());
  for (const Vec3& v : out) result.push_back(geo::FromUnitVector(v));
  return result;
}

}  // namespace geoloc::pidf
