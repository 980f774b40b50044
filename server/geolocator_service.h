// The geoloc.v1.Geolocator service (gRPC callback API): Locate, Explain, LocateStream and
// LocateIncident (its photos go through the same pipeline, then engine::CombineIncident).
//
//   GeolocatorService service(config, &pipeline, &explainer, &auth, &metrics, audit_log);
//   builder.RegisterService(&service);
//
// Every call is authorised first (bearer token, auth.h), then its options are validated against
// the server's limits, then the work goes to the LocatePipeline (Locate, LocateStream) or the
// Explain executor. Handlers never block a gRPC thread on inference: reactors finish from the
// pipeline's threads.
//
// LocateStream flow control: at most max_stream_in_flight images of one stream are in the
// pipeline; reading pauses until answers are written, so a fast sender cannot queue unbounded
// work. Each answer carries the item's id and status; one bad image does not end the stream.
// More than max_stream_images items end the stream with RESOURCE_EXHAUSTED.
//
// Audit (audit_log.h, when `audit_log` is not null): one line per call (Locate, Explain,
// LocateStream, LocateIncident with every photo's hash) when it replies, plus one per stream item ("LocateStream/item") when answered.
//
// Thread-safe; the referenced objects must outlive the service (and the gRPC server).
#ifndef GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_
#define GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_

#include "core/engine/locator.h"
#include "geoloc/v1/geoloc.grpc.pb.h"
#include "server/audit_log.h"
#include "server/auth.h"
#include "server/explain_executor.h"
#include "server/locate_pipeline.h"
#include "server/metrics.h"
#include "server/server_config.h"

namespace geoloc::server {

// The pipeline geolocd runs: the engine's snapshots and answers.
using EngineLocatePipeline = LocatePipeline<engine::Locator, engine::LocateResult>;

class GeolocatorService final : public geoloc::v1::Geolocator::CallbackService {
 public:
  GeolocatorService(const ServerConfig& config, EngineLocatePipeline* pipeline,
                    ExplainExecutor* explainer, const AuthState* auth, ServerMetrics* metrics,
                    AuditLog* audit_log);

  grpc::ServerUnaryReactor* Locate(grpc::CallbackServerContext* ctx,
                                   const geoloc::v1::LocateRequest* request,
                                   geoloc::v1::LocateResponse* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* ctx,
                                    const geoloc::v1::ExplainRequest* request,
                                    geoloc::v1::ExplainResponse* response) override;
  grpc::ServerBidiReactor<geoloc::v1::LocateStreamRequest, geoloc::v1::LocateStreamResponse>*
  LocateStream(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* LocateIncident(grpc::CallbackServerContext* ctx,
                                           const geoloc::v1::LocateIncidentRequest* request,
                                           geoloc::v1::LocateIncidentResponse* response) override;

  const ServerConfig& config() const { return config_; }
  EngineLocatePipeline* pipeline() const { return pipeline_; }
  ExplainExecutor* explainer() const { return explainer_; }
  const AuthState& auth() const { return *auth_; }
  ServerMetrics* metrics() const { return metrics_; }
  AuditLog* audit_log() const { return audit_log_; }  // null: no audit log

 private:
  const ServerConfig& config_;
  EngineLocatePipeline* const pipeline_;
  ExplainExecutor* const explainer_;
  const AuthState* const auth_;
  ServerMetrics* const metrics_;
  AuditLog* const audit_log_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_GEOLOCATOR_SERVICE_H_
