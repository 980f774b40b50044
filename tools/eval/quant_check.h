// The int8 accuracy guard: what a quantized model costs against the fp32 original it came from,
// on one validation query set, and whether that cost is inside the documented tolerance
// (docs/MODEL.md "The accuracy guard").
//
//   GEOLOC_ASSIGN_OR_RETURN(QuantCheckReport r,
//                           CompareQuantized(fp32_run, int8_run, 60, kde, QuantTolerance{}));
//   if (!r.refusals.empty()) { /* refuse the int8 model */ }
//
// Both runs are RetrieveAll over the same query list (in the same order), each model searching
// the bundle built with itself: that is what serving the int8 model means (an int8 model only
// serves an int8-built bundle: core/index/manifest.h CheckModelMatches). Compared: the query
// descriptors (cosine, mean and min), recall@1 and @5 within 25 m, and the accuracy at 1 km and
// 25 km of the given estimator; all over the localizable queries. When the quantized run's model
// names its fp32 original (ModelInfo::fp32_fingerprint), a reference with another fingerprint is
// refused too. Pure function; thread-safe.
#ifndef GEOLOC_TOOLS_EVAL_QUANT_CHECK_H_
#define GEOLOC_TOOLS_EVAL_QUANT_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/geo/estimator_options.h"
#include "tools/eval/evaluation.h"

namespace geoloc::eval {

// The tolerance: drops are in points (percentage points: 0.012 -> 0.001 recall is 1.1 points).
struct QuantTolerance {
  double max_drop_points = 1.0;    // recall@1, recall@5, accuracy at 1 km and 25 km, each
  double min_mean_cosine = 0.99;   // query descriptors, int8 vs fp32
};

struct QuantMetric {
  std::string name;  // "recall@1", "recall@5", "accuracy@1km", "accuracy@25km"
  double reference = 0, quantized = 0;
  double drop_points() const { return 100.0 * (reference - quantized); }
};

struct QuantCheckReport {
  std::string reference_model, quantized_model;  // name@fingerprint of each run
  int64_t queries = 0;                           // localizable queries compared
  double cosine_mean = 0, cosine_min = 0;        // per query descriptor, int8 vs fp32
  std::string estimator;                          // the accuracy rows' estimator label
  std::vector<QuantMetric> metrics;
  std::vector<std::string> refusals;  // one line per tolerance exceeded; empty: accepted
};

// INVALID_ARGUMENT when the runs are not over the same queries (count, order, truth), when a run
// has no descriptors or the dimensions differ, or when no query is localizable.
absl::StatusOr<QuantCheckReport> CompareQuantized(const RetrievalRun& reference,
                                                  const RetrievalRun& quantized, int k,
                                                  const geo::EstimatorOptions& estimator,
                                                  const QuantTolerance& tolerance);

}  // namespace geoloc::eval

#endif  // GEOLOC_TOOLS_EVAL_QUANT_CHECK_H_
