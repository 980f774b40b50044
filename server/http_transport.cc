#include "server/http_transport.h"

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/http_mapping.h"

namespace geoloc::server {
namespace {

// How often an idle keep-alive wait looks whether the server is stopping.
constexpr absl::Duration kStopCheck = absl::Milliseconds(100);
// After a 431, what is left of the head is read and dropped for this long at most (closing with
// unread data would reset the connection and could lose the answer).
constexpr absl::Duration kRefusalDrain = absl::Seconds(1);
constexpr size_t kRefusalDrainBytes = 1 << 20;

// Raw read/write results besides a byte count: would block on a read / on a write, failed.
constexpr ssize_t kWantRead = -2;
constexpr ssize_t kWantWrite = -3;
constexpr ssize_t kFailed = -1;

thread_local bool this_connection_cut = false;

int PollMs(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))), INT_MAX));
}

// Waits up to `timeout` for `events` on `fd`: > 0 ready, 0 timed out, < 0 failed.
int WaitFor(int fd, short events, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  for (;;) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, PollMs(end - absl::Now()));
    if (ready < 0 && errno == EINTR) continue;
    return ready;
  }
}

void AddressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  sockaddr* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof(host), service, sizeof(service),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

// One connection's bytes, with the deadlines of http_transport.h. Reads are buffered (cpp-httplib
// reads a head one byte at a time); the head ends at its first empty line ("\r\n\r\n").
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, SSL* ssl, const HttpGuard& guard) : fd_(fd), ssl_(ssl), guard_(guard) {
    this_connection_cut = false;
  }

  // TLS: SSL_accept within head_deadline.
  bool Handshake() {
    phase_ = Phase::kHandshake;
    deadline_ = absl::Now() + guard_.head_deadline;
    for (;;) {
      ERR_clear_error();
      const int accepted = SSL_accept(ssl_);
      if (accepted == 1) return true;
      const int error = SSL_get_error(ssl_, accepted);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return false;
      if (!Wait(error == SSL_ERROR_WANT_READ ? kWantRead : kWantWrite)) return false;
    }
  }

  // Waits up to keep_alive_idle for the next request's first byte. False when none came, the
  // connection closed or failed, or the server is stopping (`listener` closed).
  bool WaitForRequest(const std::atomic<socket_t>& listener) {
    if (dead_) return false;
    if (begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0)) return true;
    const absl::Time end = absl::Now() + guard_.keep_alive_idle;
    while (listener != INVALID_SOCKET) {
      const absl::Duration left = end - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      const int ready = WaitFor(fd_, POLLIN, std::min(left, kStopCheck));
      if (ready != 0) return ready > 0;
    }
    return false;
  }

  // A request starts (its first byte has arrived): a fresh head deadline.
  void BeginRequest() {
    phase_ = Phase::kHead;
    deadline_ = absl::Now() + guard_.head_deadline;
    head_bytes_ = 0;
    head_end_matched_ = 0;
    response_closes_ = false;
  }

  // Whether the answer to this request said "Connection: close" (a refusal whose request left
  // unread or unparsable bytes behind): the connection ends with it.
  bool response_closes() const { return response_closes_; }

  bool is_readable() const override {
    if (dead_) return false;
    if (begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0)) return true;
    return WaitFor(fd_, POLLIN, std::min(guard_.io_timeout, deadline_ - absl::Now())) > 0;
  }

  bool is_writable() const override {
    return !dead_ && WaitFor(fd_, POLLOUT, guard_.io_timeout) > 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (dead_) return kFailed;
    if (begin_ == end_) {
      const ssize_t filled = Fill();
      if (filled <= 0) return filled;
    }
    const size_t n = std::min(size, end_ - begin_);
    if (phase_ == Phase::kHead) {
      for (size_t i = 0; i < n; ++i) {
        if (++head_bytes_ > guard_.max_head_bytes) {
          RefuseHead();
          return kFailed;
        }
        if (EndsHead(buf_[begin_ + i])) {
          phase_ = Phase::kBody;
          deadline_ = absl::Now() + guard_.body_deadline;
          break;
        }
      }
    }
    std::memcpy(ptr, buf_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (dead_) return kFailed;
    NoteResponseHead(absl::string_view(ptr, size));
    if (phase_ != Phase::kResponse && !interim_response_) {
      phase_ = Phase::kResponse;
      deadline_ = absl::Now() + guard_.response_deadline;
    }
    size_t done = 0;
    while (done < size) {
      const ssize_t n = RawWrite(ptr + done, size - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n != kWantRead && n != kWantWrite) return kFailed;
      if (!Wait(n)) return kFailed;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  enum class Phase { kHandshake, kHead, kBody, kResponse };

  // Whether `c` completes "\r\n\r\n".
  bool EndsHead(char c) {
    static constexpr char kEnd[] = "\r\n\r\n";
    if (c == kEnd[head_end_matched_]) {
      return ++head_end_matched_ == 4;
    }
    head_end_matched_ = c == '\r' ? 1 : 0;
    return false;
  }

  // cpp-httplib writes a response's status line and headers in one piece.
  // An interim "HTTP/1.1 100 Continue" is written before the body is read: it does not start the
  // response phase.
  void NoteResponseHead(absl::string_view data) {
    if (!absl::StartsWith(data, "HTTP/1.")) return;
    interim_response_ = data.size() > 9 && data[9] == '1';
    const size_t end = data.find("\r\n\r\n");
    const absl::string_view head = end == absl::string_view::npos ? data : data.substr(0, end + 2);
    if (absl::StrContains(head, "\r\nConnection: close\r\n")) response_closes_ = true;
  }

  // Refills the buffer: > 0 bytes, 0 the peer closed, kFailed (failed, silent past io_timeout,
  // or cut at the phase's deadline).
  ssize_t Fill() {
    begin_ = end_ = 0;
    for (;;) {
      const ssize_t n = RawRead(buf_, sizeof(buf_));
      if (n >= 0) {
        end_ = static_cast<size_t>(n);
        return n;
      }
      if (n == kFailed || !Wait(n)) return kFailed;
    }
  }

  // Waits for the socket as a raw operation asked (kWantRead / kWantWrite), for io_timeout and
  // not past the phase's deadline (then the connection is cut). False: no wait, give up.
  bool Wait(ssize_t want) {
    const absl::Duration left = deadline_ - absl::Now();
    if (left <= absl::ZeroDuration()) {
      Cut();
      return false;
    }
    const int ready =
        WaitFor(fd_, want == kWantRead ? POLLIN : POLLOUT, std::min(guard_.io_timeout, left));
    if (ready == 0 && absl::Now() >= deadline_) Cut();
    return ready > 0;
  }

  ssize_t RawRead(char* p, size_t n) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int got = SSL_read(ssl_, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
      if (got > 0) return got;
      return SslResult(got);
    }
    for (;;) {
      const ssize_t got = ::recv(fd_, p, n, 0);
      if (got >= 0) return got;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? kWantRead : kFailed;
    }
  }

  ssize_t RawWrite(const char* p, size_t n) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int put = SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
      if (put > 0) return put;
      const ssize_t result = SslResult(put);
      return result == 0 ? kFailed : result;
    }
    for (;;) {
      const ssize_t put = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (put >= 0) return put;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? kWantWrite : kFailed;
    }
  }

  // An SSL_read/SSL_write result <= 0: 0 (closed), kWantRead, kWantWrite or kFailed.
  ssize_t SslResult(int result) const {
    switch (SSL_get_error(ssl_, result)) {
      case SSL_ERROR_WANT_READ:
        return kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        return kFailed;
    }
  }

  // Past the phase's deadline: the connection is dropped without an answer.
  void Cut() {
    static constexpr const char* kReasons[] = {"handshake_deadline", "head_deadline",
                                               "body_deadline", "response_deadline"};
    MarkCut(kReasons[static_cast<int>(phase_)]);
  }

  void MarkCut(absl::string_view reason) {
    if (dead_) return;
    dead_ = true;
    this_connection_cut = true;
    if (guard_.on_cut) guard_.on_cut(reason);
  }

  // A head over max_head_bytes: 431 with the API's error body, then the connection is closed once
  // what the client still sends has been read (or kRefusalDrain has passed).
  void RefuseHead() {
    const std::string body = ErrorJson(absl::InvalidArgumentError(absl::StrCat(
        "the request line and headers are larger than ", guard_.max_head_bytes, " bytes")));
    const std::string response = absl::StrCat(
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: ", kJsonType,
        "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
    write(response.data(), response.size());
    MarkCut("head_too_large");
    if (ssl_ != nullptr) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    ::shutdown(fd_, SHUT_WR);
    const absl::Time end = absl::Now() + kRefusalDrain;
    size_t drained = 0;
    char sink[4096];
    while (drained < kRefusalDrainBytes && WaitFor(fd_, POLLIN, end - absl::Now()) > 0) {
      const ssize_t n = ::recv(fd_, sink, sizeof(sink), 0);
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) break;
      if (n > 0) drained += static_cast<size_t>(n);
    }
  }

  const int fd_;
  SSL* const ssl_;  // null: plain HTTP
  const HttpGuard& guard_;
  char buf_[16 * 1024];
  size_t begin_ = 0;
  size_t end_ = 0;
  Phase phase_ = Phase::kHead;
  absl::Time deadline_ = absl::InfiniteFuture();
  size_t head_bytes_ = 0;
  int head_end_matched_ = 0;  // bytes of "\r\n\r\n" just read
  bool dead_ = false;         // cut or refused: nothing more is read or written
  bool response_closes_ = false;
  bool interim_response_ = false;  // the last response head written was a 1xx
};

