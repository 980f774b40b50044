// geolocd's Prometheus endpoint: GET /metrics returns the text exposition, on a guarded
// cpp-httplib server of its own (http_transport.h).
//
//   GEOLOC_ASSIGN_OR_RETURN(auto http, MetricsHttpServer::Start("0.0.0.0:9090", render, on_cut));
//   int port = http->port();  // the bound port (useful with port 0)
//
// The endpoint is plain HTTP, often reachable from more places than the API, so hostile clients
// cannot hold it: a request has 2 s in all for its line and headers (a trickle of bytes does not
// extend it; `on_cut` hears of each connection cut), each read and write times out after 2 s,
// heads over 8 KiB are refused (431), and two workers serve connections. Responses:
// GET|HEAD /metrics -> 200 text/plain; version=0.0.4; GET / -> 200 with a link; other paths -> 404;
// other methods -> 405. (prometheus-cpp's own Exposer is not used: its CivetWeb server fails to
// start in a process that also loads Debian's LibTorch 1.13; cpp-httplib runs beside it.)
//
// Thread-safe; `render` and `on_cut` are called from the server's workers. The destructor stops
// the server and returns once no worker runs.
#ifndef GEOLOC_SERVER_METRICS_HTTP_H_
#define GEOLOC_SERVER_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace geoloc::server {

class HttpServing;

class MetricsHttpServer {
 public:
  using Render = std::function<std::string()>;
  using OnCut = std::function<void(absl::string_view reason)>;
  // `address` is "host:port" ("0.0.0.0", "*" or an empty host: every IPv4 interface); port 0
  // picks one.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                                   Render render, OnCut on_cut);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  explicit MetricsHttpServer(Render render);

  const Render render_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpServing> serving_;  // last: stopped before the server goes
  int port_ = 0;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_METRICS_HTTP_H_
