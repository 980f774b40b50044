// Small pieces every RPC handler uses: status conversion, the caller's token, deadlines.
//
//   absl::Status st = AuthorizeClient(auth, AuthorizationOf(*ctx));  // auth.h
//   if (!st.ok()) reactor->Finish(ToGrpcStatus(st));
//   job.deadline = CallDeadline(*ctx);
#ifndef GEOLOC_SERVER_CALL_SUPPORT_H_
#define GEOLOC_SERVER_CALL_SUPPORT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/auth.h"

namespace geoloc::server {

// absl and gRPC share the canonical code numbering; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);
// "OK", "INVALID_ARGUMENT", ... (the label of geoloc_requests_total).
std::string StatusCodeName(absl::StatusCode code);
// The call's `authorization` metadata; nullopt when absent.
std::optional<std::string> AuthorizationOf(const grpc::CallbackServerContext& ctx);
// The call's deadline (InfiniteFuture when the caller set none).
absl::Time CallDeadline(const grpc::CallbackServerContext& ctx);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_CALL_SUPPORT_H_