// Non-blocking (every wait is a poll bounded by the guard), no Nagle delay.
void PrepareSocket(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// The keep-alive loop: each request gets a fresh head deadline from its first byte.
template <typename ProcessRequest>
bool ServeConnection(GuardedStream& stream, const std::atomic<socket_t>& listener,
                     const HttpGuard& guard, const ProcessRequest& process) {
  bool ok = false;
  for (int served = 0; served < guard.keep_alive_max_requests && stream.WaitForRequest(listener);) {
    ++served;
    stream.BeginRequest();
    bool closed = false;
    ok = process(stream, /*close_connection=*/served == guard.keep_alive_max_requests, closed);
    if (!ok || closed || stream.response_closes()) break;
  }
  return ok;
}

// What cpp-httplib writes in its Keep-Alive header ("timeout=10, max=100") follows the guard.
void AdvertiseKeepAlive(httplib::Server& server, const HttpGuard& guard) {
  server.set_keep_alive_timeout(static_cast<time_t>(absl::ToInt64Seconds(guard.keep_alive_idle)));
  server.set_keep_alive_max_count(static_cast<size_t>(guard.keep_alive_max_requests));
}

void CloseSocket(int fd) {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

class GuardedServer final : public httplib::Server {
 public:
  explicit GuardedServer(HttpGuard guard) : guard_(std::move(guard)) {
    AdvertiseKeepAlive(*this, guard_);
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    PrepareSocket(sock);
    bool ok = false;
    {
      GuardedStream stream(sock, nullptr, guard_);
      ok = ServeConnection(stream, svr_sock_, guard_,
                           [this](httplib::Stream& strm, bool close, bool& closed) {
                             return process_request(strm, close, closed, nullptr);
                           });
    }
    CloseSocket(sock);
    return ok;
  }

  const HttpGuard guard_;
};

class GuardedTlsServer final : public httplib::SSLServer {
 public:
  GuardedTlsServer(HttpGuard guard, const char* cert, const char* key, const char* client_ca)
      : httplib::SSLServer(cert, key, client_ca), guard_(std::move(guard)) {
    AdvertiseKeepAlive(*this, guard_);
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    PrepareSocket(sock);
    bool ok = false;
    SSL* ssl = SSL_new(ssl_context());
    if (ssl != nullptr && SSL_set_fd(ssl, sock) == 1) {
      GuardedStream stream(sock, ssl, guard_);
      if (stream.Handshake()) {
        ok = ServeConnection(
            stream, svr_sock_, guard_, [this, ssl](httplib::Stream& strm, bool close, bool& closed) {
              return process_request(strm, close, closed,
                                     [ssl](httplib::Request& req) { req.ssl = ssl; });
            });
      }
      if (ok) {  // close_notify, best effort (the socket does not block)
        ERR_clear_error();
        SSL_shutdown(ssl);
      }
    }
    SSL_free(ssl);
    CloseSocket(sock);
    return ok;
  }

  const HttpGuard guard_;
};

}  // namespace

std::unique_ptr<httplib::Server> NewGuardedServer(HttpGuard guard) {
  return std::make_unique<GuardedServer>(std::move(guard));
}

absl::StatusOr<std::unique_ptr<httplib::Server>> NewGuardedTlsServer(
    HttpGuard guard, const std::string& cert_path, const std::string& key_path,
    const std::string& client_ca_path) {
  auto server = std::make_unique<GuardedTlsServer>(
      std::move(guard), cert_path.c_str(), key_path.c_str(),
      client_ca_path.empty() ? nullptr : client_ca_path.c_str());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot use the TLS certificate/key ", cert_path, " / ", key_path,
        client_ca_path.empty() ? "" : " or the client CA ", client_ca_path));
  }
  return server;
}

bool ThisConnectionWasCut() { return this_connection_cut; }

HttpServing::HttpServing(httplib::Server* server) : server_(server) {
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    ended_.store(true);
  });
}

HttpServing::~HttpServing() { Stop(); }

void HttpServing::Stop() {
  if (!thread_.joinable()) return;
  // stop() does nothing until listen_after_bind() runs: wait for that (or for its failure).
  while (!ended_.load()) {
    if (server_->is_running()) {
      server_->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
}

}  // namespace geoloc::server
