// The synthetic world's geography: the built-in regions of real city coordinates, great-circle
// helpers on a spherical Earth, and the layout of places inside a city.
//
//   const auto& regions = AnchorRegions();           // 16 regions x 8 anchors, fixed order
//   LatLon p = Destination({-16.85, -180.0}, 0.4, -1.2);  // 0.4 km east, 1.2 km south
//
// Internal to geoloc_synth (core/geo is not a dependency on purpose: the generator must stay
// independent of the code it is used to test). Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_GEOGRAPHY_H_
#define GEOLOC_TOOLS_SYNTH_GEOGRAPHY_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "tools/synth/random.h"

namespace geoloc::synth {

// Mean Earth radius used across geoloc (GUIDE.md: haversine with 6371.0088 km).
inline constexpr double kEarthRadiusKm = 6371.0088;
// Places are laid out at least this far apart so that the 25 m recall radius is unambiguous; the
// layout keeps 10% more than the guarantee (kMinPlaceSeparationKm in synthetic_world.h).
inline constexpr double kPlaceLayoutSeparationKm = 0.11;

struct LatLon {
  double lat = 0;
  double lon = 0;
};

struct Anchor {
  const char* name;  // lower-case ASCII letters only: it names a directory
  double lat;
  double lon;
  // The city's places are laid out on both sides of longitude 180 (its centre lies on it).
  bool straddles_antimeridian = false;
};

struct AnchorRegion {
  const char* name;
  std::vector<Anchor> anchors;
};

// The built-in regions in their fixed order. Region 0 ("bering") opens with Wrangel Island
// (71.24 N on longitude 180), so every world, however small, has a city above 70 degrees that
// straddles the antimeridian; region 1 opens with Taveuni (Fiji, on 180) and region 2 with
// Longyearbyen (78.2 N). Any two anchors are more than 80 km apart.
const std::vector<AnchorRegion>& AnchorRegions();

// Wraps a longitude into [-180, 180).
double WrapLongitude(double lon);
// Great-circle distance in km (haversine).
double HaversineKm(const LatLon& a, const LatLon& b);
// The point reached from `from` by going `east_km` east and `north_km` north, measured as a
// great-circle distance and initial bearing (an azimuthal-equidistant offset, exact in distance
// from `from` at any latitude but the poles). The longitude is wrapped into [-180, 180).
LatLon Destination(const LatLon& from, double east_km, double north_km);

struct Offset {
  double east_km = 0;
  double north_km = 0;
};

// How many places the layout can fit in a city of this radius (see LayoutPlaces).
int PlaceCapacity(double city_radius_km);

// `count` offsets within `radius_km` of the centre, pairwise at least kPlaceLayoutSeparationKm
// apart (in the plane), drawn from `rng`: a hexagonal lattice centred on the city with a random
// rotation, spaced so that it holds about twice `count` points, a random choice of its points, each
// jittered by less than half the slack between spacing and separation. With `both_sides` and
// count >= 2, at least one place lies east and one west of the centre's meridian.
// Precondition: 1 <= count <= PlaceCapacity(radius_km).
std::vector<Offset> LayoutPlaces(Rng& rng, double radius_km, int count, bool both_sides);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_GEOGRAPHY_H_
