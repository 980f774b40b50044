#include "tools/synth/geography.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace geoloc::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegToRad = kPi / 180.0;
constexpr double kRadToDeg = 180.0 / kPi;

// The lattice never gets denser than this, so that jitter keeps some freedom.
constexpr double kMinSpacingKm = 1.25 * kPlaceLayoutSeparationKm;

// Points of a hexagonal lattice with the given spacing centred on the origin within `radius`.
std::vector<Offset> HexLatticeInDisk(double spacing, double radius) {
  std::vector<Offset> points;
  if (radius < 0) return points;
  const double row_height = spacing * std::sqrt(3.0) / 2.0;
  const int rows = static_cast<int>(radius / row_height) + 1;
  const int cols = static_cast<int>(radius / spacing) + 2;
  for (int j = -rows; j <= rows; ++j) {
    const double y = j * row_height;
    const double shift = (j % 2 != 0) ? 0.5 : 0.0;
    for (int i = -cols; i <= cols; ++i) {
      const double x = (i + shift) * spacing;
      if (x * x + y * y <= radius * radius) points.push_back({x, y});
    }
  }
  return points;
}

// Radius available to lattice points when each may move by up to the jitter.
double LatticeRadius(double city_radius_km, double spacing) {
  return city_radius_km - (spacing - kPlaceLayoutSeparationKm) / 2.0;
}

}  // namespace

