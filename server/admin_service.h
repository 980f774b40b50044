// The geoloc.v1.IndexAdmin service: SwapIndex and GetStatus, behind the admin token.
//
//   IndexAdminService admin(config, swap, status, &auth, &metrics, audit_log);  // SwapFn, StatusFn
//   builder.RegisterService(&admin);
//
// Access (case table):
//   admin tokens configured                       -> they are required (auth.h)
//   no admin tokens, client tokens configured     -> PERMISSION_DENIED: the admin API is off rather
//                                                    than open on an otherwise protected server
//   no tokens at all                              -> open (development; geolocd logs a warning)
// SwapIndex paths go through ResolveBundlePath (bundle_path_policy.h) before anything is loaded.
// The swap itself runs on the admin thread, never on a gRPC thread. Every call gets an audit line
// when `audit_log` is not null (audit_log.h). Thread-safe.
#ifndef GEOLOC_SERVER_ADMIN_SERVICE_H_
#define GEOLOC_SERVER_ADMIN_SERVICE_H_

#include <functional>
#include <memory>

#include "core/common/thread_pool.h"
#include "geoloc/v1/geoloc.grpc.pb.h"
#include "server/audit_log.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/server_config.h"

namespace geoloc::server {

class IndexAdminService final : public geoloc::v1::IndexAdmin::CallbackService {
 public:
  // Swaps to the bundle at a resolved path (trigger "rpc"), filling the response.
  using SwapFn = std::function<absl::Status(const std::string& path,
                                            geoloc::v1::SwapIndexResponse* response)>;
  using StatusFn = std::function<void(geoloc::v1::GetStatusResponse* response)>;

  IndexAdminService(const ServerConfig& config, SwapFn swap, StatusFn status,
                    const AuthState* auth, ServerMetrics* metrics, AuditLog* audit_log);
  ~IndexAdminService() override;

  grpc::ServerUnaryReactor* SwapIndex(grpc::CallbackServerContext* ctx,
                                      const geoloc::v1::SwapIndexRequest* request,
                                      geoloc::v1::SwapIndexResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const geoloc::v1::GetStatusRequest* request,
                                      geoloc::v1::GetStatusResponse* response) override;

 private:
  // `*caller` receives the admin token's name.
  absl::Status AuthorizeAdmin(const grpc::CallbackServerContext& ctx, std::string* caller) const;

  const ServerConfig& config_;
  const SwapFn swap_;
  const StatusFn status_;
  const AuthState* const auth_;
  ServerMetrics* const metrics_;
  AuditLog* const audit_log_;  // null: no audit log
  ThreadPool admin_thread_{1};  // swaps are serialised here
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_ADMIN_SERVICE_H_
