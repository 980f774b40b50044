#include "core/calibration/isotonic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc::calibration {
namespace {

struct Block {
  double sum_wy = 0;
  double sum_w = 0;
  double first_x = 0;
  double last_x = 0;
  double mean() const { return sum_wy / sum_w; }
};

}  // namespace

namespace {

// Validates the points and pools adjacent violators; blocks in increasing x with increasing means.
absl::StatusOr<std::vector<Block>> PoolAdjacentViolators(absl::Span<const double> x,
                                                         absl::Span<const double> y,
                                                         absl::Span<const double> weights) {
  if (x.empty()) return absl::InvalidArgumentError("isotonic regression needs at least one point");
  if (x.size() != y.size() || (!weights.empty() && weights.size() != x.size())) {
    return absl::InvalidArgumentError(absl::StrCat("isotonic regression: ", x.size(), " x, ",
                                                   y.size(), " y and ", weights.size(),
                                                   " weights"));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || !(w > 0) || !std::isfinite(w)) {
      return absl::InvalidArgumentError(
          absl::StrCat("isotonic regression: point ", i, " (x ", x[i], ", y ", y[i], ", weight ", w,
                       ") needs finite values and a positive weight"));
    }
  }
  std::vector<int> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return x[a] < x[b]; });
  std::vector<Block> blocks;
  for (size_t r = 0; r < order.size(); ++r) {
    const int i = order[r];
    const double w = weights.empty() ? 1.0 : weights[i];
    if (!blocks.empty() && blocks.back().last_x == x[i]) {  // equal x: pool first
      blocks.back().sum_wy += w * y[i];
      blocks.back().sum_w += w;
    } else {
      blocks.push_back({w * y[i], w, x[i], x[i]});
    }
    // Pool adjacent violators (and equal means: the fit is the same with fewer knots). Equal-x
    // pooling happens before this, so a pooled point's block is settled only once it is whole.
    const bool next_is_same_x = r + 1 < order.size() && x[order[r + 1]] == x[i];
    while (!next_is_same_x && blocks.size() >= 2 &&
           blocks[blocks.size() - 2].mean() >= blocks.back().mean()) {
      Block top = blocks.back();
      blocks.pop_back();
      blocks.back().sum_wy += top.sum_wy;
      blocks.back().sum_w += top.sum_w;
      blocks.back().last_x = top.last_x;
    }
  }
  return blocks;
}

// Knots: each block's first and last x (one knot when equal) at the block's value.
void KnotsOf(const std::vector<Block>& blocks, const std::vector<double>& values,
             std::vector<double>* x, std::vector<double>* y) {
  for (size_t b = 0; b < blocks.size(); ++b) {
    x->push_back(blocks[b].first_x);
    y->push_back(values[b]);
    if (blocks[b].last_x != blocks[b].first_x) {
      x->push_back(blocks[b].last_x);
      y->push_back(values[b]);
    }
  }
}

}  // namespace

absl::StatusOr<IsotonicFunction> IsotonicFunction::Fit(absl::Span<const double> x,
                                                       absl::Span<const double> y,
                                                       absl::Span<const double> weights) {
  GEOLOC_ASSIGN_OR_RETURN(const std::vector<Block> blocks, PoolAdjacentViolators(x, y, weights));
  std::vector<double> means;
  for (const Block& b : blocks) means.push_back(b.mean());
  IsotonicFunction f;
  KnotsOf(blocks, means, &f.x_, &f.y_);
  return f;
}

absl::StatusOr<IsotonicFunction> IsotonicFunction::FitProbability(
    absl::Span<const double> x, absl::Span<const double> outcomes) {
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i] != 0.0 && outcomes[i] != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("isotonic probability: outcome ", i, " is ", outcomes[i], ", not 0 or 1"));
    }
  }
  GEOLOC_ASSIGN_OR_RETURN(const std::vector<Block> blocks, PoolAdjacentViolators(x, outcomes, {}));
  std::vector<double> means;
  for (const Block& b : blocks) means.push_back(b.mean());
  const size_t last = blocks.size() - 1;
  auto jeffreys = [&](size_t b) { return (blocks[b].sum_wy + 0.5) / (blocks[b].sum_w + 1.0); };
  if (last == 0) {
    means[0] = jeffreys(0);
  } else {
    // Within the neighbouring block's mean, so the function stays non-decreasing.
    means[0] = std::min(jeffreys(0), blocks[1].mean());
    means[last] = std::max(jeffreys(last), blocks[last - 1].mean());
  }
  IsotonicFunction f;
  KnotsOf(blocks, means, &f.x_, &f.y_);
  return f;
}

absl::StatusOr<IsotonicFunction> IsotonicFunction::FromKnots(std::vector<double> x,
                                                             std::vector<double> y) {
  if (x.empty() || x.size() != y.size()) {
    return absl::InvalidArgumentError(absl::StrCat("isotonic knots: ", x.size(), " x and ",
                                                   y.size(), " y (need the same number, >= 1)"));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      return absl::InvalidArgumentError(absl::StrCat("isotonic knot ", i, " is not finite"));
    }
    if (i > 0 && (x[i] < x[i - 1] || y[i] < y[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("isotonic knots must be non-decreasing in x and y; knot ", i, " is not"));
    }
    if (i > 1 && x[i] == x[i - 2]) {
      return absl::InvalidArgumentError(
          absl::StrCat("isotonic knots: x = ", x[i], " appears three times"));
    }
  }
  IsotonicFunction f;
  f.x_ = std::move(x);
  f.y_ = std::move(y);
  return f;
}

double IsotonicFunction::operator()(double x) const {
  if (std::isnan(x)) return y_.front();
  if (x <= x_.front()) return y_.front();
  if (x >= x_.back()) return y_.back();
  const size_t hi = static_cast<size_t>(std::upper_bound(x_.begin(), x_.end(), x) - x_.begin());
  const size_t lo = hi - 1;
  const double span = x_[hi] - x_[lo];
  if (span <= 0) return y_[hi];
  return y_[lo] + (y_[hi] - y_[lo]) * (x - x_[lo]) / span;
}

}  // namespace geoloc::calibration
