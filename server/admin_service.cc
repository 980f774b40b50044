#include "server/admin_service.h"

#include <filesystem>

#include "absl/time/clock.h"
#include "server/bundle_path_policy.h"
#include "server/call_support.h"

namespace geoloc::server {

IndexAdminService::IndexAdminService(const ServerConfig& config, SwapFn swap, StatusFn status,
                                     const AuthState* auth, ServerMetrics* metrics)
    : config_(config),
      swap_(std::move(swap)),
      status_(std::move(status)),
      auth_(auth),
      metrics_(metrics) {}

IndexAdminService::~IndexAdminService() = default;

absl::Status IndexAdminService::AuthorizeAdmin(const grpc::CallbackServerContext& ctx) const {
  return geoloc::server::AuthorizeAdmin(*auth_, AuthorizationOf(ctx));
}

grpc::ServerUnaryReactor* IndexAdminService::SwapIndex(
    grpc::CallbackServerContext* ctx, const geoloc::v1::SwapIndexRequest* request,
    geoloc::v1::SwapIndexResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  const absl::Time start = absl::Now();
  auto reply = [this, reactor, start](const absl::Status& st) {
    metrics_->RecordRequest("SwapIndex", StatusCodeName(st.code()),
                            absl::ToDoubleSeconds(absl::Now() - start));
    reactor->Finish(ToGrpcStatus(st));
  };
  if (absl::Status st = AuthorizeAdmin(*ctx); !st.ok()) {
    reply(st);
    return reactor;
  }
  std::string root = config_.index_root;
  if (root.empty()) {
    // Without --index_root, bundles may be swapped only beside the startup bundle.
    root = std::filesystem::path(config_.bundle_path).lexically_normal().parent_path().string();
    if (root.empty()) root = ".";
  }
  absl::StatusOr<std::string> path = ResolveBundlePath(root, request->bundle_path());
  if (!path.ok()) {
    reply(path.status());
    return reactor;
  }
  admin_thread_.Schedule([this, resolved = *path, response, reply] {
    reply(swap_(resolved, response));
  });
  return reactor;
}

grpc::ServerUnaryReactor* IndexAdminService::GetStatus(grpc::CallbackServerContext* ctx,
                                                       const geoloc::v1::GetStatusRequest*,
                                                       geoloc::v1::GetStatusResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  const absl::Time start = absl::Now();
  absl::Status st = AuthorizeAdmin(*ctx);
  if (st.ok()) status_(response);
  metrics_->RecordRequest("GetStatus", StatusCodeName(st.code()),
                          absl::ToDoubleSeconds(absl::Now() - start));
  reactor->Finish(ToGrpcStatus(st));
  return reactor;
}

}  // namespace geoloc::server
