#include "tools/eval/quant_check.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/model/model_info.h"

namespace geoloc::eval {
namespace {

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

absl::Status SameQueries(const RetrievalRun& reference, const RetrievalRun& quantized) {
  if (reference.queries.size() != quantized.queries.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the runs answer different query sets: ", reference.queries.size(),
                     " queries (reference) and ", quantized.queries.size(), " (quantized)"));
  }
  for (size_t i = 0; i < reference.queries.size(); ++i) {
    const RetrievedQuery& r = reference.queries[i];
    const RetrievedQuery& q = quantized.queries[i];
    if (r.source != q.source || r.truth.lat != q.truth.lat || r.truth.lon != q.truth.lon ||
        r.localizable != q.localizable) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the runs answer different query sets: query ", i, " is '", r.source,
          "' in the reference and '", q.source, "' in the quantized run"));
    }
    if (r.descriptor.empty() || r.descriptor.size() != q.descriptor.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "query '", r.source, "': descriptors of dimension ", r.descriptor.size(),
          " (reference) and ", q.descriptor.size(),
          " (quantized); both runs must come from models of the same dimension"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QuantCheckReport> CompareQuantized(const RetrievalRun& reference,
                                                  const RetrievalRun& quantized, int k,
                                                  const geo::EstimatorOptions& estimator,
                                                  const QuantTolerance& tolerance) {
  if (absl::Status st = SameQueries(reference, quantized); !st.ok()) return st;
  QuantCheckReport report;
  report.reference_model = reference.model;
  report.quantized_model = quantized.model;
  double sum = 0, low = 1;
  for (size_t i = 0; i < reference.queries.size(); ++i) {
    if (!reference.queries[i].localizable) continue;
    const double c = Cosine(reference.queries[i].descriptor, quantized.queries[i].descriptor);
    sum += c;
    low = std::min(low, c);
    ++report.queries;
  }
  if (report.queries == 0) {
    return absl::InvalidArgumentError("the query set has no localizable query to compare on");
  }
  report.cosine_mean = sum / report.queries;
  report.cosine_min = low;

  const std::vector<double> r_ref = RecallAtN(reference, {1, 5});
  const std::vector<double> r_q = RecallAtN(quantized, {1, 5});
  const std::vector<double> thresholds = {1.0, 25.0};
  const EstimatorReport a_ref = Evaluate(reference, k, estimator, thresholds);
  const EstimatorReport a_q = Evaluate(quantized, k, estimator, thresholds);
  report.estimator = a_ref.label;
  report.metrics = {{"recall@1", r_ref[0], r_q[0]},
                    {"recall@5", r_ref[1], r_q[1]},
                    {"accuracy@1km", a_ref.accuracy[0], a_q.accuracy[0]},
                    {"accuracy@25km", a_ref.accuracy[1], a_q.accuracy[1]}};

  // An int8 archive names its fp32 original; a run from another reference is not its guard.
  const absl::StatusOr<model::ModelInfo> ref_info =
      model::ParseModelInfoJson(reference.model_info_json);
  const absl::StatusOr<model::ModelInfo> q_info =
      model::ParseModelInfoJson(quantized.model_info_json);
  if (ref_info.ok() && q_info.ok() && !q_info->fp32_fingerprint.empty() &&
      q_info->fp32_fingerprint != ref_info->fingerprint) {
    report.refusals.push_back(absl::StrCat(
        "the reference ", reference.model, " is not the quantized model's fp32 original (its "
        "archive names fingerprint ", q_info->fp32_fingerprint.substr(0, 12), ")"));
  }
  if (!(report.cosine_mean >= tolerance.min_mean_cosine)) {
    report.refusals.push_back(absl::StrFormat(
        "mean descriptor cosine to the fp32 original %.4f is below %.4f (a mismatched reference, "
        "or quantization that changed what the model sees)",
        report.cosine_mean, tolerance.min_mean_cosine));
  }
  for (const QuantMetric& m : report.metrics) {
    // 1e-9: a drop of exactly the tolerance (1 - 0.99 is 1.0000000000000009 points) passes.
    if (m.drop_points() > tolerance.max_drop_points + 1e-9) {
      report.refusals.push_back(absl::StrFormat(
          "%s drops by %.2f points (fp32 %.4f, quantized %.4f), more than the tolerated %.2f",
          m.name, m.drop_points(), m.reference, m.quantized, tolerance.max_drop_points));
    }
  }
  return report;
}

}  // namespace geoloc::eval
