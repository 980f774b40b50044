// The transport-neutral part of the Geolocator API: what a Locate or Explain call does once a
// transport (gRPC: geolocator_service.h, HTTP/JSON: http_api.h) has its request message. Both
// transports call the same object, so they share one admission path, one queue (the pipeline's)
// and one set of checks and metrics.
//
//   CallContext call{"http", authorization_header, deadline, /*cancelled=*/nullptr};
//   calls.Locate(call, request, &response, [&](const absl::Status& st) { ...reply... });
//
// Per call, in this order: the caller's token (client role, auth.h), the options against the
// server's limits (request_options.h), the image bytes; then the pipeline (Locate) or the Explain
// executor, whose case tables say what admission does. `done` is called exactly once, after
// `*response` is filled (when OK): possibly before Locate() returns (a refused call), otherwise
// on a pipeline thread, where it must not block for long. The call's code and latency are
// recorded in geoloc_requests_total / geoloc_request_duration_seconds with the call's transport
// label just before `done` runs. `request` and `response` must stay alive until `done`.
//
// Thread-safe; the referenced objects must outlive it and every call in flight.
#ifndef GEOLOC_SERVER_GEOLOCATOR_CALLS_H_
#define GEOLOC_SERVER_GEOLOCATOR_CALLS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/engine/locator.h"
#include "geoloc/v1/geoloc.pb.h"
#include "server/auth.h"
#include "server/explain_executor.h"
#include "server/locate_pipeline.h"
#include "server/metrics.h"
#include "server/server_config.h"

namespace geoloc::server {

// The pipeline geolocd runs: the engine's snapshots and answers.
using EngineLocatePipeline = LocatePipeline<engine::Locator, engine::LocateResult>;

// Transport labels of the request metrics.
inline constexpr char kGrpcTransport[] = "grpc";
inline constexpr char kHttpTransport[] = "http";

// What a transport knows about one call.
struct CallContext {
  const char* transport = kGrpcTransport;    // kGrpcTransport or kHttpTransport
  std::optional<std::string> authorization;  // the Authorization header, when sent
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty; callable until `done` has run
};

// Counts a call in the in-flight gauge and records its code and latency once. Recorded just
// before the reply is sent, so a scrape that follows a response always sees it; a record never
// completed (the call was dropped) counts as CANCELLED.
class CallRecord {
 public:
  CallRecord(ServerMetrics* metrics, const char* method, const char* transport);
  ~CallRecord();
  CallRecord(const CallRecord&) = delete;
  CallRecord& operator=(const CallRecord&) = delete;
  void Record(absl::StatusCode code);
  absl::Time start() const { return start_; }

 private:
  ServerMetrics* const metrics_;
  const char* const method_;
  const char* const transport_;
  const absl::Time start_;
  bool recorded_ = false;
};

class GeolocatorCalls {
 public:
  using Done = std::function<void(const absl::Status& status)>;

  GeolocatorCalls(const ServerConfig& config, EngineLocatePipeline* pipeline,
                  ExplainExecutor* explainer, const AuthState* auth, ServerMetrics* metrics);

  void Locate(CallContext call, const geoloc::v1::LocateRequest& request,
              geoloc::v1::LocateResponse* response, Done done);
  void Explain(CallContext call, const geoloc::v1::ExplainRequest& request,
               geoloc::v1::ExplainResponse* response, Done done);

  const ServerConfig& config() const { return config_; }
  EngineLocatePipeline* pipeline() const { return pipeline_; }
  const AuthState& auth() const { return *auth_; }
  ServerMetrics* metrics() const { return metrics_; }

 private:
  const ServerConfig& config_;
  EngineLocatePipeline* const pipeline_;
  ExplainExecutor* const explainer_;
  const AuthState* const auth_;
  ServerMetrics* const metrics_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_GEOLOCATOR_CALLS_H_
