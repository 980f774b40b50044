#include "tools/synth/validation.h"

#include "absl/strings/str_cat.h"

namespace geoloc::synth {

absl::Status CheckRange(absl::string_view field, double value, double lo, double hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " = ", value, " is out of range [", lo, ", ", hi, "]"));
}

absl::Status CheckImageCount(int64_t images) {
  if (images <= kMaxImages) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the world would have ", images, " images; at most ", kMaxImages));
}

}  // namespace geoloc::synth
