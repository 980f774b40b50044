#include "client/health_codec.h"

#include <cstdint>

#include "absl/status/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace geoloc::client::internal {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireLengthDelimited = 2;
constexpr uint32_t kWireFixed32 = 5;

absl::Status Malformed() {
  return absl::DataLossError("malformed grpc.health.v1.HealthCheckResponse");
}

}  // namespace

std::string EncodeHealthCheckRequest(absl::string_view service) {
  std::string wire;
  if (service.empty()) return wire;  // proto3 omits default values
  google::protobuf::io::StringOutputStream output(&wire);
  CodedOutputStream coded(&output);
  coded.WriteTag((1 << 3) | kWireLengthDelimited);
  coded.WriteVarint32(static_cast<uint32_t>(service.size()));
  coded.WriteRaw(service.data(), static_cast<int>(service.size()));
  coded.Trim();
  return wire;
}

absl::StatusOr<int> DecodeHealthCheckResponse(absl::string_view wire) {
  CodedInputStream input(reinterpret_cast<const uint8_t*>(wire.data()),
                         static_cast<int>(wire.size()));
  int status = 0;
  for (;;) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;  // end of message (0 is never a valid tag)
    const uint32_t field = tag >> 3;
    const uint32_t wire_type = tag & 7;
    if (field == 1 && wire_type == kWireVarint) {
      uint32_t value = 0;
      if (!input.ReadVarint32(&value)) return Malformed();
      status = static_cast<int>(value);
      continue;
    }
    bool ok = false;
    switch (wire_type) {
      case kWireVarint: {
        uint64_t ignored = 0;
        ok = input.ReadVarint64(&ignored);
        break;
      }
      case kWireFixed64:
        ok = input.Skip(8);
        break;
      case kWireLengthDelimited: {
        uint32_t length = 0;
        ok = input.ReadVarint32(&length) && input.Skip(static_cast<int>(length));
        break;
      }
      case kWireFixed32:
        ok = input.Skip(4);
        break;
      default:  // groups (3, 4) never appear in proto3 messages
        ok = false;
    }
    if (!ok) return Malformed();
  }
  // ReadTag() also returns 0 on a bad varint or a zero tag mid-message; only a clean end counts.
  if (!input.ConsumedEntireMessage()) return Malformed();
  return status;
}

}  // namespace geoloc::client::internal
