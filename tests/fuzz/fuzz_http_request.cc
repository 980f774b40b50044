// libFuzzer target: untrusted bytes as an HTTP/JSON API request (server/http_mapping.h,
// server/http_static.h): a Content-Type, a JSON body or multipart parts, the deadline and Accept
// headers, a console path. Findings: crashes, sanitizer reports, and broken contracts:
//   - ParseLocateBody / ParseExplainBody return OK, INVALID_ARGUMENT (400, or 415 for a content
//     type) or RESOURCE_EXHAUSTED with 413, and what they accept is within the message limit and
//     carries the image; an accepted request printed as the API's JSON parses back to itself;
//   - HttpStatusFor is a valid HTTP status; ErrorJson is JSON with exactly "code" (the code's
//     name) and "message" (the status message itself, when it is printable ASCII);
//   - ParseTimeoutMs accepts only 1 ms to one hour;
//   - StaticFiles never returns a file from outside its root (a secret sits beside it).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "geoloc/v1/geoloc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/http_mapping.h"
#include "server/http_static.h"
#include "tests/fuzz/decode_checks.h"

namespace {

using geoloc::fuzz::Fail;
namespace server = geoloc::server;

constexpr int64_t kMaxMessageBytes = 1 << 16;
constexpr char kSecret[] = "fuzz secret: never served";

bool IsPrintableAscii(const std::string& s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The console root (index.html, a nested file) with a secret beside it, made once.
const server::StaticFiles& Console() {
  static const server::StaticFiles* files = [] {
    const std::filesystem::path base =
        std::filesystem::temp_directory_path() / absl::StrCat("fuzz_http_", getpid());
    std::filesystem::create_directories(base / "console" / "js");
    std::ofstream(base / "console" / "index.html") << "<html>console</html>";
    std::ofstream(base / "console" / "js" / "app.js") << "app";
    std::ofstream(base / "secret.txt") << kSecret;
    return new server::StaticFiles((base / "console").string());
  }();
  return *files;
}

template <typename Request>
void CheckParsed(const absl::StatusOr<Request>& parsed) {
  if (!parsed.ok()) {
    const absl::Status& st = parsed.status();
    const int http = server::HttpStatusFor(st);
    const bool ok_code =
        (st.code() == absl::StatusCode::kInvalidArgument && (http == 400 || http == 415)) ||
        (st.code() == absl::StatusCode::kResourceExhausted && http == 413);
    if (!ok_code) Fail(absl::StrCat("body refused with ", st.ToString(), " as HTTP ", http));
    return;
  }
  if (static_cast<int64_t>(parsed->ByteSizeLong()) > kMaxMessageBytes) {
    Fail("a request over the message limit was accepted");
  }
  // The API's JSON of what was accepted reads back as the same message.
  Request again;
  const std::string json = server::ToApiJson(*parsed);
  if (!google::protobuf::util::JsonStringToMessage(json, &again).ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(*parsed, again)) {
    Fail(absl::StrCat("ToApiJson does not round-trip: ", json.substr(0, 200)));
  }
}

void CheckErrorJson(const absl::Status& status) {
  if (status.ok()) return;
  const int http = server::HttpStatusFor(status);
  if (http < 400 || http > 599) Fail(absl::StrCat("HTTP status ", http, " for an error"));
  google::protobuf::Struct body;
  const std::string json = server::ErrorJson(status);
  if (!google::protobuf::util::JsonStringToMessage(json, &body).ok()) {
    Fail(absl::StrCat("ErrorJson is not JSON: ", json.substr(0, 200)));
  }
  if (body.fields_size() != 2 ||
      body.fields().at("code").string_value() != absl::StatusCodeToString(status.code())) {
    Fail(absl::StrCat("ErrorJson has the wrong shape: ", json.substr(0, 200)));
  }
  const std::string message(status.message());
  if (IsPrintableAscii(message) && body.fields().at("message").string_value() != message) {
    Fail("ErrorJson changed a printable message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  server::HttpBody body;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      body.content_type = "application/json";
      break;
    case 1:
      body.content_type = "multipart/form-data; boundary=fuzz";
      break;
    case 2:
      body.content_type = "Application/JSON; charset=utf-8";
      break;
    default:
      body.content_type = in.ConsumeRandomLengthString(100);
      break;
  }
  const bool explain = in.ConsumeBool();
  const std::string timeout = in.ConsumeRandomLengthString(30);
  const std::string accept = in.ConsumeRandomLengthString(100);
  const std::string path = in.ConsumeRandomLengthString(200);
  const int parts = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < parts; ++i) {
    server::FormPart part;
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        part.name = "image";
        break;
      case 1:
        part.name = explain ? "request" : "options";
        break;
      case 2:
        part.name = in.ConsumeRandomLengthString(20);
        break;
      default:
        part.name = explain ? "options" : "request";
        break;
    }
    part.content = in.ConsumeRandomLengthString(kMaxMessageBytes * 2);
    body.parts.push_back(std::move(part));
  }
  body.body = in.ConsumeRemainingBytesAsString();

  if (explain) {
    auto parsed = server::ParseExplainBody(body, kMaxMessageBytes);
    CheckParsed(parsed);
    CheckErrorJson(parsed.status());
  } else {
    auto parsed = server::ParseLocateBody(body, kMaxMessageBytes);
    CheckParsed(parsed);
    CheckErrorJson(parsed.status());
    // A message made of the fuzz input, as a status an engine error could carry.
    CheckErrorJson(absl::InvalidArgumentError(body.body.substr(0, 300)));
  }

  absl::StatusOr<absl::Duration> deadline = server::ParseTimeoutMs(timeout);
  if (deadline.ok() && (*deadline < absl::Milliseconds(1) || *deadline > absl::Hours(1))) {
    Fail(absl::StrCat("ParseTimeoutMs accepted '", timeout, "'"));
  }
  if (!deadline.ok()) CheckErrorJson(deadline.status());
  server::AcceptsPidfLo(accept);
  server::MediaTypeOf(accept);

  absl::StatusOr<server::StaticFile> file = Console().Lookup(path);
  if (file.ok() && file->content == kSecret) Fail(absl::StrCat("served the secret for ", path));
  if (!file.ok() && file.status().code() != absl::StatusCode::kNotFound) {
    Fail(absl::StrCat("Lookup returned ", file.status().ToString()));
  }
  return 0;
}
