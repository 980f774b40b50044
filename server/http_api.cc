#include "server/http_api.h"

#include <httplib.h>

#include <cmath>
#include <csignal>
#include <future>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "proto/pidf_lo.h"
#include "server/call_support.h"
#include "server/http_mapping.h"
#include "server/http_transport.h"
#include "server/metrics.h"

namespace geoloc::server {
namespace {

using geoloc::v1::ExplainRequest;
using geoloc::v1::ExplainResponse;
using geoloc::v1::LocateRequest;
using geoloc::v1::LocateResponse;

// Room for a body's JSON quoting, base64 (4/3 of the image) and multipart framing above the
// message limit; the parsed message is held to max_message_bytes itself (http_mapping.h).
int64_t MaxBodyBytes(const ServerConfig& config) {
  return config.max_message_bytes / 3 * 4 + 8 + (1 << 20);
}

// A request line and its headers together (cpp-httplib holds each line to 8 KiB, not their
// number): room for any client's headers, not for a flood.
constexpr size_t kMaxHeadBytes = 64 * 1024;

void ReplyJson(httplib::Response& res, int http_status, const std::string& json) {
  res.status = http_status;
  res.set_content(json, kJsonType);
}

void ReplyError(httplib::Response& res, const absl::Status& status) {
  const int http_status = HttpStatusFor(status);
  if (http_status == 401) res.set_header("WWW-Authenticate", "Bearer");
  ReplyJson(res, http_status, ErrorJson(status));
}

// The caller's address in gRPC's peer format ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"), so
// audit lines read the same for both transports.
std::string PeerOf(const httplib::Request& req) {
  const bool v6 = req.remote_addr.find(':') != std::string::npos;
  return v6 ? absl::StrCat("ipv6:[", req.remote_addr, "]:", req.remote_port)
            : absl::StrCat("ipv4:", req.remote_addr, ":", req.remote_port);
}

std::optional<std::string> AuthorizationOf(const httplib::Request& req) {
  if (!req.has_header("Authorization")) return std::nullopt;
  return req.get_header_value("Authorization");
}

// The call as GeolocatorCalls sees it: the token, the peer and the deadline header (a bad header is
// INVALID_ARGUMENT). `start` is when the request arrived.
absl::StatusOr<CallContext> HttpCall(const httplib::Request& req, absl::Time start) {
  CallContext call;
  call.transport = kHttpTransport;
  call.authorization = AuthorizationOf(req);
  call.peer = PeerOf(req);
  if (req.has_header(kTimeoutHeader)) {
    absl::StatusOr<absl::Duration> timeout = ParseTimeoutMs(req.get_header_value(kTimeoutHeader));
    if (!timeout.ok()) return timeout.status();
    call.deadline = start + *timeout;
  }
  return call;
}

HttpBody BodyOf(const httplib::Request& req) {
  HttpBody body;
  body.content_type = req.get_header_value("Content-Type");
  if (req.is_multipart_form_data()) {
    for (const auto& [name, part] : req.files) {
      body.parts.push_back({part.name, part.content_type, part.filename, part.content});
    }
  } else {
    body.body = req.body;
  }
  return body;
}

// The method name of the metrics for an API path ("" for others).
const char* MethodOfPath(const std::string& path) {
  if (path == "/v1/locate") return "Locate";
  if (path == "/v1/explain") return "Explain";
  if (path == "/v1/status") return "GetStatus";
  return "";
}

// The gRPC code an HTTP status that cpp-httplib produced on its own stands for.
absl::StatusCode CodeOfHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
    case 414:
    case 431:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 413:
      return absl::StatusCode::kResourceExhausted;
    case 503:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status MethodNotAllowed(const std::string& method, const std::string& path,
                              const char* allowed, httplib::Response& res) {
  res.set_header("Allow", allowed);
  return WithHttpStatus(
      absl::UnimplementedError(absl::StrCat(method.substr(0, 20), " is not allowed on ",
                                            path.substr(0, 200), " (allowed: ", allowed, ")")),
      405);
}

// Waits for a call's `done`. The pipeline answers every call it admits (at its deadline at the
// latest), so the wait ends.
class CallWaiter {
 public:
  GeolocatorCalls::Done Done() {
    return [this](const absl::Status& status) { promise_.set_value(status); };
  }
  absl::Status Wait() { return future_.get(); }

