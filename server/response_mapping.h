// Answers out: engine results -> geoloc.v1 responses (the other direction, request options ->
// engine::LocateParams, is request_options.h).
//
//   ToLocateResponse(result, params, options.return_neighbors(), *snapshot, &response);
//   ToExplainResponse(explain_result, *snapshot, &explain_response);
//
// Pure functions; safe from any thread. `locator` is the snapshot that produced the result (its
// versions and score kind are written into the response).
#ifndef GEOLOC_SERVER_RESPONSE_MAPPING_H_
#define GEOLOC_SERVER_RESPONSE_MAPPING_H_

#include "core/engine/locate_params.h"
#include "core/engine/locator.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::server {

void ToLocateResponse(const engine::LocateResult& result, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      geoloc::v1::LocateResponse* response);
void ToExplainResponse(const engine::ExplainResult& result, const engine::Locator& locator,
                       geoloc::v1::ExplainResponse* response);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_RESPONSE_MAPPING_H_
