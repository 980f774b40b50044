#include "core/calibration/conformal.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace geoloc::calibration {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Relative tolerance for (n + 1) a being an integer (see the header).
constexpr double kIntegerTolerance = 1e-9;

}  // namespace

absl::Status ValidateLevel(double level) {
  if (!(level > 0 && level < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a confidence level must lie strictly between 0 and 1 (e.g. 0.9), got ", level));
  }
  return absl::OkStatus();
}

int64_t ConformalRank(int64_t n, double level) {
  const double x = static_cast<double>(n + 1) * level;
  const double k = std::ceil(x - kIntegerTolerance * std::max(1.0, x));
  return std::max<int64_t>(1, static_cast<int64_t>(k));
}

double ConformalCoverage(int64_t n, double level) {
  const int64_t k = ConformalRank(n, level);
  return k > n ? 1.0 : static_cast<double>(k) / static_cast<double>(n + 1);
}

absl::StatusOr<double> ConformalQuantile(absl::Span<const double> scores, double level) {
  if (absl::Status s = ValidateLevel(level); !s.ok()) return s;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i]) || scores[i] == -kInfinity) {
      return absl::InvalidArgumentError(absl::StrCat("non-conformity score ", i, " is ", scores[i],
                                                     ": scores are -log densities, never NaN "
                                                     "or -infinity"));
    }
  }
  const int64_t n = static_cast<int64_t>(scores.size());
  const int64_t k = ConformalRank(n, level);
  if (k > n) return kInfinity;
  std::vector<double> s(scores.begin(), scores.end());
  std::nth_element(s.begin(), s.begin() + (k - 1), s.end());
  return s[k - 1];
}

double ConformalQuantileOfSorted(absl::Span<const double> sorted_scores, double level) {
  assert(std::is_sorted(sorted_scores.begin(), sorted_scores.end()));
  const int64_t n = static_cast<int64_t>(sorted_scores.size());
  const int64_t k = ConformalRank(n, level);
  return k > n ? kInfinity : sorted_scores[k - 1];
}

}  // namespace geoloc::calibration
