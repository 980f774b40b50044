// How a point is told relative to its nearest named place: "3.2 km NE of Anadyr, Chukotka,
// Russia". The one place that phrases it (the API's PlaceName.description, the CLI, the console).
//
//   std::string text = places::DescribeNearby(*gazetteer->Nearest(point));
//   absl::string_view dir = places::CompassPoint(44.0);  // "NE"
//
// Pure functions: thread-safe.
#ifndef GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_
#define GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_

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

}  // namespace geoloc::places

#endif  // GEOLOC_CORE_PLACES_PLACE_DESCRIPTION_H_
