#include "proto/estimator_mapping.h"

#include "absl/strings/str_cat.h"

namespace geoloc::api {
namespace {

struct EstimatorRow {
  geo::EstimatorKind kind;
  v1::Estimator proto;
};

// The one table: every geo::EstimatorKind and its API value.
constexpr EstimatorRow kEstimators[] = {
    {geo::EstimatorKind::kNearest, v1::ESTIMATOR_NEAREST},
    {geo::EstimatorKind::kMean, v1::ESTIMATOR_MEAN},
    {geo::EstimatorKind::kWeightedMean, v1::ESTIMATOR_WEIGHTED_MEAN},
    {geo::EstimatorKind::kGridKde, v1::ESTIMATOR_GRID_KDE},
    {geo::EstimatorKind::kSphericalKde, v1::ESTIMATOR_SPHERICAL_KDE},
};

}  // namespace

v1::Estimator EstimatorToProto(geo::EstimatorKind kind) {
  for (const EstimatorRow& row : kEstimators) {
    if (row.kind == kind) return row.proto;
  }
  return v1::ESTIMATOR_UNSPECIFIED;
}

std::optional<geo::EstimatorKind> EstimatorFromProto(v1::Estimator estimator) {
  for (const EstimatorRow& row : kEstimators) {
    if (row.proto == estimator) return row.kind;
  }
  return std::nullopt;
}

std::string KnownProtoEstimators() {
  std::string out;
  for (const EstimatorRow& row : kEstimators) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", v1::Estimator_Name(row.proto), " (",
                    static_cast<int>(row.proto), ")");
  }
  return out;
}

}  // namespace geoloc::api
