#include "core/geo/geojson_ring.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace geoloc::geo {
namespace {

// A vertex this close to +-90 degrees is a pole: its longitude means nothing.
constexpr double kPoleEpsilonDeg = 1e-9;

bool IsPole(const LatLon& p) { return std::abs(p.lat) >= 90.0 - kPoleEpsilonDeg; }

// Wraps a longitude difference into (-180, 180].
double WrapDelta(double delta) {
  delta = std::fmod(delta, 360.0);
  if (delta > 180.0) delta -= 360.0;
  if (delta <= -180.0) delta += 360.0;
  return delta;
}

// Twice the signed area in the lon/lat plane: positive for counter-clockwise.
double SignedArea2(const GeoJsonRing& ring) {
  double area = 0;
  for (size_t i = 0, n = ring.size(); i < n; ++i) {
    const LonLat& a = ring[i];
    const LonLat& b = ring[(i + 1) % n];
    area += a.lon * b.lat - b.lon * a.lat;
  }
  return area;
}

// Sutherland-Hodgman against one vertical line: keeps lon <= x (keep_west) or lon >= x.
GeoJsonRing ClipAtLongitude(const GeoJsonRing& ring, double x, bool keep_west) {
  GeoJsonRing out;
  const size_t n = ring.size();
  auto inside = [&](const LonLat& p) { return keep_west ? p.lon <= x : p.lon >= x; };
  auto crossing = [&](const LonLat& a, const LonLat& b) {
    const double t = (x - a.lon) / (b.lon - a.lon);
    return LonLat{x, a.lat + t * (b.lat - a.lat)};
  };
  for (size_t i = 0; i < n; ++i) {
    const LonLat& cur = ring[i];
    const LonLat& prev = ring[(i + n - 1) % n];
    if (inside(cur)) {
      if (!inside(prev)) out.push_back(crossing(prev, cur));
      out.push_back(cur);
    } else if (inside(prev)) {
      out.push_back(crossing(prev, cur));
    }
  }
  return out;
}

GeoJsonRing WithoutRepeats(const GeoJsonRing& ring) {
  GeoJsonRing out;
  for (const LonLat& p : ring) {
    if (out.empty() || out.back().lon != p.lon || out.back().lat != p.lat) out.push_back(p);
  }
  while (out.size() > 1 && out.front().lon == out.back().lon && out.front().lat == out.back().lat) {
    out.pop_back();
  }
  return out;
}

// The ring with every pole vertex replaced by two vertices at the pole's latitude: one at the
// longitude of the edge arriving there and one at the longitude of the edge leaving it. Empty when
// every vertex is a pole.
GeoJsonRing ExpandPoles(absl::Span<const LatLon> ring) {
  const size_t n = ring.size();
  GeoJsonRing out;
  out.reserve(n + 4);
  for (size_t i = 0; i < n; ++i) {
    if (!IsPole(ring[i])) {
      out.push_back({ring[i].lon, ring[i].lat});
      continue;
    }
    size_t prev = (i + n - 1) % n;
    size_t next = (i + 1) % n;
    size_t guard = 0;
    while (IsPole(ring[prev]) && guard++ < n) prev = (prev + n - 1) % n;
    guard = 0;
    while (IsPole(ring[next]) && guard++ < n) next = (next + 1) % n;
    if (IsPole(ring[prev]) || IsPole(ring[next])) return {};
    const double pole_lat = ring[i].lat > 0 ? 90.0 : -90.0;
    out.push_back({ring[prev].lon, pole_lat});
    out.push_back({ring[next].lon, pole_lat});
  }
  return out;
}

}  // namespace

std::vector<GeoJsonRing> SplitRingAtAntimeridian(absl::Span<const LatLon> ring) {
  std::vector<GeoJsonRing> pieces;
  if (ring.size() < 3) return pieces;
  const GeoJsonRing raw = ExpandPoles(ring);
  if (raw.size() < 3) return pieces;

  // Unwrap: each step takes the short way round, so a ring over +-180 becomes continuous.
  GeoJsonRing unwrapped;
  unwrapped.reserve(raw.size() + 3);
  unwrapped.push_back(raw[0]);
  for (size_t i = 1; i < raw.size(); ++i) {
    const double step = WrapDelta(raw[i].lon - raw[i - 1].lon);
    unwrapped.push_back({unwrapped.back().lon + step, raw[i].lat});
  }
  const double closing_lon = unwrapped.back().lon + WrapDelta(raw[0].lon - raw.back().lon);
  const double winding = closing_lon - unwrapped.front().lon;
  if (std::abs(winding) > 180.0) {
    // Once around a pole: counter-clockwise around the north pole runs east (+360), around the
    // south pole west. Close the ring along the pole's latitude.
    const double pole_lat = winding > 0 ? 90.0 : -90.0;
    unwrapped.push_back({closing_lon, raw[0].lat});
    unwrapped.push_back({closing_lon, pole_lat});
    unwrapped.push_back({unwrapped.front().lon, pole_lat});
  }

  double min_lon = unwrapped.front().lon;
  double max_lon = min_lon;
  for (const LonLat& p : unwrapped) {
    min_lon = std::min(min_lon, p.lon);
    max_lon = std::max(max_lon, p.lon);
  }
  // Window k covers [-180 + 360k, 180 + 360k]; its piece is shifted back by -360k.
  const int first = static_cast<int>(std::floor((min_lon + 180.0) / 360.0));
  const int last = static_cast<int>(std::floor((max_lon + 180.0) / 360.0));
  for (int k = first; k <= last; ++k) {
    const double west = -180.0 + 360.0 * k;
    GeoJsonRing piece =
        ClipAtLongitude(ClipAtLongitude(unwrapped, west + 360.0, /*keep_west=*/true), west,
                        /*keep_west=*/false);
    for (LonLat& p : piece) p.lon = std::clamp(p.lon - 360.0 * k, -180.0, 180.0);
    piece = WithoutRepeats(piece);
    if (piece.size() < 3) continue;
    const double area2 = SignedArea2(piece);
    if (std::abs(area2) < 1e-12) continue;  // a sliver touching the window's edge
    if (area2 < 0) std::reverse(piece.begin(), piece.end());
    piece.push_back(piece.front());
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace geoloc::geo
