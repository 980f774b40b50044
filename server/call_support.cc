#include "server/call_support.h"

#include <grpc/support/time.h>

#include <cstdint>
#include <limits>

#include "absl/status/status.h"

namespace geoloc::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string StatusCodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);  // "OK", "INVALID_ARGUMENT", ... (gRPC's names)
}

std::optional<std::string> AuthorizationOf(const grpc::CallbackServerContext& ctx) {
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

absl::Time CallDeadline(const grpc::CallbackServerContext& ctx) {
  gpr_timespec raw = gpr_convert_clock_type(ctx.raw_deadline(), GPR_CLOCK_REALTIME);
  if (raw.tv_sec >= std::numeric_limits<int64_t>::max() / 2) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(raw.tv_sec) + absl::Nanoseconds(raw.tv_nsec);
}

}  // namespace geoloc::server
