// geolocd's HTTP/JSON API (docs/HTTP_API.md) and the operator console's files, on cpp-httplib
// (Debian's libcpp-httplib-dev; checked to run beside LibTorch in one process, which CivetWeb
// does not: metrics_http.h), through the guarded servers of http_transport.h.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto http, HttpApi::Start(config, &calls, hooks));
//   int port = http->port();   // the bound port (useful with port 0)
//   http->Stop();              // on drain: stops accepting, returns once handlers returned
//
// Routes (anything else: 404; a known path with another method: 405 with Allow):
//   POST /v1/locate    LocateRequest (JSON or multipart: http_mapping.h) -> LocateResponse JSON,
//                      or PIDF-LO with Accept: application/pidf+xml (query: pidf_lo_level,
//                      default 0.9; pidf_lo_entity, default the photo's ni:///sha-256 URI)
//   POST /v1/explain   ExplainRequest -> ExplainResponse JSON (overlay_png in base64)
//   GET  /v1/status    GetStatusResponse JSON (admin role, as IndexAdmin.GetStatus)
//   GET  /healthz      200 while the process serves HTTP (liveness)
//   GET  /readyz       200 once a bundle is loaded and serving, else 503 (readiness)
//   GET  /...          the --console_dir files (http_static.h); 404 without --console_dir
// Every call goes through GeolocatorCalls, the object the gRPC service uses: one set of tokens
// (Authorization: Bearer), limits, one admission queue and one set of metrics (transport
// "http"). The deadline is X-Geoloc-Timeout-Ms. Errors are {"code","message"} JSON with the HTTP
// status of http_mapping.h's table. TLS with --tls_cert/--tls_key (and --tls_client_ca: clients
// must present a certificate), as gRPC.
//
// Hostile clients: a POST without a valid token or with another content type is refused before
// its body is read (401/403, 415); bodies over the limit are refused (413) before they are read;
// connections are guarded (http_transport.h): the TLS handshake and each request's line and
// headers get config.http_head_deadline_seconds in all, its body
// config.http_body_deadline_seconds, every read and write config.http_io_timeout_seconds (a slow
// or trickling client loses its connection; the cuts are counted in
// geoloc_http_connections_cut_total{listener="api"}); request lines and header lines are limited
// to 8 KiB each (cpp-httplib), a whole head to 64 KiB (431); at most config.http_threads
// connections are served at once, the rest wait for a worker. A handler waits for its call's
// answer (the pipeline answers every admitted call, by its deadline at the latest); a client that
// disconnects does not cancel its call.
//
// Start() sets SIGPIPE to be ignored, process-wide (writes to a departed client fail with EPIPE).
// Thread-safe. `calls` and the hooks' targets must outlive the HttpApi.
#ifndef GEOLOC_SERVER_HTTP_API_H_
#define GEOLOC_SERVER_HTTP_API_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "geoloc/v1/geoloc.pb.h"
#include "server/geolocator_calls.h"
#include "server/http_static.h"
#include "server/http_transport.h"
#include "server/server_config.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace geoloc::server {

class HttpApi {
 public:
  struct Hooks {
    std::function<void(geoloc::v1::GetStatusResponse*)> status;  // fills GetStatus' answer
    std::function<bool()> serving;                               // readiness
  };

  // Listens on config.http_address ("host:port"; port 0 picks one).
  static absl::StatusOr<std::unique_ptr<HttpApi>> Start(const ServerConfig& config,
                                                        GeolocatorCalls* calls, Hooks hooks);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  int port() const { return port_; }
  // Stops accepting connections; returns once every handler has returned. Idempotent.
  void Stop();

 private:
  HttpApi(const ServerConfig& config, GeolocatorCalls* calls, Hooks hooks);
  // Before a body is read: POST /v1/locate and /v1/explain need a client token and a JSON or
  // multipart body; false after answering the refusal.
  bool Admit(const httplib::Request& req, httplib::Response& res) const;
  // Records a call answered here rather than by GeolocatorCalls (refused before it, or
  // GetStatus): its metrics and, with an audit log, its audit line. `method` empty: no API method.
  void RecordCall(const httplib::Request& req, const char* method, absl::Time start,
                  const absl::Status& status, const std::string& caller = "") const;
  // The client token's name (Admit has checked it), for the audit lines of calls refused here.
  std::string CallerOf(const httplib::Request& req) const;
  void Route(const httplib::Request& req, httplib::Response& res) const;
  void Locate(const httplib::Request& req, httplib::Response& res) const;
  void Explain(const httplib::Request& req, httplib::Response& res) const;
  void Status(const httplib::Request& req, httplib::Response& res) const;
  void Console(const httplib::Request& req, httplib::Response& res) const;

  const ServerConfig& config_;
  GeolocatorCalls* const calls_;
  const Hooks hooks_;
  std::optional<StaticFiles> console_;  // set with --console_dir
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::unique_ptr<HttpServing> serving_;  // after server_: stopped before it goes
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_HTTP_API_H_
