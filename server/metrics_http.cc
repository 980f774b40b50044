#include "server/metrics_http.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/http_transport.h"

namespace geoloc::server {
namespace {

constexpr absl::Duration kRequestTime = absl::Seconds(2);  // a head in all; each read and write
constexpr absl::Duration kResponseTime = absl::Seconds(10);  // an exposition, written in all
constexpr size_t kMaxHeadBytes = 8 * 1024;
constexpr int kWorkers = 2;
constexpr char kExpositionType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, Render render, OnCut on_cut) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "' is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.empty() || host == "*") host = "0.0.0.0";
  HttpGuard guard;
  guard.io_timeout = kRequestTime;
  guard.head_deadline = kRequestTime;
  guard.body_deadline = kRequestTime;
  guard.response_deadline = kResponseTime;
  guard.keep_alive_idle = kRequestTime;
  guard.max_head_bytes = kMaxHeadBytes;
  guard.on_cut = std::move(on_cut);
  std::unique_ptr<MetricsHttpServer> metrics(new MetricsHttpServer(std::move(render)));
  metrics->server_ = NewGuardedServer(std::move(guard));
  httplib::Server& server = *metrics->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  const Render* render_fn = &metrics->render_;
  server.Get("/metrics", [render_fn](const httplib::Request&, httplib::Response& res) {
    res.set_content((*render_fn)(), kExpositionType);
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body><a href=\"/metrics\">/metrics</a></body></html>\n", "text/html");
  });
  // Other methods are refused before any body is read (and the connection closed, its body unread).
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_header("Connection", "close");
    res.set_content("only GET\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      res.set_content("not found; try /metrics\n", "text/plain");
    } else {
      res.set_header("Connection", "close");  // a malformed request: nothing more is read
    }
  });
  metrics->port_ = port == 0 ? server.bind_to_any_port(host)
                             : (server.bind_to_port(host, port) ? port : -1);
  if (metrics->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address,
                                               " (in use, or not a valid address?)"));
  }
  metrics->serving_ = std::make_unique<HttpServing>(metrics->server_.get());
  return metrics;
}

MetricsHttpServer::MetricsHttpServer(Render render) : render_(std::move(render)) {}

MetricsHttpServer::~MetricsHttpServer() = default;  // serving_ (declared last) stops first

}  // namespace geoloc::server