 private:
  std::promise<absl::Status> promise_;
  std::future<absl::Status> future_ = promise_.get_future();
};

// What Accept: application/pidf+xml asks for: the CLI's --pidf_lo document (query parameters
// pidf_lo_level and pidf_lo_entity, as the CLI's flags).
struct PidfLoAsk {
  double level = 0.9;
  std::string entity;  // empty: the photo's content URI
  std::string image_name;
};

absl::StatusOr<PidfLoAsk> PidfLoAskOf(const httplib::Request& req) {
  PidfLoAsk ask;
  if (req.has_param("pidf_lo_level")) {
    const std::string value = req.get_param_value("pidf_lo_level");
    if (!absl::SimpleAtod(value, &ask.level) || !(ask.level > 0 && ask.level < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pidf_lo_level must be a number in (0, 1), got '", value.substr(0, 40), "'"));
    }
  }
  ask.entity = req.get_param_value("pidf_lo_entity");
  if (req.has_file("image")) ask.image_name = req.get_file_value("image").filename;
  return ask;
}

// The region levels asked for must hold the PIDF-LO's (an empty list: the server's), as the CLI.
void AddPidfLoLevel(double level, geoloc::v1::LocateOptions* options) {
  if (options->region_levels().empty()) return;
  for (double l : options->region_levels()) {
    if (std::abs(l - level) < 1e-6) return;
  }
  options->add_region_levels(level);
}

absl::StatusOr<std::string> PidfLoOf(const LocateResponse& response, const PidfLoAsk& ask,
                                     const std::string& image) {
  pidf::PidfLoAnswerOptions options;
  options.level = ask.level;
  options.entity = ask.entity.empty() ? pidf::ContentUri(image) : ask.entity;
  options.timestamp = absl::Now();
  options.image_name = ask.image_name;
  GEOLOC_ASSIGN_OR_RETURN(pidf::PidfLoDocument doc,
                          pidf::PidfLoFromLocateResponse(response, options));
  absl::StatusOr<std::string> xml = pidf::WritePidfLo(doc);
  if (!xml.ok()) {
    return absl::InternalError(
        absl::StrCat("the answer cannot be written as PIDF-LO: ", xml.status().message()));
  }
  return xml;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpApi>> HttpApi::Start(const ServerConfig& config,
                                                        GeolocatorCalls* calls, Hooks hooks) {
  const size_t colon = config.http_address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(config.http_address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http_address must be host:port, got '", config.http_address, "'"));
  }
  std::string host = config.http_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  // cpp-httplib writes with send(2) flags 0 and OpenSSL with write(2): a client that has gone
  // away would raise SIGPIPE, whose default action ends the process. Writes fail with EPIPE
  // instead (the connection is dropped; the call was answered and recorded).
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<HttpApi> api(new HttpApi(config, calls, std::move(hooks)));
  HttpGuard guard;
  guard.io_timeout = absl::Seconds(config.http_io_timeout_seconds);
  guard.head_deadline = absl::Seconds(config.http_head_deadline_seconds);
  guard.body_deadline = absl::Seconds(config.http_body_deadline_seconds);
  guard.response_deadline = absl::Seconds(config.http_response_deadline_seconds);
  guard.keep_alive_idle = guard.io_timeout;
  guard.max_head_bytes = kMaxHeadBytes;
  ServerMetrics* metrics = calls->metrics();
  guard.on_cut = [metrics](absl::string_view reason) { metrics->RecordHttpCut("api", reason); };
  if (config.tls_cert.empty()) {
    api->server_ = NewGuardedServer(std::move(guard));
  } else {
    absl::StatusOr<std::unique_ptr<httplib::Server>> tls = NewGuardedTlsServer(
        std::move(guard), config.tls_cert, config.tls_key, config.tls_client_ca);
    if (!tls.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP listener: ", tls.status().message()));
    }
    api->server_ = *std::move(tls);
  }
  httplib::Server& server = *api->server_;
  const int threads = config.http_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(static_cast<size_t>(MaxBodyBytes(config)));
  HttpApi* self = api.get();
  auto route = [self](const httplib::Request& req, httplib::Response& res) {
    self->Route(req, res);
  };
  // One router for every method, so that unknown paths and wrong methods get one answer.
  server.Get(".*", route);
  server.Post(".*", route);
  server.Put(".*", route);
  server.Delete(".*", route);
  server.Patch(".*", route);
  server.Options(".*", route);
  // Before a POST body is read: the caller's token and the content type.
  server.set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    return self->Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                 : httplib::Server::HandlerResponse::Handled;
  });
  // Answers cpp-httplib makes itself (400 bad request, 413 body too large, 414 URI too long):
  // the API's error body, counted in the metrics.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [self](const httplib::Request& req, httplib::Response& res) {
        // A connection cut at a deadline: no one reads an answer; the cut is counted instead.
        if (ThisConnectionWasCut()) return httplib::Server::HandlerResponse::Handled;
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // cpp-httplib's own refusals leave the request's framing in doubt (an unparsable line, an
        // unread body): nothing more is read from the connection.
        res.set_header("Connection", "close");
        absl::Status status(CodeOfHttpStatus(res.status),
                            absl::StrCat("the HTTP request was refused (status ", res.status, ")"));
        if (res.status == 413) {
          status = absl::ResourceExhaustedError(absl::StrCat(
              "the request body is larger than ", MaxBodyBytes(self->config_), " bytes"));
        }
        res.set_content(ErrorJson(status), kJsonType);
        self->RecordCall(req, MethodOfPath(req.path), absl::Now(), status);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        ReplyError(res, absl::InternalError("the request failed unexpectedly"));
      });
  api->port_ =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (api->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", config.http_address,
                                               " (in use, or not a valid address?)"));
  }
  api->serving_ = std::make_unique<HttpServing>(api->server_.get());
  return api;
}

