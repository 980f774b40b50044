// The planet world's layout (WorldKind::kPlanet): where its cities and places are, which photos
// each place has in which split, where each camera stood, how each collection photo was geotagged
// and under which conditions every photo was taken. No pixels (planet_scene.h, photo.h and
// distractors.h draw them).
//
//   GEOLOC_RETURN_IF_ERROR(ValidatePlanetLayout(options));
//   World world = PlanPlanet(options);
//
// How (docs/SYNTH.md has the why and the sources):
//   1. Cities: the 100,000 MP-16 photo locations clustered into cities of about 25 km (greedy,
//      densest first; seed-independent), `cities` of them drawn without replacement with
//      probability proportional to their photo count. Region: that of the nearest anchor city
//      (geography.h's 16 regions). Name: the anchor's within 60 km, else coordinates.
//   2. Places: spread over the drawn cities in proportion to their photo counts (largest
//      remainder, at least one each); each lies around a random MP-16 photo of its city (Gaussian,
//      place_jitter_m), at least min_place_separation_m from every other place.
//      Neighbourhood: its square of side neighbourhood_km on the city's local grid.
//   3. Roles: a place is a training place (train_place_share) or held out; a held-out place is a
//      query place (query_place_share; val, calib or test with equal probability) or database
//      only. Collection photos per place: min(max_views, floor(U^(-1/views_alpha))), a discrete
//      Pareto law; query photos per query place likewise; a query place has no database photo with
//      probability unindexed_share.
//   4. Photos: camera within view_radius_m of the place (uniform in the disc); collection photos
//      geotagged with GeotagNoise; conditions drawn from the split's CaptureProfile; each photo
//      slot adds a distractor of the same split with probability distractor_share
//      (query_distractor_share in query splits), taken at the same place.
// Every draw comes from a stream keyed by the seed and the ids involved (random.h).
//
// Internal to geoloc_synth. Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_PLANET_H_
#define GEOLOC_TOOLS_SYNTH_PLANET_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "tools/synth/geography.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// A city cluster of the MP-16 photo locations.
struct PhotoCluster {
  LatLon centre;            // the mean of its photos (on the sphere)
  std::vector<int> photos;  // indices into Mp16Points(), ascending
};

// The clusters, largest first (ties: lower first photo). Computed once (about 0.2 s), then shared;
// thread-safe.
const std::vector<PhotoCluster>& Mp16Cities();

// Checks options.planet; InvalidArgument naming the field and its valid range.
absl::Status ValidatePlanetLayout(const WorldOptions& options);

// Precondition: ValidateWorldOptions(options).ok() and options.kind == WorldKind::kPlanet.
World PlanPlanet(const WorldOptions& options);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_PLANET_H_
