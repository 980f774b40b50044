// Option checks shared by the fixed and planet layouts: one message format for every field.
//
//   GEOLOC_RETURN_IF_ERROR(CheckRange("cities", layout.cities, 1, 5000));
//
// Internal to geoloc_synth. Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_VALIDATION_H_
#define GEOLOC_TOOLS_SYNTH_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace geoloc::synth {

// Keeps the plan (a few hundred bytes per image) and the run within reason.
inline constexpr int64_t kMaxImages = 10'000'000;

// OK when lo <= value <= hi (NaN fails); else InvalidArgument "<field> = <value> is out of range
// [lo, hi]".
absl::Status CheckRange(absl::string_view field, double value, double lo, double hi);
// OK up to kMaxImages; else InvalidArgument naming the count.
absl::Status CheckImageCount(int64_t images);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_VALIDATION_H_
