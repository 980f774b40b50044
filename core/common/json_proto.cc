#include "core/common/json_proto.h"

#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace geoloc {

absl::Status ParseJsonProto(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", message->GetTypeName(),
                                                   " JSON: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToJsonString(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(), " as JSON: ",
                                            status.message().as_string()));
  }
  return out;
}

absl::Status ReadJsonProtoFile(const std::string& path, google::protobuf::Message* message) {
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return Annotate(ParseJsonProto(text, message), path);
}

absl::Status WriteJsonProtoAtomically(const std::string& path,
                                      const google::protobuf::Message& message) {
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ToJsonString(message));
  return WriteFileAtomically(path, text);
}

}  // namespace geoloc