const std::vector<AnchorRegion>& AnchorRegions() {
  // Real coordinates of cities and settlements, eight per region. Regions are continent-like
  // clusters so that a classifier over S2 cells or regions has something geographic to learn.
  static const auto* const kRegions = new std::vector<AnchorRegion>{
      {"bering",
       {{"wrangel", 71.2400, -180.0, true},
        {"utqiagvik", 71.2906, -156.7886},
        {"anadyr", 64.7337, 177.5089},
        {"nome", 64.5011, -165.4064},
        {"provideniya", 64.4235, -173.2258},
        {"pevek", 69.7008, 170.3133},
        {"kotzebue", 66.8983, -162.5967},
        {"egvekinot", 66.3205, -179.1184}}},
      {"oceania",
       {{"taveuni", -16.8500, -180.0, true},
        {"suva", -18.1416, 178.4419},
        {"apia", -13.8333, -171.7667},
        {"nukualofa", -21.1394, -175.2018},
        {"noumea", -22.2758, 166.4580},
        {"portvila", -17.7333, 168.3167},
        {"funafuti", -8.5211, 179.1983},
        {"rarotonga", -21.2292, -159.7763}}},
      {"nordic",
       {{"longyearbyen", 78.2232, 15.6267},
        {"tromso", 69.6492, 18.9553},
        {"hammerfest", 70.6634, 23.6821},
        {"murmansk", 68.9585, 33.0827},
        {"kirkenes", 69.7271, 30.0450},
        {"bodo", 67.2804, 14.4049},
        {"rovaniemi", 66.5039, 25.7294},
        {"nyalesund", 78.9236, 11.9306}}},
      {"western_europe",
       {{"paris", 48.8566, 2.3522},
        {"london", 51.5074, -0.1278},
        {"madrid", 40.4168, -3.7038},
        {"amsterdam", 52.3676, 4.9041},
        {"berlin", 52.5200, 13.4050},
        {"rome", 41.9028, 12.4964},
        {"lisbon", 38.7223, -9.1393},
        {"vienna", 48.2082, 16.3738}}},
      {"east_asia",
       {{"tokyo", 35.6762, 139.6503},
        {"seoul", 37.5665, 126.9780},
        {"shanghai", 31.2304, 121.4737},
        {"beijing", 39.9042, 116.4074},
        {"osaka", 34.6937, 135.5023},
        {"taipei", 25.0330, 121.5654},
        {"hongkong", 22.3193, 114.1694},
        {"sapporo", 43.0618, 141.3545}}},
      {"north_america_east",
       {{"newyork", 40.7128, -74.0060},
        {"toronto", 43.6532, -79.3832},
        {"chicago", 41.8781, -87.6298},
        {"washington", 38.9072, -77.0369},
        {"boston", 42.3601, -71.0589},
        {"montreal", 45.5017, -73.5673},
        {"atlanta", 33.7490, -84.3880},
        {"miami", 25.7617, -80.1918}}},
      {"south_america",
       {{"saopaulo", -23.5505, -46.6333},
        {"buenosaires", -34.6037, -58.3816},
        {"lima", -12.0464, -77.0428},
        {"santiago", -33.4489, -70.6693},
        {"bogota", 4.7110, -74.0721},
        {"riodejaneiro", -22.9068, -43.1729},
        {"quito", -0.1807, -78.4678},
        {"montevideo", -34.9011, -56.1645}}},
      {"africa",
       {{"lagos", 6.5244, 3.3792},
        {"nairobi", -1.2921, 36.8219},
        {"cairo", 30.0444, 31.2357},
        {"johannesburg", -26.2041, 28.0473},
        {"kinshasa", -4.4419, 15.2663},
        {"addisababa", 9.0300, 38.7400},
        {"dakar", 14.7167, -17.4677},
        {"accra", 5.6037, -0.1870}}},
      {"south_asia",
       {{"mumbai", 19.0760, 72.8777},
        {"delhi", 28.7041, 77.1025},
        {"kolkata", 22.5726, 88.3639},
        {"dhaka", 23.8103, 90.4125},
        {"karachi", 24.8607, 67.0011},
        {"colombo", 6.9271, 79.8612},
        {"chennai", 13.0827, 80.2707},
        {"kathmandu", 27.7172, 85.3240}}},
      {"middle_east",
       {{"istanbul", 41.0082, 28.9784},
        {"tehran", 35.6892, 51.3890},
        {"riyadh", 24.7136, 46.6753},
        {"dubai", 25.2048, 55.2708},
        {"baghdad", 33.3152, 44.3661},
        {"amman", 31.9454, 35.9284},
        {"muscat", 23.5880, 58.3829},
        {"doha", 25.2854, 51.5310}}},
      {"north_america_west",
       {{"losangeles", 34.0522, -118.2437},
        {"sanfrancisco", 37.7749, -122.4194},
        {"seattle", 47.6062, -122.3321},
        {"vancouver", 49.2827, -123.1207},
        {"denver", 39.7392, -104.9903},
        {"mexicocity", 19.4326, -99.1332},
        {"phoenix", 33.4484, -112.0740},
        {"anchorage", 61.2181, -149.9003}}},
      {"southeast_asia",
       {{"jakarta", -6.2088, 106.8456},
        {"bangkok", 13.7563, 100.5018},
        {"manila", 14.5995, 120.9842},
        {"singapore", 1.3521, 103.8198},
        {"hanoi", 21.0278, 105.8342},
        {"kualalumpur", 3.1390, 101.6869},
        {"hochiminh", 10.8231, 106.6297},
        {"yangon", 16.8409, 96.1735}}},
      {"north_asia",
       {{"moscow", 55.7558, 37.6173},
        {"novosibirsk", 55.0084, 82.9357},
        {"almaty", 43.2220, 76.8512},
        {"tashkent", 41.2995, 69.2401},
        {"yekaterinburg", 56.8389, 60.6057},
        {"irkutsk", 52.2870, 104.3050},
        {"norilsk", 69.3558, 88.1893},
        {"yakutsk", 62.0355, 129.6755}}},
      {"australasia",
       {{"sydney", -33.8688, 151.2093},
        {"melbourne", -37.8136, 144.9631},
        {"perth", -31.9505, 115.8605},
        {"brisbane", -27.4698, 153.0251},
        {"adelaide", -34.9285, 138.6007},
        {"darwin", -12.4634, 130.8456},
        {"hobart", -42.8821, 147.3272},
        {"auckland", -36.8485, 174.7633}}},
      {"caribbean",
       {{"havana", 23.1136, -82.3666},
        {"kingston", 17.9712, -76.7936},
        {"santodomingo", 18.4861, -69.9312},
        {"panama", 8.9824, -79.5199},
        {"sanjose", 9.9281, -84.0907},
        {"guatemala", 14.6349, -90.5069},
        {"sanjuan", 18.4655, -66.1057},
        {"portofspain", 10.6549, -61.5019}}},
      {"eastern_europe",
       {{"warsaw", 52.2297, 21.0122},
        {"kyiv", 50.4501, 30.5234},
        {"bucharest", 44.4268, 26.1025},
        {"budapest", 47.4979, 19.0402},
        {"prague", 50.0755, 14.4378},
        {"athens", 37.9838, 23.7275},
        {"helsinki", 60.1699, 24.9384},
        {"riga", 56.9496, 24.1052}}},
  };
  return *kRegions;
}