HttpApi::HttpApi(const ServerConfig& config, GeolocatorCalls* calls, Hooks hooks)
    : config_(config), calls_(calls), hooks_(std::move(hooks)) {
  if (!config_.console_dir.empty()) console_.emplace(config_.console_dir);
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::Stop() {
  if (serving_ != nullptr) serving_->Stop();
}

void HttpApi::Route(const httplib::Request& req, httplib::Response& res) const {
  const std::string& path = req.path;
  const std::string& method = req.method;
  const bool get = method == "GET" || method == "HEAD";
  if (path == "/v1/locate" || path == "/v1/explain") {
    if (method != "POST") {
      const absl::Status st = MethodNotAllowed(method, path, "POST", res);
      RecordCall(req, MethodOfPath(path), absl::Now(), st);
      ReplyError(res, st);
    } else if (path == "/v1/locate") {
      Locate(req, res);
    } else {
      Explain(req, res);
    }
  } else if (path == "/v1/status") {
    if (!get) {
      const absl::Status st = MethodNotAllowed(method, path, "GET, HEAD", res);
      RecordCall(req, "GetStatus", absl::Now(), st);
      ReplyError(res, st);
    } else {
      Status(req, res);
    }
  } else if (path == "/healthz" || path == "/readyz") {
    if (!get) {
      ReplyError(res, MethodNotAllowed(method, path, "GET, HEAD", res));
    } else if (path == "/healthz" || hooks_.serving()) {
      ReplyJson(res, 200, "{\"status\":\"ok\"}");
    } else {
      ReplyError(res, absl::UnavailableError(
                          "no bundle is serving (loading, or draining: see GET /v1/status)"));
    }
  } else if (absl::StartsWith(path, "/v1/") || path == "/v1") {
    ReplyError(res, absl::NotFoundError(absl::StrCat("no API method at ", path.substr(0, 200))));
  } else if (!get) {
    ReplyError(res, console_
                        ? MethodNotAllowed(method, path, "GET, HEAD", res)
                        : absl::NotFoundError(absl::StrCat("nothing at ", path.substr(0, 200))));
  } else {
    Console(req, res);
  }
}

bool HttpApi::Admit(const httplib::Request& req, httplib::Response& res) const {
  if (req.method != "POST" || (req.path != "/v1/locate" && req.path != "/v1/explain")) {
    return true;
  }
  // The token first: a stranger's body is never read, and its problems are not reported.
  std::string caller;
  absl::Status st = AuthorizeClient(calls_->auth(), AuthorizationOf(req), &caller);
  if (st.ok()) {
    const std::string type = MediaTypeOf(req.get_header_value("Content-Type"));
    if (type != kJsonType && type != kMultipartType) {
      st = WithHttpStatus(
          absl::InvalidArgumentError(absl::StrCat(
              "unsupported Content-Type '", req.get_header_value("Content-Type").substr(0, 100),
              "': send application/json or multipart/form-data")),
          415);
    }
  }
  if (st.ok()) return true;
  RecordCall(req, MethodOfPath(req.path), absl::Now(), st, caller);
  res.set_header("Connection", "close");  // the unread body must not be taken for a request
  ReplyError(res, st);
  return false;
}

void HttpApi::RecordCall(const httplib::Request& req, const char* method, absl::Time start,
                         const absl::Status& status, const std::string& caller) const {
  if (*method == '\0') return;
  calls_->metrics()->RecordRequest(method, StatusCodeName(status.code()),
                                   absl::ToDoubleSeconds(absl::Now() - start), kHttpTransport);
  if (AuditLog* log = calls_->audit_log(); log != nullptr) {
    AuditRecord audit = AuditRecord::Begin(method, kHttpTransport);
    audit.start = start;
    audit.peer = PeerOf(req);
    audit.caller = caller;
    audit.Finish(status);
    log->Record(std::move(audit));
  }
}

std::string HttpApi::CallerOf(const httplib::Request& req) const {
  std::string caller;
  AuthorizeClient(calls_->auth(), AuthorizationOf(req), &caller).IgnoreError();
  return caller;
}

void HttpApi::Locate(const httplib::Request& req, httplib::Response& res) const {
  const absl::Time start = absl::Now();
  // What fails before the call reaches GeolocatorCalls is recorded here.
  auto refuse = [&](const absl::Status& status) {
    RecordCall(req, "Locate", start, status, CallerOf(req));
    ReplyError(res, status);
  };
  absl::StatusOr<CallContext> call = HttpCall(req, start);
  if (!call.ok()) return refuse(call.status());
  absl::StatusOr<LocateRequest> request = ParseLocateBody(BodyOf(req), config_.max_message_bytes);
  if (!request.ok()) return refuse(request.status());
  std::optional<PidfLoAsk> pidf_lo;
  if (AcceptsPidfLo(req.get_header_value("Accept"))) {
    absl::StatusOr<PidfLoAsk> ask = PidfLoAskOf(req);
    if (!ask.ok()) return refuse(ask.status());
    pidf_lo = *std::move(ask);
    AddPidfLoLevel(pidf_lo->level, request->mutable_options());
  }
  LocateResponse response;
  CallWaiter waiter;
  calls_->Locate(*std::move(call), *request, &response, waiter.Done());
  if (absl::Status st = waiter.Wait(); !st.ok()) return ReplyError(res, st);
  if (!pidf_lo) return ReplyJson(res, 200, ToApiJson(response));
  absl::StatusOr<std::string> xml = PidfLoOf(response, *pidf_lo, request->image());
  if (!xml.ok()) return ReplyError(res, xml.status());
  res.status = 200;
  res.set_content(*std::move(xml), kPidfLoType);
}

void HttpApi::Explain(const httplib::Request& req, httplib::Response& res) const {
  const absl::Time start = absl::Now();
  auto refuse = [&](const absl::Status& status) {
    RecordCall(req, "Explain", start, status, CallerOf(req));
    ReplyError(res, status);
  };
  absl::StatusOr<CallContext> call = HttpCall(req, start);
  if (!call.ok()) return refuse(call.status());
  absl::StatusOr<ExplainRequest> request = ParseExplainBody(BodyOf(req), config_.max_message_bytes);
  if (!request.ok()) return refuse(request.status());
  ExplainResponse response;
  CallWaiter waiter;
  calls_->Explain(*std::move(call), *request, &response, waiter.Done());
  if (absl::Status st = waiter.Wait(); !st.ok()) return ReplyError(res, st);
  ReplyJson(res, 200, ToApiJson(response));
}

void HttpApi::Status(const httplib::Request& req, httplib::Response& res) const {
  const absl::Time start = absl::Now();
  std::string caller;
  absl::Status st = AuthorizeAdmin(calls_->auth(), AuthorizationOf(req), &caller);
  geoloc::v1::GetStatusResponse response;
  if (st.ok()) hooks_.status(&response);
  RecordCall(req, "GetStatus", start, st, caller);
  if (!st.ok()) return ReplyError(res, st);
  ReplyJson(res, 200, ToApiJson(response));
}

void HttpApi::Console(const httplib::Request& req, httplib::Response& res) const {
  if (!console_) {
    return ReplyError(
        res, absl::NotFoundError(absl::StrCat("nothing at ", req.path.substr(0, 200),
                                              " (geolocd serves the console with --console_dir)")));
  }
  absl::StatusOr<StaticFile> file = console_->Lookup(req.path);
  if (!file.ok()) return ReplyError(res, file.status());
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::move(file->content), file->content_type);
}

}  // namespace geoloc::server
