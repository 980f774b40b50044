#include "tools/synth/planet.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/common/status_macros.h"
#include "tools/synth/drawing.h"
#include "tools/synth/mp16_points.h"
#include "tools/synth/random.h"
#include "tools/synth/validation.h"

namespace geoloc::synth {
namespace {

constexpr double kDegToRad = kPi / 180.0;
// A city is a cluster of photos within about this radius of its centre.
constexpr double kCityRadiusKm = 25.0;
// The cells the clustering starts from (degrees).
constexpr double kSeedCellDeg = 0.1;
// A cluster takes an anchor city's name when its centre lies this close to the anchor.
constexpr double kAnchorNameKm = 60.0;
constexpr double kTropicLatDeg = 23.44;
constexpr int kMaxCities = 5000;
constexpr int kMaxPlaces = 2'000'000;
constexpr int kMaxViewsLimit = 1000;
constexpr int kMaxOccluders = 6;

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

Vec3 ToUnit(const LatLon& p) {
  const double lat = p.lat * kDegToRad, lon = p.lon * kDegToRad;
  return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

LatLon FromVector(const Vec3& v) {
  const double norm = std::sqrt(v.x * v.x + v.y * v.y + v.z * v.z);
  if (norm == 0) return {};
  return {std::asin(std::clamp(v.z / norm, -1.0, 1.0)) / kDegToRad,
          WrapLongitude(std::atan2(v.y, v.x) / kDegToRad)};
}

double ChordOfKm(double km) { return 2 * std::sin(km / kEarthRadiusKm / 2); }

double Chord(const Vec3& a, const Vec3& b) {
  const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

// Points on the unit sphere bucketed by a cube grid: neighbours within `reach` cells of a point's
// cell, with no special case at the poles or the antimeridian.
class SphereGrid {
 public:
  explicit SphereGrid(double cell) : cell_(cell) {}

  void Add(const Vec3& v, int id) { buckets_[Key(Cell(v.x), Cell(v.y), Cell(v.z))].push_back(id); }

  // Calls f(id) for every id in the cells within `reach` of v's cell (ids in insertion order per
  // cell, cells in a fixed order).
  template <typename F>
  void ForNear(const Vec3& v, int reach, F&& f) const {
    const int64_t cx = Cell(v.x), cy = Cell(v.y), cz = Cell(v.z);
    for (int64_t dx = -reach; dx <= reach; ++dx) {
      for (int64_t dy = -reach; dy <= reach; ++dy) {
        for (int64_t dz = -reach; dz <= reach; ++dz) {
          auto it = buckets_.find(Key(cx + dx, cy + dy, cz + dz));
          if (it == buckets_.end()) continue;
          for (int id : it->second) f(id);
        }
      }
    }
  }

 private:
  int64_t Cell(double x) const { return static_cast<int64_t>(std::floor(x / cell_)); }
  static uint64_t Key(int64_t x, int64_t y, int64_t z) {
    constexpr int64_t kOffset = 1 << 20;
    return (static_cast<uint64_t>(x + kOffset) << 42) | (static_cast<uint64_t>(y + kOffset) << 21) |
           static_cast<uint64_t>(z + kOffset);
  }

  double cell_;
  std::unordered_map<uint64_t, std::vector<int>> buckets_;
};

std::vector<PhotoCluster> ClusterCities() {
  const std::vector<LatLon>& points = Mp16Points();
  std::vector<Vec3> unit(points.size());
  for (size_t i = 0; i < points.size(); ++i) unit[i] = ToUnit(points[i]);
  // Seed cells: photo counts and vector sums per 0.1-degree cell.
  struct SeedCell {
    int count = 0;
    int first = 0;
    Vec3 sum;
  };
  std::map<std::pair<int64_t, int64_t>, SeedCell> seeds;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto key = std::make_pair(static_cast<int64_t>(std::floor(points[i].lat / kSeedCellDeg)),
                                    static_cast<int64_t>(std::floor(points[i].lon / kSeedCellDeg)));
    SeedCell& s = seeds[key];
    if (s.count == 0) s.first = static_cast<int>(i);
    ++s.count;
    s.sum.x += unit[i].x, s.sum.y += unit[i].y, s.sum.z += unit[i].z;
  }
  std::vector<const SeedCell*> order;
  order.reserve(seeds.size());
  for (const auto& [key, s] : seeds) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const SeedCell* a, const SeedCell* b) {
    return a->count != b->count ? a->count > b->count : a->first < b->first;
  });
  // Densest first: a seed cell far enough from every centre so far becomes a centre.
  const double radius = ChordOfKm(kCityRadiusKm);
  SphereGrid grid(radius);
  std::vector<Vec3> centres;
  for (const SeedCell* s : order) {
    const LatLon c = FromVector(s->sum);
    const Vec3 v = ToUnit(c);
    bool taken = false;
    grid.ForNear(v, 1, [&](int id) { taken = taken || Chord(centres[id], v) < radius; });
    if (taken) continue;
    grid.Add(v, static_cast<int>(centres.size()));
    centres.push_back(v);
  }
  // Every photo joins its nearest centre (within about 41 km by construction, so two cells of
  // 25 km cover it).
  std::vector<std::vector<int>> members(centres.size());
  for (size_t i = 0; i < points.size(); ++i) {
    int best = -1;
    double best_chord = 0;
    grid.ForNear(unit[i], 2, [&](int id) {
      const double d = Chord(centres[id], unit[i]);
      if (best < 0 || d < best_chord || (d == best_chord && id < best)) best = id, best_chord = d;
    });
    members[best].push_back(static_cast<int>(i));
  }
  std::vector<PhotoCluster> clusters;
  for (std::vector<int>& m : members) {
    if (m.empty()) continue;
    Vec3 sum;
    for (int i : m) sum.x += unit[i].x, sum.y += unit[i].y, sum.z += unit[i].z;
    clusters.push_back({FromVector(sum), std::move(m)});
  }
  std::stable_sort(clusters.begin(), clusters.end(),
                   [](const PhotoCluster& a, const PhotoCluster& b) {
                     return a.photos.size() != b.photos.size() ? a.photos.size() > b.photos.size()
                                                               : a.photos[0] < b.photos[0];
                   });
  return clusters;
}

// min(max, floor(U^(-1/alpha))): P(n >= v) = v^-alpha for v <= max.
int ParetoCount(Rng& rng, double alpha, int max) {
  const double u = 1.0 - rng.Uniform();  // (0, 1]
  const double x = std::pow(u, -1.0 / alpha);
  return x >= max ? max : std::max(1, static_cast<int>(x));
}

double ExpectedParetoCount(double alpha, int max) {
  double sum = 0;  // E[n] = sum over v >= 1 of P(n >= v)
  for (int v = 1; v <= max; ++v) sum += std::pow(v, -alpha);
  return sum;
}

int Poisson(Rng& rng, double mean, int cap) {
  if (mean <= 0) return 0;
  const double limit = std::exp(-mean);
  double p = 1;
  int k = 0;
  for (;;) {
    p *= rng.Uniform();
    if (p <= limit || k == cap) return k;
    ++k;
  }
}

// East and north offsets (km) of `p` from `centre` on the local tangent plane.
std::pair<double, double> LocalOffsetKm(const LatLon& centre, const LatLon& p) {
  double dlon = p.lon - centre.lon;
  if (dlon > 180) dlon -= 360;
  if (dlon < -180) dlon += 360;
  const double k = kEarthRadiusKm * kDegToRad;
  return {dlon * k * std::cos(centre.lat * kDegToRad), (p.lat - centre.lat) * k};
}

std::string CoordinateName(const LatLon& p) {
  return absl::StrFormat("%.2f%c_%.2f%c", std::fabs(p.lat), p.lat >= 0 ? 'n' : 's',
                         std::fabs(p.lon), p.lon >= 0 ? 'e' : 'w');
}

// The drawn clusters, largest first, each with its anchor region and a unique name.
std::vector<City> DrawCities(const WorldOptions& options, std::vector<const PhotoCluster*>* drawn) {
  const std::vector<PhotoCluster>& clusters = Mp16Cities();
  Rng rng(StreamSeed(options.seed, Stream::kPlanetCities));
  // Weighted sampling without replacement (Efraimidis and Spirakis): the largest keys
  // u^(1/weight) win.
  std::vector<std::pair<double, int>> keys(clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    const double u = 1.0 - rng.Uniform();
    keys[i] = {std::log(u) / static_cast<double>(clusters[i].photos.size()), static_cast<int>(i)};
  }
  const int n = std::min<int>(options.planet.cities, static_cast<int>(clusters.size()));
  std::partial_sort(keys.begin(), keys.begin() + n, keys.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<int> chosen;
  for (int i = 0; i < n; ++i) chosen.push_back(keys[i].second);
  std::sort(chosen.begin(), chosen.end());  // cluster rank: largest first
  std::vector<City> cities;
  std::map<std::string, int> uses;
  for (int c : chosen) {
    const PhotoCluster& cluster = clusters[c];
    drawn->push_back(&cluster);
    const Anchor* nearest = nullptr;
    int nearest_region = 0;
    double nearest_km = 0;
    const auto& regions = AnchorRegions();
    for (size_t r = 0; r < regions.size(); ++r) {
      for (const Anchor& a : regions[r].anchors) {
        const double d = HaversineKm(cluster.centre, {a.lat, WrapLongitude(a.lon)});
        if (nearest == nullptr || d < nearest_km) {
          nearest = &a, nearest_region = static_cast<int>(r), nearest_km = d;
        }
      }
    }
    std::string name = nearest_km <= kAnchorNameKm ? std::string(nearest->name)
                                                   : CoordinateName(cluster.centre);
    const int use = ++uses[name];
    if (use > 1) absl::StrAppend(&name, "-", use);
    City city;
    city.name = name;
    city.lat = cluster.centre.lat;
    city.lon = cluster.centre.lon;
    city.region = nearest_region;
    city.photos = static_cast<int64_t>(cluster.photos.size());
    cities.push_back(std::move(city));
  }
  return cities;
}

// Places per city in proportion to photo counts, at least one each, summing to `places`.
std::vector<int> PlaceQuotas(const std::vector<City>& cities, int places) {
  double total = 0;
  for (const City& c : cities) total += static_cast<double>(c.photos);
  std::vector<int> quota(cities.size(), 1);
  int left = places - static_cast<int>(cities.size());
  std::vector<std::pair<double, int>> remainders;
  const double spare = left;
  for (size_t i = 0; i < cities.size(); ++i) {
    const double share = spare * static_cast<double>(cities[i].photos) / total;
    const int whole = static_cast<int>(share);
    quota[i] += whole;
    left -= whole;
    remainders.push_back({share - whole, static_cast<int>(i)});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int i = 0; i < left; ++i) ++quota[remainders[i % remainders.size()].second];
  return quota;
}

Season SeasonOf(double lat, int month) {  // month 0 = January
  if (std::fabs(lat) < kTropicLatDeg) return Season::kNone;
  const int m = lat >= 0 ? month : (month + 6) % 12;
  if (m == 11 || m <= 1) return Season::kWinter;
  if (m <= 4) return Season::kSpring;
  if (m <= 7) return Season::kSummer;
  return Season::kAutumn;
}

// Snow lies on a winter day more often the colder the climate.
double WinterSnowProbability(double lat) {
  return std::clamp((std::fabs(lat) - 35.0) / 25.0, 0.0, 0.8);
}

Capture DrawCapture(Rng& rng, const CaptureProfile& p, const WorldOptions& options,
                    const Place& place, bool varied) {
  Capture c;
  const double night = rng.Uniform(), weather = rng.Uniform();
  const int month = rng.UniformInt(0, 11);
  const double snow = rng.Uniform();
  const bool aimed = rng.Bernoulli(p.landmark_share);
  const double spread = rng.Normal();
  const double any_heading = rng.Uniform(0, 360);
  c.heading_deg = aimed ? place.landmark_heading_deg + 15.0 * spread : any_heading;
  c.heading_deg = std::fmod(std::fmod(c.heading_deg, 360.0) + 360.0, 360.0);
  c.fov_deg = rng.Uniform(p.fov_lo_deg, p.fov_hi_deg);
  c.pitch = 0.05 * rng.Normal();
  c.roll_deg = std::clamp(2.0 * rng.Normal(), -6.0, 6.0);
  const int occluders = Poisson(rng, p.occluders_mean, kMaxOccluders);
  const bool portrait = rng.Bernoulli(p.portrait_share);
  // Aspect ratios of cameras and phones: 4:3, 3:2, 16:9, 1:1.
  static constexpr double kAspects[] = {4.0 / 3, 3.0 / 2, 16.0 / 9, 1.0};
  static constexpr double kAspectWeights[] = {0.55, 0.15, 0.2, 0.1};
  const double aspect = kAspects[PickWeighted(rng, kAspectWeights, 4)];
  const double size = rng.Uniform(p.size_lo, p.size_hi);
  c.jpeg_quality = rng.UniformInt(p.jpeg_quality_lo, p.jpeg_quality_hi);
  const bool rotated = rng.Bernoulli(p.exif_rotated_share);
  static constexpr int kOrientations[] = {6, 8, 3};
  static constexpr double kOrientationWeights[] = {0.6, 0.25, 0.15};
  const int orientation = kOrientations[PickWeighted(rng, kOrientationWeights, 3)];
  c.blur_sigma = rng.Uniform(0, p.blur_hi);
  const double noise = rng.Uniform();
  if (!varied) {
    // The base camera in daylight: the collection's 4:3 landscape at image_width.
    c.width = options.image_width;
    c.height = options.image_height;
    c.jpeg_quality = options.jpeg_quality;
    c.blur_sigma = 0;
    c.noise_sigma = 2;
    c.season = Season::kNone;
    return c;
  }
  c.time = night < p.night_share                  ? TimeOfDay::kNight
           : night < p.night_share + p.dusk_share ? TimeOfDay::kDusk
                                                  : TimeOfDay::kDay;
  c.weather = weather < p.fog_share                              ? Weather::kFog
              : weather < p.fog_share + p.rain_share             ? Weather::kRain
              : weather < p.fog_share + p.rain_share + p.overcast_share ? Weather::kOvercast
                                                                        : Weather::kClear;
  c.season = SeasonOf(place.lat, month);
  c.snow = c.season == Season::kWinter && snow < WinterSnowProbability(place.lat);
  c.occluders = occluders;
  const int long_side = std::max(32, static_cast<int>(std::lround(options.image_width * size)));
  const int short_side = std::max(32, static_cast<int>(std::lround(long_side / aspect)));
  c.width = portrait ? short_side : long_side;
  c.height = portrait ? long_side : short_side;
  c.orientation = rotated ? orientation : 1;
  // Sensor noise grows as light falls (higher ISO).
  switch (c.time) {
    case TimeOfDay::kDay:
      c.noise_sigma = 1.5 + 2.5 * noise;
      break;
    case TimeOfDay::kDusk:
      c.noise_sigma = 3 + 3 * noise;
      break;
    case TimeOfDay::kNight:
      c.noise_sigma = 5 + 5 * noise;
      c.blur_sigma += 0.6;  // longer exposures shake
      break;
  }
  return c;
}

// The collection photo's geotag: its kind and position.
std::pair<TagKind, LatLon> DrawGeotag(Rng& rng, const GeotagNoise& noise, const LatLon& truth,
                                      const City& city) {
  const double u = rng.Uniform();
  const double bearing = rng.Uniform(0, 2 * kPi);
  const double a = rng.Normal(), b = rng.Normal();
  const double log_distance = rng.Uniform();
  double limit = noise.gross_share;
  if (u < limit) {
    const double km = noise.gross_min_km *
                      std::exp(log_distance * std::log(noise.gross_max_km / noise.gross_min_km));
    return {TagKind::kGross, Destination(truth, km * std::sin(bearing), km * std::cos(bearing))};
  }
  limit += noise.city_snap_share;
  if (u < limit) return {TagKind::kCitySnap, LatLon{city.lat, city.lon}};
  limit += noise.manual_share;
  if (u < limit) {
    // Log-normal with the given median and a log-sd of 1 (a factor of e either way).
    const double km = noise.manual_median_m / 1000.0 * std::exp(a);
    return {TagKind::kManual, Destination(truth, km * std::sin(bearing), km * std::cos(bearing))};
  }
  const double sigma_km = noise.gps_sigma_m / 1000.0;
  return {TagKind::kGps, Destination(truth, a * sigma_km, b * sigma_km)};
}

SceneKind DrawDistractorKind(Rng& rng) {
  static constexpr SceneKind kKinds[] = {SceneKind::kIndoor, SceneKind::kCloseUp, SceneKind::kSky,
                                         SceneKind::kTexture};
  static constexpr double kWeights[] = {0.4, 0.25, 0.15, 0.2};
  return kKinds[PickWeighted(rng, kWeights, 4)];
}

absl::Status ValidateProfile(absl::string_view name, const CaptureProfile& p) {
  auto field = [&](absl::string_view f) { return absl::StrCat(name, "_", f); };
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("night_share"), p.night_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("dusk_share"), p.dusk_share, 0, 1 - p.night_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("fog_share"), p.fog_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("rain_share"), p.rain_share, 0, 1 - p.fog_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("overcast_share"), p.overcast_share, 0,
                                    1 - p.fog_share - p.rain_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("landmark_share"), p.landmark_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("fov_lo_deg"), p.fov_lo_deg, 20, 100));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("fov_hi_deg"), p.fov_hi_deg, p.fov_lo_deg, 100));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("portrait_share"), p.portrait_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("exif_rotated_share"), p.exif_rotated_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("size_lo"), p.size_lo, 0.25, 4));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("size_hi"), p.size_hi, p.size_lo, 4));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("jpeg_quality_lo"), p.jpeg_quality_lo, 1, 100));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange(field("jpeg_quality_hi"), p.jpeg_quality_hi, p.jpeg_quality_lo, 100));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("blur_hi"), p.blur_hi, 0, 5));
  GEOLOC_RETURN_IF_ERROR(CheckRange(field("occluders_mean"), p.occluders_mean, 0, kMaxOccluders));
  return absl::OkStatus();
}

}  // namespace

