// geolocd, the server: owns the model, the current snapshot, the pipelines, the gRPC server, the
// HTTP/JSON API (with --http_address), the metrics endpoint and the swap triggers. main.cc drives
// it; integration tests embed the same lifecycle through the binary.
//
//   Geolocd server(config);
//   GEOLOC_RETURN_IF_ERROR(server.Start());   // listening; Health NOT_SERVING, calls UNAVAILABLE
//   GEOLOC_RETURN_IF_ERROR(server.Load());    // model + bundle loaded; Health SERVING
//   ... server.Reload("sighup") on SIGHUP ...
//   bool clean = server.Drain(absl::Seconds(20));  // on SIGTERM
//
// Lifecycle (case table):
//   after Start()            listening, Health NOT_SERVING, Geolocator calls -> UNAVAILABLE
//   after Load() succeeds    Health SERVING
//   Load() fails             stays NOT_SERVING; the caller exits non-zero
//   Reload()/SwapIndex/watch a new bundle is loaded off the serving path; on failure the old one
//                            keeps serving and the error is recorded (GetStatus, metrics)
//   Drain(grace)             Health NOT_SERVING, new calls refused, in-flight calls finish;
//                            calls still running after `grace` are cancelled. Returns false then.
// Thread-safe: Reload may be called from a signal thread while calls are served.
#ifndef GEOLOC_SERVER_GEOLOCD_H_
#define GEOLOC_SERVER_GEOLOCD_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/common/mutex.h"
#include "core/engine/locator.h"
#include "grpcpp/grpcpp.h"
#include "server/admin_service.h"
#include "server/auth.h"
#include "server/explain_executor.h"
#include "server/geolocator_calls.h"
#include "server/geolocator_service.h"
#include "server/http_api.h"
#include "server/locate_pipeline.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/snapshot_manager.h"

namespace geoloc::server {

class Geolocd {
 public:
  explicit Geolocd(ServerConfig config);
  ~Geolocd();
  Geolocd(const Geolocd&) = delete;
  Geolocd& operator=(const Geolocd&) = delete;

  absl::Status Start();
  absl::Status Load();
  // Re-reads the token files and reloads --bundle (following links). `trigger`: "sighup", "watch".
  absl::Status Reload(const std::string& trigger);
  bool Drain(absl::Duration grace);

  int port() const { return port_; }
  int metrics_port() const { return metrics_.port(); }
  int http_port() const { return http_ ? http_->port() : 0; }
  bool serving() const { return serving_.load(); }

 private:
  absl::Status SwapTo(const std::string& path, const std::string& trigger,
                      geoloc::v1::SwapIndexResponse* response);
  // The snapshot loader the SnapshotManager runs on every swap: engine::Locator::Load with the
  // loaded model and the bundle flags (--verify_checksums, --index_device).
  absl::StatusOr<std::shared_ptr<const engine::Locator>> LoadSnapshot(
      const std::string& path) const;
  void StopWatching();
  void FillStatus(geoloc::v1::GetStatusResponse* response) const;
  void SetServing(bool serving);
  void WatchLoop();
  std::shared_ptr<const model::Encoder> encoder() const;
  std::shared_ptr<const model::GradCam> grad_cam() const;
  std::shared_ptr<const places::Gazetteer> gazetteer() const;

  const ServerConfig config_;
  const absl::Time started_ = absl::Now();
  ServerMetrics metrics_;
  AuthState auth_;
  // Set once by Load(); read by swaps and GetStatus (which may run while Load is in progress).
  mutable Mutex model_mu_;
  std::shared_ptr<const model::Encoder> encoder_ ABSL_GUARDED_BY(model_mu_);
  std::shared_ptr<const model::GradCam> grad_cam_ ABSL_GUARDED_BY(model_mu_);
  // --gazetteer, loaded by Load() before the model; null without the flag.
  std::shared_ptr<const places::Gazetteer> gazetteer_ ABSL_GUARDED_BY(model_mu_);
  SnapshotManager<engine::Locator> snapshots_;
  EngineLocatePipeline pipeline_;
  ExplainExecutor explainer_;
  GeolocatorCalls calls_;  // Locate and Explain for both transports
  std::unique_ptr<GeolocatorService> geolocator_;
  std::unique_ptr<HttpApi> http_;
  std::unique_ptr<IndexAdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> serving_{false};
  Mutex swap_mu_;  // serialises SwapTo
  // The canonical path of the bundle serving now.
  std::string loaded_path_ ABSL_GUARDED_BY(swap_mu_);
  // Watch thread
  Mutex watch_mu_;
  CondVar watch_cv_;  // signalled when stop_watch_ is set
  bool stop_watch_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread watcher_;  // started by Load(), joined by StopWatching()
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_GEOLOCD_H_
