// Every answer out: engine results and server state -> geoloc.v1 responses, in this one file (the
// other direction, request options -> engine::LocateParams, is request_options.h; enums map
// through proto/estimator_mapping.h).
//
//   ToLocateResponse(result, params, options.return_neighbors(), *snapshot, times,
//                    /*total_ms=*/12.5, &response);
//   ToExplainResponse(explain_result, *snapshot, /*decode_ms=*/3.1, /*total_ms=*/80, &response);
//   ToStatusResponse(state, &status_response);
//
// Pure functions; safe from any thread. `locator` is the snapshot that produced the result (its
// versions and score kind are written into the response).
#ifndef GEOLOC_SERVER_RESPONSE_MAPPING_H_
#define GEOLOC_SERVER_RESPONSE_MAPPING_H_

#include <memory>

#include "absl/status/status.h"
#include "core/engine/locate_params.h"
#include "core/engine/locator.h"
#include "core/model/encoder.h"
#include "core/places/gazetteer.h"
#include "geoloc/v1/geoloc.pb.h"
#include "server/locate_pipeline.h"
#include "server/server_config.h"
#include "server/snapshot_manager.h"

namespace geoloc::server {

// `times` are the pipeline's stage times; `total_ms` is from receipt to response (0 for a stream
// item, whose calls share one receipt).
void ToLocateResponse(const engine::LocateResult& result, const engine::LocateParams& params,
                      bool return_neighbors, const engine::Locator& locator,
                      const StageTimes& times, double total_ms,
                      geoloc::v1::LocateResponse* response);
void ToExplainResponse(const engine::ExplainResult& result, const engine::Locator& locator,
                       double decode_ms, double total_ms, geoloc::v1::ExplainResponse* response);
// A stream item's own status (one bad image does not end the stream).
void SetItemStatus(const absl::Status& status, geoloc::v1::LocateStreamResponse* response);

// The outcome of a successful swap (SwapIndex).
void ToSwapIndexResponse(const SnapshotManager<engine::Locator>::SwapResult& swap,
                         geoloc::v1::SwapIndexResponse* response);

// What GetStatus reports, gathered by Geolocd.
struct ServerState {
  bool serving = false;
  double uptime_seconds = 0;
  std::shared_ptr<const model::Encoder> encoder;    // null while the model loads
  std::shared_ptr<const engine::Locator> snapshot;  // null until a bundle is served
  std::shared_ptr<const places::Gazetteer> gazetteer;  // null: --gazetteer not given
  SwapRecord last_swap;
  // Required.
  const ServerConfig* config = nullptr;
  int queue_depth = 0;
  int in_flight = 0;
};
void ToStatusResponse(const ServerState& state, geoloc::v1::GetStatusResponse* response);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_RESPONSE_MAPPING_H_