const std::vector<PhotoCluster>& Mp16Cities() {
  static const std::vector<PhotoCluster>* const kClusters =
      new std::vector<PhotoCluster>(ClusterCities());
  return *kClusters;
}

absl::Status ValidatePlanetLayout(const WorldOptions& options) {
  const PlanetLayout& o = options.planet;
  const int clusters = static_cast<int>(Mp16Cities().size());
  GEOLOC_RETURN_IF_ERROR(CheckRange("cities", o.cities, 1, std::min(kMaxCities, clusters)));
  GEOLOC_RETURN_IF_ERROR(CheckRange("places", o.places, o.cities, kMaxPlaces));
  GEOLOC_RETURN_IF_ERROR(CheckRange("train_place_share", o.train_place_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("query_place_share", o.query_place_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("unindexed_share", o.unindexed_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("views_alpha", o.views_alpha, 0.3, 10));
  GEOLOC_RETURN_IF_ERROR(CheckRange("max_views", o.max_views, 1, kMaxViewsLimit));
  GEOLOC_RETURN_IF_ERROR(CheckRange("query_views_alpha", o.query_views_alpha, 0.3, 10));
  GEOLOC_RETURN_IF_ERROR(CheckRange("max_query_views", o.max_query_views, 1, kMaxViewsLimit));
  GEOLOC_RETURN_IF_ERROR(CheckRange("distractor_share", o.distractor_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("query_distractor_share", o.query_distractor_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("view_radius_m", o.view_radius_m, 0, 1000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("min_place_separation_m", o.min_place_separation_m, 1, 5000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("place_jitter_m", o.place_jitter_m, 0, 50000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("neighbourhood_km", o.neighbourhood_km, 0.1, 100));
  const GeotagNoise& t = o.tags;
  GEOLOC_RETURN_IF_ERROR(CheckRange("gps_sigma_m", t.gps_sigma_m, 0, 10000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("gross_tag_share", t.gross_share, 0, 1));
  GEOLOC_RETURN_IF_ERROR(CheckRange("city_snap_share", t.city_snap_share, 0, 1 - t.gross_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange("manual_tag_share", t.manual_share, 0,
                                    1 - t.gross_share - t.city_snap_share));
  GEOLOC_RETURN_IF_ERROR(CheckRange("manual_tag_median_m", t.manual_median_m, 0, 100000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("gross_tag_min_km", t.gross_min_km, 0.001, 20000));
  GEOLOC_RETURN_IF_ERROR(CheckRange("gross_tag_max_km", t.gross_max_km, t.gross_min_km, 20000));
  GEOLOC_RETURN_IF_ERROR(ValidateProfile("collection", o.collection));
  GEOLOC_RETURN_IF_ERROR(ValidateProfile("query", o.queries));
  // The expected image count (coverage is drawn, so the exact count is only known after planning).
  const double collection = ExpectedParetoCount(o.views_alpha, o.max_views);
  const double queries = ExpectedParetoCount(o.query_views_alpha, o.max_query_views);
  const double held_out = 1 - o.train_place_share;
  const double per_place =
      collection * (o.train_place_share + held_out * (1 - o.query_place_share * o.unindexed_share)) *
          (1 + o.distractor_share) +
      held_out * o.query_place_share * queries * (1 + o.query_distractor_share);
  return CheckImageCount(static_cast<int64_t>(per_place * o.places));
}

World PlanPlanet(const WorldOptions& options) {
  const PlanetLayout& layout = options.planet;
  World world;
  world.options = options;
  std::vector<const PhotoCluster*> clusters;
  world.cities = DrawCities(options, &clusters);
  const std::vector<int> quotas = PlaceQuotas(world.cities, layout.places);
  const std::vector<LatLon>& mp16 = Mp16Points();

  // Places, city by city.
  const double separation = ChordOfKm(layout.min_place_separation_m / 1000.0);
  SphereGrid taken(separation);
  std::vector<Vec3> taken_points;
  std::map<std::tuple<int, int, int>, int> neighbourhood_ids;
  for (size_t c = 0; c < world.cities.size(); ++c) {
    const City& city = world.cities[c];
    const std::vector<int>& photos = clusters[c]->photos;
    Rng rng(StreamSeed(options.seed, Stream::kPlaceSites, c));
    for (int k = 0; k < quotas[c]; ++k) {
      LatLon site;
      double jitter_km = layout.place_jitter_m / 1000.0;
      for (int attempt = 0;; ++attempt) {
        const LatLon& photo = mp16[photos[rng.UniformInt(0, static_cast<int>(photos.size()) - 1)]];
        const double east = rng.Normal() * jitter_km, north = rng.Normal() * jitter_km;
        site = Destination(photo, east, north);
        const Vec3 v = ToUnit(site);
        bool clear = true;
        taken.ForNear(v, 1, [&](int id) { clear = clear && Chord(taken_points[id], v) >= separation; });
        if (clear) {
          taken.Add(v, static_cast<int>(taken_points.size()));
          taken_points.push_back(v);
          break;
        }
        // Crowded: look further out, so that a free site is always found.
        if (attempt >= 16) jitter_km = std::max(jitter_km, separation * kEarthRadiusKm) * 1.1;
      }
      Place place;
      place.lat = site.lat;
      place.lon = site.lon;
      place.city = static_cast<int>(c);
      place.region = city.region;
      const auto [east_km, north_km] = LocalOffsetKm({city.lat, city.lon}, site);
      const int ge = static_cast<int>(std::floor(east_km / layout.neighbourhood_km));
      const int gn = static_cast<int>(std::floor(north_km / layout.neighbourhood_km));
      auto [it, added] = neighbourhood_ids.try_emplace({static_cast<int>(c), ge, gn},
                                                       static_cast<int>(world.neighbourhoods.size()));
      if (added) {
        Neighbourhood n;
        n.city = static_cast<int>(c);
        n.east = ge;
        n.north = gn;
        n.centre_distance_km = std::hypot((ge + 0.5) * layout.neighbourhood_km,
                                          (gn + 0.5) * layout.neighbourhood_km);
        world.neighbourhoods.push_back(n);
      }
      place.neighbourhood = it->second;
      world.places.push_back(place);
    }
  }

  // Roles, photos, captures and geotags, place by place.
  static constexpr Split kQuerySplits[] = {Split::kVal, Split::kCalib, Split::kTest};
  for (size_t p = 0; p < world.places.size(); ++p) {
    Place& place = world.places[p];
    Rng rng(StreamSeed(options.seed, Stream::kPlaceRole, p));
    place.landmark_heading_deg = rng.Uniform(0, 360);
    place.street_heading_deg = rng.Uniform(0, 180);
    std::vector<std::pair<Split, int>> photos;  // split, count
    if (rng.Bernoulli(layout.train_place_share)) {
      photos.push_back({Split::kTrain, ParetoCount(rng, layout.views_alpha, layout.max_views)});
    } else if (rng.Bernoulli(layout.query_place_share)) {
      const Split split = kQuerySplits[rng.UniformInt(0, 2)];
      const int queries = ParetoCount(rng, layout.query_views_alpha, layout.max_query_views);
      const bool indexed = !rng.Bernoulli(layout.unindexed_share);
      const int database = ParetoCount(rng, layout.views_alpha, layout.max_views);
      if (indexed) photos.push_back({Split::kDatabase, database});
      photos.push_back({split, queries});
    } else {
      photos.push_back({Split::kDatabase, ParetoCount(rng, layout.views_alpha, layout.max_views)});
    }
    const City& city = world.cities[place.city];
    int64_t slot = 0;  // the place's photos, distractors included, in order
    for (const auto& [split, count] : photos) {
      const bool query = IsQuerySplit(split);
      const CaptureProfile& profile = query ? layout.queries : layout.collection;
      const double distractor_share =
          query ? layout.query_distractor_share : layout.distractor_share;
      int distractors = 0;
      for (int i = 0; i < count; ++i) distractors += rng.Bernoulli(distractor_share);
      for (int v = 0; v < count + distractors; ++v, ++slot) {
        ImageRecord r;
        Rng capture_rng(StreamSeed(options.seed, Stream::kCapture, p, static_cast<uint64_t>(slot)));
        const double radius_km = layout.view_radius_m / 1000.0 * std::sqrt(capture_rng.Uniform());
        const double angle = capture_rng.Uniform(0, 2 * kPi);
        const LatLon truth = Destination({place.lat, place.lon}, radius_km * std::sin(angle),
                                         radius_km * std::cos(angle));
        const SceneKind distractor_kind = DrawDistractorKind(capture_rng);
        r.capture = DrawCapture(capture_rng, profile, options, place, layout.appearance_change);
        r.scene = v < count ? SceneKind::kPlace : distractor_kind;
        r.true_lat = truth.lat;
        r.true_lon = truth.lon;
        r.lat = truth.lat;
        r.lon = truth.lon;
        if (!query) {
          Rng tag_rng(StreamSeed(options.seed, Stream::kGeotag, p, static_cast<uint64_t>(slot)));
          const auto [kind, tag] = DrawGeotag(tag_rng, layout.tags, truth, city);
          r.tag = kind;
          r.lat = tag.lat;
          r.lon = tag.lon;
        }
        r.place = static_cast<int64_t>(p);
        r.city = place.city;
        r.region = place.region;
        r.neighbourhood = place.neighbourhood;
        r.view = v;
        r.split = split;
        world.images.push_back(std::move(r));
      }
    }
  }

  // Opaque, unique file names.
  std::set<uint64_t> used;
  for (size_t i = 0; i < world.images.size(); ++i) {
    uint64_t name = 0;
    for (uint64_t attempt = 0;; ++attempt) {
      name = StreamSeed(options.seed, Stream::kFileName, i, attempt);
      if (used.insert(name).second) break;
    }
    ImageRecord& r = world.images[i];
    r.path = absl::StrFormat("images/%s/%016x.jpg", SplitName(r.split), name);
  }
  return world;
}

}  // namespace geoloc::synth
