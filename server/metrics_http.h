// A minimal HTTP/1.0 endpoint for Prometheus scrapes: GET /metrics returns the text exposition.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto http, MetricsHttpServer::Start("0.0.0.0:9090", render));
//   int port = http->port();  // the bound port (useful with port 0)
//
// Why not prometheus-cpp's Exposer: its CivetWeb server fails to start (mg_start returns NULL
// after binding) in any process that also loads Debian's LibTorch 1.13 — reproduced with a
// five-line program; geolocd loads LibTorch, so it serves scrapes itself with prometheus-cpp's own
// registry and TextSerializer. cpp-httplib, which serves the HTTP/JSON API (http_api.h), runs
// beside LibTorch but was not used here: version 0.11.4 (Debian bookworm) times out each read, not
// a whole request, so a trickled request would hold it, which this endpoint refuses (below).
//
// One thread serves one connection at a time (scrapes are rare and small). Hostile clients cannot
// hold it: a connection has 2 s in all to deliver its request (a trickle of bytes does not extend
// it), each send times out after 2 s, and requests are limited to 8 KiB. Responses:
// GET /metrics -> 200 text/plain; version=0.0.4; GET / -> 200 with a link; other paths -> 404;
// other methods -> 405. The destructor stops the thread and closes the socket.
#ifndef GEOLOC_SERVER_METRICS_HTTP_H_
#define GEOLOC_SERVER_METRICS_HTTP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace geoloc::server {

class MetricsHttpServer {
 public:
  using Render = std::function<std::string()>;
  // `address` is "host:port" with an IPv4 host ("0.0.0.0" for all interfaces); port 0 picks one.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                                   Render render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int listen_fd, int wake_fd, int port, Render render);
  void Serve();
  void Handle(int fd);

  const int listen_fd_;
  const int wake_fd_;  // eventfd: wakes the loop for shutdown
  const int port_;
  const Render render_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_METRICS_HTTP_H_
