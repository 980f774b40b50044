// The accepted values of one numeric option, named the way the API, the flags and the error
// messages name it, so that a limit is written once, next to the option it bounds
// (core/geo/estimator_options.h, core/engine/locate_params.h), and every caller checks against it.
//
//   inline constexpr RealRange kBandwidthKmRange{"bandwidth_km", 0.001, 20000, false, false, "km"};
//   GEOLOC_RETURN_IF_ERROR(CheckRange(kBandwidthKmRange, options.bandwidth_km));
//
// Messages (INVALID_ARGUMENT):
//   value                      message
//   outside an IntRange        "max_peaks = 4294967295 is out of range (allowed: 1 to 100)"
//   outside a RealRange        "bandwidth_km = 0 is out of range (allowed: 0.001 to 20000 km)"
//   NaN or infinite (real)     "sigma_deg = nan must be a finite number (allowed: more than 0,
//                              at most 45 degrees)"
// Integers print in full (never "4.29497e+09"), so a wrapped or huge value shows as it was sent.
//
// Plain constexpr value types; the functions are pure and thread-safe.
#ifndef GEOLOC_CORE_COMMON_OPTION_RANGE_H_
#define GEOLOC_CORE_COMMON_OPTION_RANGE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace geoloc {

// [min, max] of an integer option.
struct IntRange {
  absl::string_view name;
  int64_t min = 0;
  int64_t max = 0;
};

// [min, max] of a real option, either end open when asked; `unit` follows the numbers in the
// message ("km", "degrees").
struct RealRange {
  absl::string_view name;
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;
  absl::string_view unit;
};

bool InRange(const IntRange& range, int64_t value);
bool InRange(const RealRange& range, double value);  // false for NaN and infinities

// OK inside the range, else INVALID_ARGUMENT as in the table above.
absl::Status CheckRange(const IntRange& range, int64_t value);
absl::Status CheckRange(const RealRange& range, double value);

// "1 to 100", "more than 0, at most 45 degrees": the "allowed" part of the messages (flag help).
std::string DescribeRange(const IntRange& range);
std::string DescribeRange(const RealRange& range);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_OPTION_RANGE_H_
