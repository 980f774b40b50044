// cpp-httplib servers whose connections are guarded by whole-request deadlines: the HTTP/JSON API
// (http_api.h) and the Prometheus endpoint (metrics_http.h) serve through them.
//
//   HttpGuard guard;                       // limits (defaults below); on_cut counts the cuts
//   guard.on_cut = [&](absl::string_view reason) { metrics.RecordHttpCut("api", reason); };
//   std::unique_ptr<httplib::Server> server = NewGuardedServer(guard);   // or NewGuardedTlsServer
//
// cpp-httplib 0.11.4 times out each read, not a request: a client that sends a header byte every
// second would hold a worker for ever. Here each connection runs our own keep-alive loop over a
// stream of ours (http_transport.cc) that gives
//   - the TLS handshake `head_deadline` in all, from the moment a worker takes the connection;
//   - each request's line and headers `head_deadline` in all, from the moment its first byte is
//     there to read (every keep-alive request gets a fresh one), and at most `max_head_bytes`
//     (more: 431);
//   - its body `body_deadline` in all, from the end of its head;
//   - its response `response_deadline` in all, from the first byte written (a client that reads
//     slowly cannot hold a worker while its answer trickles out);
//   - every read and write `io_timeout` (a silent client);
//   - the wait for the next keep-alive request `keep_alive_idle`, in slices short enough that
//     Server::stop() ends the loop promptly.
// A response that says "Connection: close" ends its connection (set it on refusals that leave
// unread or unparsable bytes behind). A connection past a deadline is closed without an answer, and `on_cut` is called with
// "handshake_deadline", "head_deadline", "body_deadline", "response_deadline" or
// "head_too_large". Writes never raise
// SIGPIPE (MSG_NOSIGNAL; OpenSSL's writes need SIGPIPE ignored, as http_api.h does).
//
// Threading: the servers are cpp-httplib's (a worker thread per connection); on_cut is called from
// those workers and must be thread-safe. Requests served over TLS carry req.ssl as with
// httplib::SSLServer (the peer certificate: SSL_get_peer_certificate(req.ssl)).
#ifndef GEOLOC_SERVER_HTTP_TRANSPORT_H_
#define GEOLOC_SERVER_HTTP_TRANSPORT_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace geoloc::server {

struct HttpGuard {
  absl::Duration io_timeout = absl::Seconds(10);     // each read and write
  absl::Duration head_deadline = absl::Seconds(10);  // TLS handshake; request line + headers
  absl::Duration body_deadline = absl::Seconds(60);  // a request's body
  absl::Duration response_deadline = absl::Seconds(60);  // writing a response
  absl::Duration keep_alive_idle = absl::Seconds(10);  // between keep-alive requests
  size_t max_head_bytes = 64 * 1024;                 // request line + headers
  int keep_alive_max_requests = 100;                 // per connection
  std::function<void(absl::string_view reason)> on_cut;  // may be empty
};

// A plain HTTP server.
std::unique_ptr<httplib::Server> NewGuardedServer(HttpGuard guard);

// An HTTPS server with cpp-httplib's SSLServer context (certificate, key, and with a client CA,
// clients must present a certificate it signed). INVALID_ARGUMENT when they cannot be used.
absl::StatusOr<std::unique_ptr<httplib::Server>> NewGuardedTlsServer(
    HttpGuard guard, const std::string& cert_path, const std::string& key_path,
    const std::string& client_ca_path);

// True in a request handler (or error handler) whose connection was cut at a deadline or refused
// for its head's size: the client will not read the answer, so the request is not counted as
// answered. (One connection is served by one worker thread at a time.)
bool ThisConnectionWasCut();

// Serves a bound server (bind_to_port) on a thread of its own until Stop() or destruction.
// Stop() also works before the thread has started listening, and returns once every connection's
// handler has returned.
//
//   HttpServing serving(server.get());   // `server` must outlive `serving`
//   serving.Stop();
class HttpServing {
 public:
  explicit HttpServing(httplib::Server* server);
  ~HttpServing();
  HttpServing(const HttpServing&) = delete;
  HttpServing& operator=(const HttpServing&) = delete;

  void Stop();  // idempotent; not concurrently with itself

 private:
  httplib::Server* const server_;
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_HTTP_TRANSPORT_H_
