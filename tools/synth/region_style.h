// A region's visual style: sky and ground colours, palette, which structures it builds, roofs,
// windows, ground pattern, mountains and foliage, drawn from the region's own random stream. The
// fixed world draws every scene from it (scene.cc); the planet refines it per city and
// neighbourhood (planet_scene.cc).
//
//   const RegionStyle style = MakeRegionStyle(options.seed, region);
//   const int kind = PickWeighted(rng, style.kind_weights.data(), kNumKinds);
//
// Pure function; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_REGION_STYLE_H_
#define GEOLOC_TOOLS_SYNTH_REGION_STYLE_H_

#include <array>
#include <cstdint>

#include "tools/synth/drawing.h"

namespace geoloc::synth {

enum Kind { kBlock, kTower, kHouse, kDomeHall, kArch, kTree, kPagoda, kNumKinds };
enum Roof { kFlat, kGable, kDome, kSpire, kStepped, kNumRoofs };
enum GroundPattern { kFurrows, kTiles, kScatter, kRoad, kNumGroundPatterns };

// Everything a region's places have in common. Lengths are in units of 1/400 of the scene width.
struct RegionStyle {
  Color sky_top, sky_bottom, ground, ground_accent, roof;
  std::array<Color, 5> palette;
  std::array<double, kNumKinds> kind_weights;
  std::array<double, kNumRoofs> roof_weights;
  double horizon_lo, horizon_hi;  // fraction of the scene height
  double height_lo, height_hi;    // structure height, fraction of the scene height
  double width_lo, width_hi;      // structure width, fraction of the scene width
  int structures_lo, structures_hi;
  double window_period, window_fill, window_aspect;
  Color window;
  int window_shape;  // 0 rectangle, 1 arched, 2 round
  double stripe_period, stripe_contrast;
  GroundPattern ground_pattern;
  double ground_period;
  bool mountains;
  Color mountain;
  double sun_probability;
  Color foliage;
  bool conifers;
  int trees_lo, trees_hi;
  double shading;  // amplitude of the low-frequency lighting
};

// Deterministic in (seed, region).
RegionStyle MakeRegionStyle(uint64_t seed, int region);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_REGION_STYLE_H_
