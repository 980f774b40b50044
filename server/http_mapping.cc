#include "server/http_mapping.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace geoloc::server {
namespace {

using geoloc::v1::ExplainRequest;
using geoloc::v1::LocateRequest;

// The status payload that carries an HTTP status override.
constexpr char kHttpStatusPayload[] = "type.geoloc.dev/http_status";
constexpr int64_t kMaxTimeoutMs = 3'600'000;

int TableStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    default:
      return 500;
  }
}

absl::Status UnsupportedMediaType(absl::string_view content_type, absl::string_view what) {
  return WithHttpStatus(absl::InvalidArgumentError(absl::StrCat(
                            "unsupported Content-Type '", content_type.substr(0, 100), "': send ",
                            what, " as application/json or multipart/form-data")),
                        415);
}

absl::Status ParseJson(absl::string_view json, google::protobuf::Message* message,
                       absl::string_view what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON for ", what, ": ", st.message().as_string()));
  }
  return absl::OkStatus();
}

// The parts of a multipart body by name: each of `allowed` at most once, no other names.
absl::StatusOr<std::vector<const FormPart*>> PartsByName(
    const std::vector<FormPart>& parts, const std::vector<absl::string_view>& allowed) {
  std::vector<const FormPart*> found(allowed.size(), nullptr);
  for (const FormPart& part : parts) {
    size_t i = 0;
    while (i < allowed.size() && allowed[i] != part.name) ++i;
    if (i == allowed.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown form part '", part.name.substr(0, 100),
                       "' (allowed: ", absl::StrJoin(allowed, ", "), ")"));
    }
    if (found[i] != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("form part '", part.name, "' given twice"));
    }
    found[i] = &part;
  }
  return found;
}

absl::Status CheckSize(const google::protobuf::Message& message, int64_t max_message_bytes) {
  const size_t size = message.ByteSizeLong();
  if (static_cast<int64_t>(size) > max_message_bytes) {
    return WithHttpStatus(
        absl::ResourceExhaustedError(absl::StrCat(
            "the request is ", size, " bytes as a message; the limit is ", max_message_bytes)),
        413);
  }
  return absl::OkStatus();
}

// Where a multipart body's JSON part goes: LocateRequest's options, or the whole ExplainRequest.
google::protobuf::Message* JsonPartTarget(LocateRequest* request) {
  return request->mutable_options();
}
google::protobuf::Message* JsonPartTarget(ExplainRequest* request) { return request; }

// The message from a JSON body, or from a multipart body's `image` part plus the JSON of
// `json_part` (JsonPartTarget).
template <typename Request>
absl::StatusOr<Request> ParseBody(const HttpBody& body, int64_t max_message_bytes,
                                  absl::string_view json_part, absl::string_view what) {
  Request request;
  const std::string type = MediaTypeOf(body.content_type);
  if (type == kJsonType) {
    GEOLOC_RETURN_IF_ERROR(ParseJson(body.body, &request, what));
  } else if (type == kMultipartType) {
    auto parts = PartsByName(body.parts, {"image", json_part});
    if (!parts.ok()) return parts.status();
    const FormPart* image = (*parts)[0];
    const FormPart* json = (*parts)[1];
    if (image == nullptr) {
      return absl::InvalidArgumentError("multipart body without an 'image' part");
    }
    if (json != nullptr) {
      GEOLOC_RETURN_IF_ERROR(ParseJson(json->content, JsonPartTarget(&request),
                                       absl::StrCat("the '", json_part, "' part")));
      if (!request.image().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the '", json_part, "' part must not carry the image: send it as the 'image' part"));
      }
    }
    request.set_image(image->content);
  } else {
    return UnsupportedMediaType(body.content_type, what);
  }
  GEOLOC_RETURN_IF_ERROR(CheckSize(request, max_message_bytes));
  return request;
}

// Length of the valid UTF-8 sequence at the start of `s`, 0 if there is none.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || n > s.size()) return 0;
  uint32_t code_point = n == 1 ? c : c & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (b & 0x3F);
  }
  constexpr uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};  // no overlong forms
  if (code_point < kLeast[n] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// `text` as a JSON string literal; bytes that are not UTF-8 become U+FFFD.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const size_t n = Utf8SequenceLength(text);
    const char c = text[0];
    if (n == 0) {
      out += "\\ufffd";
      text.remove_prefix(1);
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out.append(text.data(), n);
    }
    text.remove_prefix(n);
  }
  return out + "\"";
}

}  // namespace

absl::Status WithHttpStatus(absl::Status status, int http_status) {
  status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(http_status)));
  return status;
}

int HttpStatusFor(const absl::Status& status) {
  const auto payload = status.GetPayload(kHttpStatusPayload);
  int code = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &code) && code >= 100 &&
      code <= 599) {
    return code;
  }
  return TableStatus(status.code());
}

std::string ErrorJson(const absl::Status& status) {
  return absl::StrCat("{\"code\":\"", absl::StatusCodeToString(status.code()),
                      "\",\"message\":", JsonString(status.message()), "}");
}

std::string MediaTypeOf(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
}

absl::StatusOr<absl::Duration> ParseTimeoutMs(absl::string_view value) {
  int64_t ms = 0;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  if (!absl::SimpleAtoi(trimmed, &ms) || ms < 1 || ms > kMaxTimeoutMs ||
      trimmed.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(kTimeoutHeader, " must be a whole number of milliseconds from 1 to ",
                     kMaxTimeoutMs, ", got '", value.substr(0, 40), "'"));
  }
  return absl::Milliseconds(ms);
}

bool AcceptsPidfLo(absl::string_view accept) {
  for (absl::string_view range : absl::StrSplit(accept, ',')) {
    std::vector<absl::string_view> fields = absl::StrSplit(range, ';');
    if (MediaTypeOf(fields[0]) != kPidfLoType) continue;
    bool refused = false;
    for (size_t i = 1; i < fields.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(fields[i]);
      if (absl::ConsumePrefix(&param, "q=")) {
        double q = 1;
        refused = absl::SimpleAtod(param, &q) && q <= 0;
      }
    }
    if (!refused) return true;
  }
  return false;
}

absl::StatusOr<LocateRequest> ParseLocateBody(const HttpBody& body, int64_t max_message_bytes) {
  return ParseBody<LocateRequest>(body, max_message_bytes, "options", "LocateRequest");
}

absl::StatusOr<ExplainRequest> ParseExplainBody(const HttpBody& body, int64_t max_message_bytes) {
  return ParseBody<ExplainRequest>(body, max_message_bytes, "request", "ExplainRequest");
}

std::string ToApiJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Serialising a valid message cannot fail; an empty object stands in if it ever did.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) json = "{}";
  return json;
}

}  // namespace geoloc::server
