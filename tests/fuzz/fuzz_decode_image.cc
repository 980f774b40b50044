// libFuzzer target: untrusted bytes as an uploaded image (ReadImageHeader, DecodeImage,
// PreprocessInto), with the contracts checked by DecodeAndCheck. docs/TESTING.md says how to run
// it for longer and how to reproduce a finding.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "tests/fuzz/decode_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  geoloc::fuzz::DecodeAndCheck(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
