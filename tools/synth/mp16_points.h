// The 100,000 real photo locations the synthetic planet is drawn from (MP-16 via GeoCLIP, MIT
// licence: tools/synth/data/README.md), compiled into the library so that generating a world never
// depends on a file next to the binary.
//
//   const std::vector<LatLon>& points = Mp16Points();  // parsed once, then shared
//   LatLon p = points[17];
//
// Thread-safe: the first call parses the embedded CSV (about 10 ms) under a static initialiser;
// every later call returns the same immutable vector.
#ifndef GEOLOC_TOOLS_SYNTH_MP16_POINTS_H_
#define GEOLOC_TOOLS_SYNTH_MP16_POINTS_H_

#include <vector>

#include "tools/synth/geography.h"

namespace geoloc::synth {

// The number of rows in the embedded file (checked when it is parsed).
inline constexpr int kMp16PointCount = 100'000;

// Every row of the file in file order, longitudes wrapped into [-180, 180). A build whose embedded
// file does not parse to kMp16PointCount valid rows aborts on first use with a message (the file is
// part of the source tree, so this is a broken build, not bad input).
const std::vector<LatLon>& Mp16Points();

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_MP16_POINTS_H_
