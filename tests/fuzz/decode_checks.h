// What both fuzzers do with image bytes: header, decode and preprocess, checking the contracts of
// image_decoder.h, image_header.h and preprocess.h on every input. A broken contract is a finding:
// the check prints what it saw and aborts, so libFuzzer saves the input as a crash file.
//
//   DecodeAndCheck(absl::string_view(reinterpret_cast<const char*>(data), size));
//
// Stateless; safe from any thread.
#ifndef GEOLOC_TESTS_FUZZ_DECODE_CHECKS_H_
#define GEOLOC_TESTS_FUZZ_DECODE_CHECKS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace geoloc::fuzz {

// Small limits keep each input fast (the fuzzer wants thousands of executions per second):
// images over 1 Mpx are refused on the header, and JPEGs are reduced towards a 48-pixel side.
inline constexpr int64_t kFuzzMaxPixels = int64_t{1} << 20;
inline constexpr int kFuzzTargetMinSide = 48;

// Checks, for any bytes:
//   - ReadImageHeader and InspectImage agree; a header that parses has sides >= 1.
//   - DecodeImage never throws and returns only the documented status codes.
//   - On success: CV_8UC3, continuous, the header's size divided by the documented JPEG reduction
//     and swapped for EXIF orientations 5-8, within kFuzzMaxPixels.
//   - PreprocessInto succeeds on it for two fixed models (centre crop and plain resize, odd sizes)
//     and every float it writes is a normalised byte value of its channel.
void DecodeAndCheck(absl::string_view bytes);

// Prints "fuzz check failed: <what>" to stderr and aborts.
[[noreturn]] void Fail(absl::string_view what);

}  // namespace geoloc::fuzz

#endif  // GEOLOC_TESTS_FUZZ_DECODE_CHECKS_H_
