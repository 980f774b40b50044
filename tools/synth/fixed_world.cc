#include "tools/synth/fixed_world.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/common/status_macros.h"
#include "tools/synth/geography.h"
#include "tools/synth/random.h"
#include "tools/synth/validation.h"

namespace geoloc::synth {
namespace {

constexpr int kMaxCitiesPerRegion = 64;
constexpr int kMaxViewsPerPlace = 100;
constexpr double kMinCityRadiusKm = 0.2;
constexpr double kMaxCityRadiusKm = 20.0;
// Cities are at least this much farther apart than two radii, so no two cities' places mix.
constexpr double kCityGapKm = 20.0;

struct PlannedCity {
  City city;
  bool straddles_antimeridian = false;
};

// Real anchors first (region by region), then any further cities near a random anchor of their
// region, each at least two radii plus a gap from every other city.
std::vector<PlannedCity> PlanCities(const WorldOptions& options) {
  const FixedLayout& layout = options.fixed;
  const auto& regions = AnchorRegions();
  const double min_gap_km = 2 * layout.city_radius_km + kCityGapKm;
  std::vector<PlannedCity> cities(static_cast<size_t>(layout.num_regions) *
                                  layout.cities_per_region);
  std::vector<LatLon> taken;
  std::map<std::string, int> uses;  // anchor name -> cities named after it so far
  auto slot = [&](int region, int k) -> PlannedCity& {
    return cities[static_cast<size_t>(region) * layout.cities_per_region + k];
  };
  for (int r = 0; r < layout.num_regions; ++r) {
    const auto& anchors = regions[r].anchors;
    for (int k = 0; k < layout.cities_per_region && k < static_cast<int>(anchors.size()); ++k) {
      const Anchor& a = anchors[k];
      slot(r, k) = {City{a.name, a.lat, WrapLongitude(a.lon), r}, a.straddles_antimeridian};
      taken.push_back({a.lat, a.lon});
      uses[a.name] = 1;
    }
  }
  for (int r = 0; r < layout.num_regions; ++r) {
    const auto& anchors = regions[r].anchors;
    for (int k = static_cast<int>(anchors.size()); k < layout.cities_per_region; ++k) {
      Rng rng(StreamSeed(options.seed, Stream::kExtraCity, static_cast<uint64_t>(r),
                         static_cast<uint64_t>(k)));
      const Anchor* anchor = nullptr;
      LatLon where;
      // Candidates spread further out as attempts accumulate, so a free spot is always found.
      for (int attempt = 0; attempt < 100000; ++attempt) {
        anchor = &anchors[rng.UniformInt(0, static_cast<int>(anchors.size()) - 1)];
        const double bearing = rng.Uniform(0, 2 * 3.14159265358979323846);
        const double reach = std::max(2 * min_gap_km, 400.0) * (1.0 + attempt / 200.0);
        const double distance = rng.Uniform(min_gap_km, reach);
        where = Destination({anchor->lat, anchor->lon}, distance * std::sin(bearing),
                            distance * std::cos(bearing));
        if (std::fabs(where.lat) > 85.0) continue;
        const bool clear = std::all_of(taken.begin(), taken.end(), [&](const LatLon& other) {
          return HaversineKm(other, where) >= min_gap_km;
        });
        if (clear) break;
      }
      taken.push_back(where);
      const int n = ++uses[anchor->name];
      slot(r, k) = {City{absl::StrCat(anchor->name, "-", n), where.lat, where.lon, r}, false};
    }
  }
  return cities;
}

}  // namespace

absl::Status ValidateFixedLayout(const WorldOptions& options) {
  const FixedLayout& o = options.fixed;
  GEOLOC_RETURN_IF_ERROR(CheckRange("num_regions", o.num_regions, 1, kMaxRegions));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("cities_per_region", o.cities_per_region, 1, kMaxCitiesPerRegion));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("city_radius_km", o.city_radius_km, kMinCityRadiusKm, kMaxCityRadiusKm));
  if (o.places_per_city < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("places_per_city = ", o.places_per_city, " must be at least 1"));
  }
  const int capacity = PlaceCapacity(o.city_radius_km);
  if (o.places_per_city > capacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "places_per_city = ", o.places_per_city, " does not fit in city_radius_km = ",
        o.city_radius_km, ": at most ", capacity, " places fit ", kMinPlaceSeparationKm * 1000,
        " m apart; raise city_radius_km or lower places_per_city"));
  }
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("database_views_per_place", o.database_views_per_place, 1, kMaxViewsPerPlace));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("query_views_per_place", o.query_views_per_place, 0, kMaxViewsPerPlace));
  const int64_t images = int64_t{o.num_regions} * o.cities_per_region * o.places_per_city *
                         (o.database_views_per_place + o.query_views_per_place);
  return CheckImageCount(images);
}

World PlanFixedWorld(const WorldOptions& options) {
  const FixedLayout& layout = options.fixed;
  World world;
  world.options = options;
  const std::vector<PlannedCity> cities = PlanCities(options);
  const int views = layout.database_views_per_place + layout.query_views_per_place;
  world.cities.reserve(cities.size());
  world.images.reserve(cities.size() * layout.places_per_city * views);
  int64_t place = 0;
  for (size_t c = 0; c < cities.size(); ++c) {
    const City& city = cities[c].city;
    world.cities.push_back(city);
    Rng rng(StreamSeed(options.seed, Stream::kPlaceLayout, c));
    const std::vector<Offset> offsets = LayoutPlaces(
        rng, layout.city_radius_km, layout.places_per_city, cities[c].straddles_antimeridian);
    for (const Offset& offset : offsets) {
      const LatLon where = Destination({city.lat, city.lon}, offset.east_km, offset.north_km);
      for (int v = 0; v < views; ++v) {
        ImageRecord r;
        r.path = absl::StrFormat("images/%s/p%06d_v%d.jpg", city.name, place, v);
        r.lat = r.true_lat = where.lat;
        r.lon = r.true_lon = where.lon;
        r.place = place;
        r.city = static_cast<int>(c);
        r.region = city.region;
        r.view = v;
        r.split = v < layout.database_views_per_place ? Split::kDatabase : Split::kQuery;
        r.capture.width = options.image_width;
        r.capture.height = options.image_height;
        r.capture.jpeg_quality = options.jpeg_quality;
        world.images.push_back(std::move(r));
      }
      ++place;
    }
  }
  return world;
}

}  // namespace geoloc::synth
