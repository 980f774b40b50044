// Procedural scenes and their photographed views, the pixels of the synthetic world.
//
//   cv::Mat scene = RenderScene(options, region, place);         // the place itself
//   cv::Mat photo = RenderViewOfScene(scene, options, place, 0);  // one photograph of it
//
// A region's style (sky and ground, a palette, which structures it builds and how tall, roofs,
// window grids, facade and ground textures, trees) is drawn from the region's stream; a place draws
// its layout (horizon, mountains, sun, clouds, structures, a landmark in accent colours) within
// that style from its own stream. Views are crops at a random scale and position with a small
// rotation, then a colour shift, blur and sensor noise, each from the view's stream.
//
// Pure functions of their arguments; thread-safe. OpenCV may throw cv::Exception (only on
// allocation failure); callers at the API boundary turn it into a status.
#ifndef GEOLOC_TOOLS_SYNTH_SCENE_H_
#define GEOLOC_TOOLS_SYNTH_SCENE_H_

#include <cstdint>

#include "opencv2/core.hpp"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// The native scene size: 5/4 of the output size in each dimension, so that views crop real
// content instead of upsampling.
cv::Size SceneSize(const WorldOptions& options);

// BGR, SceneSize(options).
cv::Mat RenderScene(const WorldOptions& options, int region, int64_t place);

// BGR, image_width x image_height.
cv::Mat RenderViewOfScene(const cv::Mat& scene, const WorldOptions& options, int64_t place,
                          int view);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_SCENE_H_
