// A photograph of a planet place: the panorama seen through one camera under one set of
// conditions (docs/SYNTH.md, "Appearance change"), in this order:
//   1. viewpoint   heading picks the panorama's columns, fov the zoom, the camera's offset from
//                  the place a small parallax shift and scale, pitch and roll the frame
//   2. occluders   vehicles (some in the city's taxi colour) and people in front of the scene
//   3. season      leaves turn (spring, autumn) or fall (winter); snow settles where it can
//   4. weather     overcast (grey sky, flat light), fog (contrast falls with depth), rain
//                  (dark, streaks, softer)
//   5. time        dusk (warm, dim, lights coming on) or night (dark, blue; windows, signs, lamps
//                  and floodlights glow)
//   6. camera      defocus, sensor noise (more in the dark)
// The JPEG quality and the EXIF orientation are applied when the file is encoded
// (synthetic_world.cc).
//
//   const Panorama pano = RenderPanorama(options, world, record.place);
//   cv::Mat photo = TakePhoto(options, world, pano, record);  // BGR, upright
//
// Pure functions of their arguments; thread-safe. OpenCV may throw cv::Exception (allocation).
#ifndef GEOLOC_TOOLS_SYNTH_PHOTO_H_
#define GEOLOC_TOOLS_SYNTH_PHOTO_H_

#include <cstdint>

#include "opencv2/core.hpp"
#include "tools/synth/planet_scene.h"
#include "tools/synth/random.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// The key of a photo's own random streams: unique per (place, split, view).
uint64_t PhotoKey(const ImageRecord& record);

// BGR, record.capture.width x record.capture.height, upright.
cv::Mat TakePhoto(const WorldOptions& options, const World& world, const Panorama& pano,
                  const ImageRecord& record);

// Step 6 alone (defocus and sensor noise from `rng`), in place on a BGR image; the distractors'
// camera too.
void ApplyCamera(const Capture& capture, Rng& rng, cv::Mat& image);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_PHOTO_H_
