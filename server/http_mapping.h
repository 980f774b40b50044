// The HTTP/JSON API's mapping layer: HTTP requests' bodies and headers to the proto messages, and
// statuses to HTTP answers. No sockets and no engine: http_api.h serves it, the fuzzer
// (tests/fuzz/fuzz_http_request.cc) feeds it hostile input.
//
//   HttpBody body{content_type, req.body, parts};
//   absl::StatusOr<v1::LocateRequest> request = ParseLocateBody(body, config.max_message_bytes);
//   if (!request.ok()) reply(HttpStatusFor(request.status()), ErrorJson(request.status()));
//
// Status codes, one table (grpc-gateway's choices; docs/HTTP_API.md):
//   OK 200, INVALID_ARGUMENT / FAILED_PRECONDITION / OUT_OF_RANGE 400, UNAUTHENTICATED 401,
//   PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS / ABORTED 409, RESOURCE_EXHAUSTED 429,
//   CANCELLED 499, UNKNOWN / INTERNAL / DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503,
//   DEADLINE_EXCEEDED 504.
// Conditions HTTP has a more precise code for carry it with WithHttpStatus (a status payload,
// read first by HttpStatusFor): 413 (body over the limit), 415 (content type), 405 (method).
//
// Bodies (case table):
//   Content-Type                     Locate                         Explain
//   application/json                 LocateRequest JSON             ExplainRequest JSON
//   multipart/form-data              part `image` (the bytes),      part `image`, optional part
//                                    optional part `options`        `request` (ExplainRequest
//                                    (LocateOptions JSON)           JSON without the image)
//   anything else / none             415 (INVALID_ARGUMENT)         415
// JSON is protobuf's JSON mapping (proto field names or their lowerCamel forms; bytes in
// base64); unknown fields, a part given twice, an unknown part or an image inside `options` /
// `request` are INVALID_ARGUMENT. A request whose message is larger than max_message_bytes (the
// gRPC limit) is RESOURCE_EXHAUSTED with 413.
//
// Pure functions; thread-safe.
#ifndef GEOLOC_SERVER_HTTP_MAPPING_H_
#define GEOLOC_SERVER_HTTP_MAPPING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "geoloc/v1/geoloc.pb.h"
#include "google/protobuf/message.h"

namespace geoloc::server {

// Headers of the API.
inline constexpr char kTimeoutHeader[] = "X-Geoloc-Timeout-Ms";
inline constexpr char kJsonType[] = "application/json";
inline constexpr char kMultipartType[] = "multipart/form-data";
inline constexpr char kPidfLoType[] = "application/pidf+xml";

// One part of a multipart/form-data body.
struct FormPart {
  std::string name;
  std::string content_type;
  std::string filename;
  std::string content;
};

// A POST body as the server received it.
struct HttpBody {
  std::string content_type;     // the Content-Type header, parameters included
  std::string body;             // the raw body (JSON requests)
  std::vector<FormPart> parts;  // the parsed parts (multipart requests)
};

// `status` carrying an HTTP status that HttpStatusFor returns instead of the table's.
absl::Status WithHttpStatus(absl::Status status, int http_status);
// The HTTP status of `status`: its WithHttpStatus override, else the table above.
int HttpStatusFor(const absl::Status& status);
// {"code":"INVALID_ARGUMENT","message":"..."} (the gRPC code name; OK for an OK status).
std::string ErrorJson(const absl::Status& status);

// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaTypeOf(absl::string_view content_type);
// The X-Geoloc-Timeout-Ms value: a whole number of milliseconds, 1 to 3,600,000.
absl::StatusOr<absl::Duration> ParseTimeoutMs(absl::string_view value);
// Whether an Accept header asks for PIDF-LO (application/pidf+xml, with a q above 0).
bool AcceptsPidfLo(absl::string_view accept);

absl::StatusOr<geoloc::v1::LocateRequest> ParseLocateBody(const HttpBody& body,
                                                          int64_t max_message_bytes);
absl::StatusOr<geoloc::v1::ExplainRequest> ParseExplainBody(const HttpBody& body,
                                                            int64_t max_message_bytes);

// A message as the API's JSON: proto field names, fields with default values included.
std::string ToApiJson(const google::protobuf::Message& message);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_HTTP_MAPPING_H_
