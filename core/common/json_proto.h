// JSON files for geoloc's on-disk metadata (bundle manifest, cell hierarchy, model metadata),
// described by protobuf messages and converted with protobuf's own JSON mapping.
//
//   BundleManifest manifest;
//   GEOLOC_RETURN_IF_ERROR(ParseJsonProto(text, &manifest));
//   GEOLOC_RETURN_IF_ERROR(WriteJsonProtoAtomically(path, manifest));
#ifndef GEOLOC_CORE_COMMON_JSON_PROTO_H_
#define GEOLOC_CORE_COMMON_JSON_PROTO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace geoloc {

// Unknown fields are ignored so that newer writers stay readable by older readers.
absl::Status ParseJsonProto(absl::string_view json, google::protobuf::Message* message);
absl::StatusOr<std::string> ToJsonString(const google::protobuf::Message& message);
absl::Status ReadJsonProtoFile(const std::string& path, google::protobuf::Message* message);
absl::Status WriteJsonProtoAtomically(const std::string& path,
                                      const google::protobuf::Message& message);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_JSON_PROTO_H_
