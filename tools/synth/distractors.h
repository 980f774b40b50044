// Photos that carry no location: an indoor room, the sky, a close-up, a generic texture
// (docs/SYNTH.md, "Distractors"). Their pixels come from the photo's own stream only, with
// colours drawn from one global palette: nothing in them depends on the region, city or place
// where they were taken, so no method can locate them better than by chance.
//
//   cv::Mat picture = RenderDistractor(options, record);  // record.scene != SceneKind::kPlace
//
// Pure function of its arguments; thread-safe. OpenCV may throw cv::Exception (allocation).
#ifndef GEOLOC_TOOLS_SYNTH_DISTRACTORS_H_
#define GEOLOC_TOOLS_SYNTH_DISTRACTORS_H_

#include "opencv2/core.hpp"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// BGR, record.capture.width x record.capture.height, upright, with the record's camera applied.
// An empty Mat for a record that shows a place.
cv::Mat RenderDistractor(const WorldOptions& options, const ImageRecord& record);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_DISTRACTORS_H_
