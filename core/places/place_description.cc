#include "core/places/place_description.h"

#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace geoloc::places {

absl::string_view CompassPoint(double bearing_deg) {
  static constexpr std::array<absl::string_view, 8> kPoints{"N",  "NE", "E",  "SE",
                                                            "S",  "SW", "W",  "NW"};
  if (!std::isfinite(bearing_deg)) return kPoints[0];
  double b = std::fmod(bearing_deg, 360.0);
  if (b < 0) b += 360.0;
  const int sector = static_cast<int>(std::floor((b + 22.5) / 45.0)) % 8;
  return kPoints[static_cast<size_t>(sector)];
}

std::string PlaceLabel(const Place& place) {
  std::string label;
  absl::string_view previous;
  for (absl::string_view part : {place.name, place.region, place.country}) {
    if (part.empty() || part == previous) continue;
    absl::StrAppend(&label, label.empty() ? "" : ", ", part);
    previous = part;
  }
  return label;
}

std::string DescribeNearby(const NearbyPlace& nearby) {
  const std::string label = PlaceLabel(nearby.place);
  const double km = nearby.distance_km;
  if (!(km >= kAtPlaceKm)) return label;
  const std::string distance =
      km < 10 ? absl::StrFormat("%.1f km", km) : absl::StrFormat("%.0f km", km);
  return absl::StrCat(distance, " ", CompassPoint(nearby.bearing_deg), " of ", label);
}

std::optional<NamedPlace> NameNearest(const Gazetteer& gazetteer, geo::LatLon point) {
  const std::optional<NearbyPlace> near = gazetteer.Nearest(point);
  if (!near.has_value()) return std::nullopt;
  NamedPlace named;
  named.description = DescribeNearby(*near);
  named.name = std::string(near->place.name);
  named.region = std::string(near->place.region);
  named.country = std::string(near->place.country);
  named.country_code = std::string(near->place.country_code);
  named.location = near->place.location;
  named.distance_km = near->distance_km;
  double bearing = std::fmod(near->bearing_deg, 360.0);
  if (bearing < 0) bearing += 360.0;
  named.bearing_deg = bearing;
  named.population = near->place.population;
  return named;
}

}  // namespace geoloc::places
