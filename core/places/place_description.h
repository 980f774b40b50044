// How a point is told relative to its nearest named place: "3.2 km NE of Anadyr, Chukotka,
// Russia". The one place that phrases it (the API's PlaceName.description, the CLI, the console).
//
//   std::string text = places::DescribeNearby(*gazetteer->Nearest(point));
//   absl::string_view dir = places::CompassPoint(44.0);  // "NE"
//   std::optional<NamedPlace> named = places::NameNearest(*gazetteer, point);  // owns its strings
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_
#define GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "core/places/gazetteer.h"

namespace geoloc::places {

// Below this distance a point is told as the place itself (no distance or direction).
inline constexpr double kAtPlaceKm = 0.05;

// The 8-point compass direction of a bearing in degrees clockwise from north, each point owning
// the 45-degree sector centred on it:
//
//   bearing (mod 360)     result
//   [337.5, 22.5)         "N"
//   [22.5, 67.5)          "NE"
//   ...                   "E", "SE", "S", "SW", "W"
//   [292.5, 337.5)        "NW"
//   not finite            "N"
absl::string_view CompassPoint(double bearing_deg);

// "Anadyr, Chukotka, Russia": name, region and country; empty parts are left out, and so is a part
// equal to the one before it ("Singapore" rather than "Singapore, Singapore").
std::string PlaceLabel(const Place& place);

// Where the point lies from its nearest place:
//
//   distance          result
//   < kAtPlaceKm      "Anadyr, Chukotka, Russia"
//   < 10 km           "3.2 km NE of Anadyr, Chukotka, Russia"  (one decimal)
//   >= 10 km          "37 km SW of Anadyr, Chukotka, Russia"   (whole km)
std::string DescribeNearby(const NearbyPlace& nearby);

// A NearbyPlace that owns its strings (answers outlive nothing they point into), with its
// description: what an answer carries for each point it names.
struct NamedPlace {
  std::string description;  // DescribeNearby
  std::string name;
  std::string region;
  std::string country;
  std::string country_code;
  geo::LatLon location;  // the named place's own location
  double distance_km = 0;
  double bearing_deg = 0;  // from the named place to the point, [0, 360)
  uint32_t population = 0;
};

// The place nearest to `point` in `gazetteer`, named; nullopt when `point` is not finite.
std::optional<NamedPlace> NameNearest(const Gazetteer& gazetteer, geo::LatLon point);

}  // namespace geoloc::places

#endif  // GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_
