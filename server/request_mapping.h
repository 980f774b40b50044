// Requests in, answers out: the translation between geoloc.v1 messages and core/engine types.
//
//   GEOLOC_ASSIGN_OR_RETURN(engine::LocateParams params,
//                           ToLocateParams(request.options(), config.defaults, config.max_k));
//   ToLocateResponse(result, *locator, &response);
//
// Pure functions; safe from any thread.
#ifndef GEOLOC_SERVER_REQUEST_MAPPING_H_
#define GEOLOC_SERVER_REQUEST_MAPPING_H_

#include "absl/status/statusor.h"
#include "core/engine/locate_params.h"
#include "core/engine/locator.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::server {

// Unset/zero fields take `defaults`; INVALID_ARGUMENT naming the option when one is out of range.
absl::StatusOr<engine::LocateParams> ToLocateParams(const geoloc::v1::LocateOptions& options,
                                                    const engine::LocateParams& defaults,
                                                    int max_k);
// The server's defaults as a LocateOptions message (GetStatus).
geoloc::v1::LocateOptions ToLocateOptions(const engine::LocateParams& params);

geoloc::v1::Estimator ToProtoEstimator(geo::EstimatorKind kind);

void ToLocateResponse(const engine::LocateResult& result, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      geoloc::v1::LocateResponse* response);
void ToExplainResponse(const engine::ExplainResult& result, const engine::Locator& locator,
                       geoloc::v1::ExplainResponse* response);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_REQUEST_MAPPING_H_