double WrapLongitude(double lon) {
  double x = std::fmod(lon + 180.0, 360.0);
  if (x < 0) x += 360.0;
  if (x >= 360.0) x -= 360.0;  // fmod of a tiny negative plus 360 can round up to 360
  return x - 180.0;
}

double HaversineKm(const LatLon& a, const LatLon& b) {
  const double lat1 = a.lat * kDegToRad, lat2 = b.lat * kDegToRad;
  const double dlat = lat2 - lat1;
  const double dlon = (b.lon - a.lon) * kDegToRad;
  const double s = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1) * std::cos(lat2) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2.0 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(s)));
}

LatLon Destination(const LatLon& from, double east_km, double north_km) {
  const double distance = std::hypot(east_km, north_km);
  if (distance == 0) return {from.lat, WrapLongitude(from.lon)};
  const double delta = distance / kEarthRadiusKm;
  const double bearing = std::atan2(east_km, north_km);  // clockwise from north
  const double lat1 = from.lat * kDegToRad;
  const double sin_lat2 =
      std::sin(lat1) * std::cos(delta) + std::cos(lat1) * std::sin(delta) * std::cos(bearing);
  const double lat2 = std::asin(std::clamp(sin_lat2, -1.0, 1.0));
  const double dlon = std::atan2(std::sin(bearing) * std::sin(delta) * std::cos(lat1),
                                 std::cos(delta) - std::sin(lat1) * sin_lat2);
  return {lat2 * kRadToDeg, WrapLongitude(from.lon + dlon * kRadToDeg)};
}

int PlaceCapacity(double city_radius_km) {
  return static_cast<int>(
      HexLatticeInDisk(kMinSpacingKm, LatticeRadius(city_radius_km, kMinSpacingKm)).size());
}

std::vector<Offset> LayoutPlaces(Rng& rng, double radius_km, int count, bool both_sides) {
  // Spacing for about 2 * count lattice points (a hexagonal lattice of spacing s has
  // 2 / (sqrt(3) s^2) points per unit area), shrunk until the disk holds enough of them.
  double spacing = std::max(
      kMinSpacingKm, radius_km * std::sqrt(2.0 * 3.14159265358979 / std::sqrt(3.0) / (2 * count)));
  std::vector<Offset> lattice;
  for (;;) {
    lattice = HexLatticeInDisk(spacing, LatticeRadius(radius_km, spacing));
    if (static_cast<int>(lattice.size()) >= count || spacing <= kMinSpacingKm) break;
    spacing = std::max(kMinSpacingKm, spacing * 0.93);
  }
  const double jitter = (spacing - kPlaceLayoutSeparationKm) / 2.0;
  const double angle = rng.Uniform(0, kPi / 3);  // the lattice's symmetry period
  const double c = std::cos(angle), s = std::sin(angle);
  for (Offset& p : lattice) {
    // Uniform in a disk of radius `jitter`, so neighbours stay >= the separation apart.
    const double r = jitter * std::sqrt(rng.Uniform());
    const double t = rng.Uniform(0, 2 * kPi);
    const double x = c * p.east_km - s * p.north_km + r * std::cos(t);
    const double y = s * p.east_km + c * p.north_km + r * std::sin(t);
    p = {x, y};
  }
  // Fisher-Yates shuffle; the first `count` points are the places.
  for (int i = static_cast<int>(lattice.size()) - 1; i > 0; --i) {
    std::swap(lattice[i], lattice[rng.UniformInt(0, i)]);
  }
  const int n = std::min<int>(count, static_cast<int>(lattice.size()));
  if (both_sides && n >= 2) {
    // Make place 0 lie west and place 1 east of the meridian by swapping in later points.
    auto bring_to = [&](int slot, bool east) {
      for (size_t i = slot; i < lattice.size(); ++i) {
        if ((lattice[i].east_km > 0) == east && lattice[i].east_km != 0) {
          std::swap(lattice[slot], lattice[i]);
          return;
        }
      }
    };
    bring_to(0, /*east=*/false);
    bring_to(1, /*east=*/true);
  }
  lattice.resize(n);
  return lattice;
}

}  // namespace geoloc::synth
