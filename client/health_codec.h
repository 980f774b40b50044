// Wire encoding of grpc.health.v1's two messages, so the client can call grpc.health.v1.Health
// through gRPC's generic stub. Debian ships neither health.proto's generated header nor a health
// client, and compiling our own copy of health.proto would register "grpc.health.v1.*" in the
// generated descriptor pool, where it would collide with any other copy linked into the same
// binary (a server that ships one, for instance). Two one-field messages are simpler by hand:
//
//   message HealthCheckRequest  { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }   // enum: varint
//
//   std::string wire = EncodeHealthCheckRequest("geoloc.v1.Geolocator");
//   absl::StatusOr<int> status = DecodeHealthCheckResponse(response_bytes);
//
// Stateless functions; thread-safe.
#ifndef GEOLOC_CLIENT_HEALTH_CODEC_H_
#define GEOLOC_CLIENT_HEALTH_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::client::internal {

std::string EncodeHealthCheckRequest(absl::string_view service);

// Returns the ServingStatus number (0 when the field is absent, as proto3 defaults it). Unknown
// fields are skipped, as any protobuf parser would; malformed bytes are DATA_LOSS.
absl::StatusOr<int> DecodeHealthCheckResponse(absl::string_view wire);

}  // namespace geoloc::client::internal

#endif  // GEOLOC_CLIENT_HEALTH_CODEC_H_
