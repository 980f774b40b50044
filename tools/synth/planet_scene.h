// The planet's places as 360-degree panoramas, drawn from four levels of style so that each level
// carries a visual signal of its own (docs/SYNTH.md, "Visual signal at every scale"):
//   | level         | stream (seed, id)              | what it sets                                 |
//   | region        | MakeRegionStyle + its climate  | sky, ground, palette, favoured structures,   |
//   |               |                                | mountains, vegetation (conifers, broadleaf,  |
//   |               |                                | palms), how much grows                       |
//   | city          | kCityStyle (city)              | architecture (a favourite structure and roof,|
//   |               |                                | palette turned, window shape, size, colour), |
//   |               |                                | signage (two colours, a script), street      |
//   |               |                                | lamps (shape, paint, light colour), road     |
//   |               |                                | markings, taxi colour                        |
//   | neighbourhood | kNeighbourhoodStyle (nbhd)     | density and height (downtown to suburb),     |
//   |               |                                | trees, pavement pattern, favoured facade     |
//   |               |                                | colours, awnings                             |
//   | place         | kPanorama (place)              | the layout around 360 degrees, the street's  |
//   |               |                                | direction, and the landmark at its heading   |
//   |               |                                | in colours and a shape of its own            |
// Besides the colours a panorama keeps the layers that photo.h needs to change its appearance:
// depth (fog), light sources (night), foliage (seasons) and where snow settles.
//
//   const Panorama pano = RenderPanorama(options, world, place_id);
//   cv::Mat photo = TakePhoto(options, world, pano, record);  // photo.h
//
// Pure functions of their arguments; thread-safe. OpenCV may throw cv::Exception (allocation).
#ifndef GEOLOC_TOOLS_SYNTH_PLANET_SCENE_H_
#define GEOLOC_TOOLS_SYNTH_PLANET_SCENE_H_

#include <cstdint>

#include "opencv2/core.hpp"
#include "tools/synth/drawing.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// What a city looks like beyond its panoramas' pixels (photo.h draws its taxis).
struct CityLook {
  Color taxi;
  Color lamp_light;  // sodium orange or LED white
};
CityLook MakeCityLook(uint64_t seed, int city);

struct Panorama {
  cv::Mat color;     // CV_8UC3, PanoramaSize: column x looks at heading 360 x / width
  cv::Mat depth;     // CV_8U: 0 nearest .. 250 the horizon; 255 the sky
  cv::Mat emission;  // CV_8UC3: what glows at night (lit windows, lamps, signs, floodlights)
  cv::Mat foliage;   // CV_8U: 255 on leaves
  cv::Mat snow;      // CV_8U: where snow settles (ground off the road, roofs, canopy tops)
  double horizon = 0;  // row of the horizon
};

// 5 x image_width wide (a 72-degree view spans image_width columns), 0.27 of that high.
cv::Size PanoramaSize(const WorldOptions& options);

// Precondition: `place` is an index into world.places.
Panorama RenderPanorama(const WorldOptions& options, const World& world, int64_t place);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_PLANET_SCENE_H_
