// Small pieces every RPC handler uses: status conversion, bearer-token checks, deadlines.
//
//   absl::Status st = Authorize(*ctx, *auth->client());  // OK, UNAUTHENTICATED, PERMISSION_DENIED
//   if (!st.ok()) reactor->Finish(ToGrpcStatus(st));
//   job.deadline = CallDeadline(*ctx);
#ifndef GEOLOC_SERVER_CALL_SUPPORT_H_
#define GEOLOC_SERVER_CALL_SUPPORT_H_

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
// Checks the call's `authorization` metadata against `tokens` (auth.h's case table). On OK,
// `*caller` (when given) receives the token's name (unchanged when no tokens are configured).
absl::Status Authorize(const grpc::CallbackServerContext& ctx, const TokenSet& tokens,
                       std::string* caller = nullptr);
// The call's deadline (InfiniteFuture when the caller set none).
absl::Time CallDeadline(const grpc::CallbackServerContext& ctx);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_CALL_SUPPORT_H_
