// A JPEG's EXIF Orientation tag, the way phones write it: the pixels are stored as the sensor saw
// them and the tag tells a viewer how to turn them upright.
//
//   cv::Mat stored = StoredForOrientation(upright, 6);     // turned 90 degrees anticlockwise
//   std::string file = WithOrientationTag(jpeg_bytes, 6); // viewers turn it back
//
// Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_EXIF_H_
#define GEOLOC_TOOLS_SYNTH_EXIF_H_

#include <string>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace geoloc::synth {

// The pixels to store so that a viewer applying EXIF `orientation` shows `upright`:
//   | orientation | viewer turns the stored image | stored = upright turned |
//   | 1           | not at all                    | not at all              |
//   | 3           | 180 degrees                   | 180 degrees             |
//   | 6           | 90 degrees clockwise          | 90 degrees anticlockwise|
//   | 8           | 90 degrees anticlockwise      | 90 degrees clockwise    |
// Other values are not written by the generator: the image is returned unchanged.
cv::Mat StoredForOrientation(const cv::Mat& upright, int orientation);

// `jpeg` with an APP1 Exif segment holding one IFD entry, Orientation = `orientation`, inserted
// after the SOI marker and a leading JFIF APP0 segment (the layout of cameras that write both).
// InvalidArgument when `jpeg` does not start with SOI or orientation is outside 1..8.
absl::StatusOr<std::string> WithOrientationTag(const std::string& jpeg, int orientation);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_EXIF_H_
