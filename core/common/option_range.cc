#include "core/common/option_range.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace geoloc {

bool InRange(const IntRange& range, int64_t value) {
  return value >= range.min && value <= range.max;
}

bool InRange(const RealRange& range, double value) {
  // Written so that NaN fails (every comparison with NaN is false).
  const bool above_min = range.min_exclusive ? value > range.min : value >= range.min;
  const bool below_max = range.max_exclusive ? value < range.max : value <= range.max;
  return std::isfinite(value) && above_min && below_max;
}

std::string DescribeRange(const IntRange& range) {
  return absl::StrCat(range.min, " to ", range.max);
}

std::string DescribeRange(const RealRange& range) {
  std::string text;
  if (!range.min_exclusive && !range.max_exclusive) {
    text = absl::StrCat(range.min, " to ", range.max);
  } else {
    text = absl::StrCat(range.min_exclusive ? "more than " : "at least ", range.min, ", ",
                        range.max_exclusive ? "less than " : "at most ", range.max);
  }
  if (!range.unit.empty()) absl::StrAppend(&text, " ", range.unit);
  return text;
}

absl::Status CheckRange(const IntRange& range, int64_t value) {
  if (InRange(range, value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      range.name, " = ", value, " is out of range (allowed: ", DescribeRange(range), ")"));
}

absl::Status CheckRange(const RealRange& range, double value) {
  if (InRange(range, value)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(range.name, " = ", value,
                   std::isfinite(value) ? " is out of range" : " must be a finite number",
                   " (allowed: ", DescribeRange(range), ")"));
}

}  // namespace geoloc
