// Hostile HTTP against a real geolocd's HTTP/JSON API (server/http_api.h): every hostile-corpus
// entry as a multipart upload and as JSON, silent and slow clients, more slow clients than
// workers, oversized request and header lines, header floods, garbage request lines; and the
// admission queue shared with gRPC (an HTTP call is shed when gRPC fills it). The server
// must answer each with the API's error body (or drop the connection), keep serving HTTP and
// gRPC, and never crash. Trickling clients (a head, a body or a TLS handshake one byte at a time,
// each byte well inside the per-read timeout) are cut at their whole-request deadline
// (server/http_transport.h), which the tests read from the server's own counter.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "hostile_corpus.h"
#include "tests/hardening/hardening_support.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/tls_material.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

constexpr int64_t kMaxMessageBytes = 1 << 20;
constexpr int64_t kMaxImagePixels = 50'000'000;
constexpr int kHttpThreads = 4;
// Per read and write; the whole head and body get far less than a trickle needs.
constexpr int kIoTimeoutSeconds = 5;
constexpr int kHeadDeadlineSeconds = 2;
constexpr int kBodyDeadlineSeconds = 3;
constexpr int kResponseDeadlineSeconds = 2;
// A static file far larger than what the kernel's socket buffers hold (at most 4 MiB on each side
// of a loopback connection), so that writing it to a client that reads slowly blocks.
constexpr size_t kLargeFileBytes = 32 << 20;
// A trickle: one byte every 200 ms (25 times inside the per-read timeout) for 60 s in all.
constexpr absl::Duration kTrickleInterval = absl::Milliseconds(200);
constexpr int kTrickleBytes = 300;

// A raw TCP connection to 127.0.0.1:port, for what an HTTP client library would not send.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // False when the server has closed the connection (or reset it) before all was sent.
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the server closes the connection or `timeout` passes; returns what came.
  // closed() says which.
  std::string ReadUntilClosed(absl::Duration timeout) {
    std::string out;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline && ReadSome(deadline, &out)) {
    }
    return out;
  }
  bool closed() const { return closed_; }
  // Reads one response (head and Content-Length body); empty when none came within `timeout`.
  std::string ReadResponse(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      const size_t head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        const size_t at = pending_.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) {
          absl::SimpleAtoi(pending_.substr(at + 16, pending_.find("\r\n", at) - at - 16), &length);
        }
        if (pending_.size() >= head_end + 4 + length) {
          std::string response = pending_.substr(0, head_end + 4 + length);
          pending_.erase(0, response.size());
          return response;
        }
      }
      if (!ReadSome(deadline, &pending_)) break;
    }
    return "";
  }
  // Closes with a reset (SO_LINGER 0): the server's next write fails at once.
  void Reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd_);
    fd_ = -1;
  }

 private:
  // Waits for data until `deadline` and appends what one recv gives to `out`. False once the
  // server has closed the connection (closed() is then true); true otherwise, data or not.
  bool ReadSome(absl::Time deadline, std::string* out) {
    pollfd p{fd_, POLLIN, 0};
    const int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&p, 1, std::max(1, left)) <= 0) return true;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;  // read by ReadResponse, not yet returned
};

// A client that sends `start`, then `trickle` one byte every kTrickleInterval on a thread of its
// own until the server closes the connection or Stop().
class Trickler {
 public:
  Trickler(int port, const std::string& start, const std::string& trickle)
      : conn_(port), trickle_(trickle) {
    started_ = conn_.ok() && conn_.Send(start);
    if (started_) thread_ = std::thread([this] { Run(); });
  }
  ~Trickler() { Stop(); }
  bool started() const { return started_; }
  // Stops trickling; then whatever the server answered, read until it closes (60 s at most).
  std::string StopAndRead() {
    Stop();
    return conn_.ReadUntilClosed(absl::Seconds(60));
  }
  bool closed() const { return conn_.closed(); }
  // Whether every byte of the trickle went out (the head or body was complete).
  bool finished() const { return sent_.load() == trickle_.size(); }

 private:
  void Run() {
    for (size_t i = 0; i < trickle_.size() && !stop_.load(); ++i) {
      absl::SleepFor(kTrickleInterval);
      if (!conn_.Send(trickle_.substr(i, 1))) return;  // the server closed the connection
      sent_.store(i + 1);
    }
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  RawConnection conn_;
  const std::string trickle_;
  bool started_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> sent_{0};
  std::thread thread_;
};

std::string CutSeries(const char* reason) {
  return absl::StrCat("geoloc_http_connections_cut_total{listener=\"api\",reason=\"", reason,
                      "\"}");
}

// A head that is never complete at the trickle's pace: kTrickleBytes of a header value, then the
// end of the head.
const std::string& TrickledHeader() {
  static const std::string* header = new std::string(std::string(kTrickleBytes, 'a') + "\r\n\r\n");
  return *header;
}

// The status code of a raw HTTP response ("HTTP/1.1 400 Bad Request..."), or 0.
int StatusOf(const std::string& response) {
  if (!absl::StartsWith(response, "HTTP/1.")) return 0;
  int status = 0;
  return absl::SimpleAtoi(response.substr(9, 3), &status) ? status : 0;
}

// The gRPC code name of an error body.
std::string CodeOf(const std::string& body) {
  google::protobuf::Struct parsed;
  if (!google::protobuf::util::JsonStringToMessage(body, &parsed).ok()) return "(not JSON)";
  auto it = parsed.fields().find("code");
  return it == parsed.fields().end() ? "(no code)" : it->second.string_value();
}

class HttpHostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new Fixture(testing::GetFixture());
    console_ = new testing::ScratchDir("http-hostile-console");
    testing::WriteTestFile(console_->file("large.txt"), std::string(kLargeFileBytes, 'x'));
    server_ = new ServerProcess(HardeningFlags(
        *fixture_,
        {absl::StrCat("--max_message_bytes=", kMaxMessageBytes),
         absl::StrCat("--max_image_pixels=", kMaxImagePixels), "--http_address=127.0.0.1:0",
         absl::StrCat("--http_threads=", kHttpThreads),
         absl::StrCat("--http_io_timeout_seconds=", kIoTimeoutSeconds),
         absl::StrCat("--http_head_deadline_seconds=", kHeadDeadlineSeconds),
         absl::StrCat("--http_body_deadline_seconds=", kBodyDeadlineSeconds),
         absl::StrCat("--http_response_deadline_seconds=", kResponseDeadlineSeconds),
         "--console_dir=" + console_->path()}));
    start_status_ = new absl::Status(server_->Start());
    CorpusOptions options;
    options.max_message_bytes = kMaxMessageBytes;
    options.max_image_pixels = kMaxImagePixels;
    corpus_ = new std::vector<HostileEntry>(HostileCorpus(options));
  }
  static void TearDownTestSuite() {
    delete corpus_;
    delete start_status_;
    delete server_;
    delete console_;
    delete fixture_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(120, 0);
    good_image_ = GoodImage(*fixture_);
  }
  // After every test: alive, and a good photo is still located over HTTP and over gRPC.
  void TearDown() override {
    ASSERT_TRUE(server_->Running()) << "geolocd died:\n" << server_->Log();
    httplib::MultipartFormDataItems form = {{"image", good_image_, "good.jpg", "image/jpeg"}};
    auto res = http_->Post("/v1/locate", form);
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << res->body;
    v1::LocateRequest request;
    request.set_image(good_image_);
    EXPECT_TRUE(server_->NewClient()->Locate(request).ok());
  }
  int port() const { return server_->http_port(); }

  static Fixture* fixture_;
  static testing::ScratchDir* console_;
  static ServerProcess* server_;
  static absl::Status* start_status_;
  static std::vector<HostileEntry>* corpus_;
  std::unique_ptr<httplib::Client> http_;
  std::string good_image_;
};

Fixture* HttpHostileTest::fixture_ = nullptr;
testing::ScratchDir* HttpHostileTest::console_ = nullptr;
ServerProcess* HttpHostileTest::server_ = nullptr;
absl::Status* HttpHostileTest::start_status_ = nullptr;
std::vector<HostileEntry>* HttpHostileTest::corpus_ = nullptr;

// The gRPC code the corpus expects, over HTTP: a message over the limit is refused with 413 (the
// HTTP layer's size check), the rest reach the decoder as over gRPC.
TEST_F(HttpHostileTest, EveryCorpusEntryAsMultipartAndJsonGetsItsExpectedCode) {
  const std::map<StatusCode, int> http_status = {{StatusCode::kOk, 200},
                                                 {StatusCode::kInvalidArgument, 400},
                                                 {StatusCode::kResourceExhausted, 429}};
  for (const HostileEntry& e : *corpus_) {
    const int expected_status = e.whole_message ? 413 : http_status.at(e.expected);
    httplib::MultipartFormDataItems form = {{"image", e.bytes, e.name, "image/jpeg"}};
    auto multipart = http_->Post("/v1/locate", form);
    ASSERT_TRUE(multipart) << e.name;
    EXPECT_EQ(multipart->status, expected_status)
        << e.name << " (" << e.why << "): " << multipart->body.substr(0, 300);
    if (e.expected != StatusCode::kOk) {
      EXPECT_EQ(CodeOf(multipart->body), absl::StatusCodeToString(e.expected)) << e.name;
    }
    // As JSON the body is a third larger (base64): entries near the limit may cross the body
    // limit, which is 413 too.
    auto json =
        http_->Post("/v1/locate", absl::StrCat("{\"image\":\"", absl::Base64Escape(e.bytes), "\"}"),
                    "application/json");
    ASSERT_TRUE(json) << e.name;
    EXPECT_EQ(json->status, expected_status) << e.name << ": " << json->body.substr(0, 300);
  }
}

TEST_F(HttpHostileTest, SilentAndSlowClientsLoseTheirConnection) {
  // Connected, nothing sent; a request line and half a header; a body promised and not sent.
  const std::vector<std::string> starts = {
      "", "POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Ty",
      "POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100000\r\n\r\n{\"image\":\""};
  for (const std::string& start : starts) {
    RawConnection conn(port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn.Send(start));
    // The deadlines are a few seconds; waiting up to 60 s is for a busy machine, not the bound.
    conn.ReadUntilClosed(absl::Seconds(60));
    EXPECT_TRUE(conn.closed()) << "still open after 60 s: '" << start.substr(0, 40) << "'";
  }
}

// A head trickled one byte every 200 ms (each read far inside the 5 s per-read timeout, so a
// per-read timeout alone would wait the whole minute) is cut at the 2 s head deadline.
TEST_F(HttpHostileTest, ATrickledHeadIsCutAtTheHeadDeadline) {
  const double cut_before = Metric(*server_, CutSeries("head_deadline"));
  Trickler trickler(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: ", TrickledHeader());
  ASSERT_TRUE(trickler.started());
  ASSERT_TRUE(WaitUntil([&] { return Metric(*server_, CutSeries("head_deadline")) > cut_before; },
                        absl::Seconds(60)))
      << "the trickled head was not cut";
  const std::string answer = trickler.StopAndRead();
  EXPECT_TRUE(trickler.closed());
  EXPECT_FALSE(trickler.finished()) << "the head was complete before the cut";
  EXPECT_EQ(answer, "") << "a cut connection gets no answer";
  EXPECT_EQ(Metric(*server_, CutSeries("head_deadline")), cut_before + 1);
}

// A body trickled the same way after a complete head is cut at the 3 s body deadline, and the cut
// is not counted as an answered call.
TEST_F(HttpHostileTest, ATrickledBodyIsCutAtTheBodyDeadline) {
  const std::string refused =
      "geoloc_requests_total{code=\"INVALID_ARGUMENT\",method=\"Locate\",transport=\"http\"}";
  const double cut_before = Metric(*server_, CutSeries("body_deadline"));
  const double refused_before = Metric(*server_, refused);
  Trickler trickler(port(),
                    absl::StrCat("POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                 "application/json\r\nContent-Length: ",
                                 kTrickleBytes, "\r\n\r\n"),
                    std::string(kTrickleBytes, ' '));
  ASSERT_TRUE(trickler.started());
  ASSERT_TRUE(WaitUntil([&] { return Metric(*server_, CutSeries("body_deadline")) > cut_before; },
                        absl::Seconds(60)))
      << "the trickled body was not cut";
  const std::string answer = trickler.StopAndRead();
  EXPECT_TRUE(trickler.closed());
  EXPECT_FALSE(trickler.finished()) << "the body was complete before the cut";
  EXPECT_EQ(answer, "");
  EXPECT_EQ(Metric(*server_, refused), refused_before);
}

// Each keep-alive request gets a deadline of its own from its first byte: a second request sent
// after the first one's head deadline has long passed (but within the idle wait) is served.
TEST_F(HttpHostileTest, AKeepAliveRequestGetsAFreshHeadDeadline) {
  const double cut_before = Metric(*server_, CutSeries("head_deadline"));
  RawConnection conn(port());
  ASSERT_TRUE(conn.ok());
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(conn.Send(request));
  EXPECT_EQ(StatusOf(conn.ReadResponse(absl::Seconds(60))), 200);
  // The pause sets the scene (longer than the head deadline, shorter than the idle wait); the
  // outcome is read from the answer, not from the clock.
  absl::SleepFor(absl::Seconds(kHeadDeadlineSeconds) + absl::Milliseconds(1500));
  ASSERT_TRUE(conn.Send(request));
  EXPECT_EQ(StatusOf(conn.ReadResponse(absl::Seconds(60))), 200);
  EXPECT_FALSE(conn.closed());
  EXPECT_EQ(Metric(*server_, CutSeries("head_deadline")), cut_before);
}

// Twice as many tricklers as workers: with a per-read timeout alone they would hold every worker
// for their whole minute and a normal client would wait behind them; each is cut at its head
// deadline, and the normal client is served well within its 30 s read timeout.
TEST_F(HttpHostileTest, NormalClientsAreServedWhileTricklersHoldConnections) {
  const double cut_before = Metric(*server_, CutSeries("head_deadline"));
  std::vector<std::unique_ptr<Trickler>> tricklers;
  for (int i = 0; i < 2 * kHttpThreads; ++i) {
    tricklers.push_back(std::make_unique<Trickler>(
        port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: ", TrickledHeader()));
    ASSERT_TRUE(tricklers.back()->started());
  }
  httplib::Client normal("127.0.0.1", port());
  normal.set_read_timeout(30, 0);
  auto res = normal.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  ASSERT_TRUE(WaitUntil(
      [&] { return Metric(*server_, CutSeries("head_deadline")) >= cut_before + 2 * kHttpThreads; },
      absl::Seconds(60)));
  for (auto& t : tricklers) {
    t->StopAndRead();
    EXPECT_TRUE(t->closed());
    EXPECT_FALSE(t->finished());
  }
}

// A head over 64 KiB in all (each line within cpp-httplib's 8 KiB) is refused with 431 and the
// API's error body.
// A client that asks for a large file and then reads 1 KiB every kTrickleInterval (each read far
// inside the 5 s I/O timeout, so only a deadline on the whole response can end it) loses the
// connection at the 2 s response deadline, long before the file is through.
TEST_F(HttpHostileTest, ASlowReaderIsCutAtTheResponseDeadline) {
  const double cut_before = Metric(*server_, CutSeries("response_deadline"));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int small_window = 4096;  // the server cannot push the file into this client's buffer
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small_window, sizeof(small_window)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET /large.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  size_t received = 0;
  bool closed = false;
  char buf[1024];
  auto read_some = [&](int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed = true;
    } else {
      received += static_cast<size_t>(n);
    }
  };
  // Slowly, until the server's own counter shows the cut.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (!closed && Metric(*server_, CutSeries("response_deadline")) == cut_before &&
         absl::Now() < give_up) {
    read_some(0);
    absl::SleepFor(kTrickleInterval);
  }
  EXPECT_GT(Metric(*server_, CutSeries("response_deadline")), cut_before)
      << "the slow reader was not cut (" << received << " bytes read)";
  // Then at full speed: what the kernel still held arrives, then the end of the connection.
  while (!closed && absl::Now() < give_up) read_some(1000);
  ::close(fd);
  EXPECT_TRUE(closed) << "the connection stayed open";
  EXPECT_LT(received, kLargeFileBytes) << "the whole file came through";
  EXPECT_EQ(Metric(*server_, CutSeries("response_deadline")), cut_before + 1);
}

TEST_F(HttpHostileTest, AHeadOverItsLimitIs431) {
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; head.size() <= 64 * 1024; ++i) {
    absl::StrAppend(&head, "X-Many-", i, ": ", std::string(100, 'v'), "\r\n");
  }
  head += "\r\n";
  const double refused_before = Metric(*server_, CutSeries("head_too_large"));
  RawConnection conn(port());
  ASSERT_TRUE(conn.ok());
  conn.Send(head);
  const std::string response = conn.ReadUntilClosed(absl::Seconds(60));
  EXPECT_EQ(StatusOf(response), 431) << response.substr(0, 200);
  const size_t body = response.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << response;
  EXPECT_EQ(CodeOf(response.substr(body + 4)), "INVALID_ARGUMENT") << response;
  EXPECT_EQ(Metric(*server_, CutSeries("head_too_large")), refused_before + 1);
}

TEST_F(HttpHostileTest, MoreSlowClientsThanWorkersOnlyDelayOthers) {
  // Every worker held by a silent connection, and as many waiting behind them.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 2 * kHttpThreads; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(slow.back()->ok());
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\n"));
  }
  // gRPC is another transport: unaffected.
  v1::LocateRequest request;
  request.set_image(good_image_);
  EXPECT_TRUE(server_->NewClient()->Locate(request).ok());
  // HTTP answers once the slow ones have timed out.
  auto res = http_->Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  for (auto& conn : slow) {
    conn->ReadUntilClosed(absl::Seconds(60));
    EXPECT_TRUE(conn->closed());
  }
}

// Clients that go away before their answer: the server's writes fail (EPIPE, ECONNRESET) and must
// not kill it (cpp-httplib writes without MSG_NOSIGNAL; geolocd ignores SIGPIPE).
TEST_F(HttpHostileTest, ClientsThatLeaveBeforeTheAnswer) {
  const std::string json = absl::StrCat("{\"image\":\"", absl::Base64Escape(good_image_), "\"}");
  // Explain answers are large (the overlay PNG): written in many pieces into a closed socket.
  auto request = [&](const char* path) {
    return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: x\r\n",
                        "Content-Type: application/json\r\nContent-Length: ", json.size(),
                        "\r\n\r\n", json);
  };
  auto answered = [&] {
    return Metric(*server_,
                  "geoloc_requests_total{code=\"OK\",method=\"Locate\",transport=\"http\"}") +
           Metric(*server_,
                  "geoloc_requests_total{code=\"OK\",method=\"Explain\",transport=\"http\"}");
  };
  const double answered_before = answered();
  constexpr int kLeavers = 8;
  for (int i = 0; i < kLeavers; ++i) {
    RawConnection conn(port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn.Send(request(i < kLeavers / 2 ? "/v1/locate" : "/v1/explain")));
    if (i % 2 == 0) conn.Reset();  // else closed normally (FIN) when it goes out of scope
  }
  // Every call is still answered (into closed connections), and the server lives (TearDown).
  EXPECT_TRUE(
      WaitUntil([&] { return !server_->Running() || answered() >= answered_before + kLeavers; },
                absl::Seconds(120)));
}

TEST_F(HttpHostileTest, OversizedLinesAndHeaderFloods) {
  struct Case {
    std::string name;
    std::string request;
  };
  const std::string long_value(20'000, 'a');
  std::string flood = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&flood, "X-Flood-", i, ": ", i, "\r\n");
  flood += "\r\n";
  const std::vector<Case> cases = {
      {"long request line",
       absl::StrCat("GET /", std::string(20'000, 'p'), " HTTP/1.1\r\nHost: x\r\n\r\n")},
      {"long header line",
       absl::StrCat("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", long_value, "\r\n\r\n")},
      {"long authorization", absl::StrCat("POST /v1/locate HTTP/1.1\r\nHost: x\r\n"
                                          "Authorization: Bearer ",
                                          long_value, "\r\nContent-Length: 0\r\n\r\n")},
      {"header flood", flood},
      {"garbage request line", "\x16\x03\x01\x02\x00 not http at all\r\n\r\n"},
      {"unknown method", "BREW /v1/locate HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"negative length",
       "POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Type: "
       "application/json\r\nContent-Length: -5\r\n\r\n{}"},
      {"huge length",
       "POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Type: "
       "application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{}"},
      {"bad chunking",
       "POST /v1/locate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
  };
  for (const Case& c : cases) {
    RawConnection conn(port());
    ASSERT_TRUE(conn.ok()) << c.name;
    conn.Send(c.request);  // the server may close before reading it all
    const std::string response = conn.ReadUntilClosed(absl::Seconds(60));
    EXPECT_TRUE(conn.closed() || StatusOf(response) != 0) << c.name;
    const int status = StatusOf(response);
    // Refused (4xx, with the API's error body when the request got that far), or answered
    // (the flood is a valid request); never a server error.
    EXPECT_TRUE(status == 0 || (status >= 200 && status < 500)) << c.name << ": " << response;
    if (status >= 400) {
      const size_t body = response.find("\r\n\r\n");
      ASSERT_NE(body, std::string::npos) << c.name;
      EXPECT_NE(CodeOf(response.substr(body + 4)), "(not JSON)") << c.name << ": " << response;
    }
  }
}

// Over TLS (with client certificates) the handshake has the head deadline too: a ClientHello
// trickled one byte every 200 ms is cut, and a client with a certificate is served meanwhile.
class HttpHostileTlsTest : public testing::TlsMaterialTest {};

TEST_F(HttpHostileTlsTest, ATrickledHandshakeIsCutAndMutualTlsStillServes) {
  // The refused handshake makes OpenSSL write into a closed socket: EPIPE, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  const Fixture fixture = testing::GetFixture();
  ServerProcess server(HardeningFlags(
      fixture, {"--http_address=127.0.0.1:0", "--tls_cert=" + tls().server_cert(),
                "--tls_key=" + tls().server_key(), "--tls_client_ca=" + tls().ca_cert(),
                absl::StrCat("--http_io_timeout_seconds=", kIoTimeoutSeconds),
                absl::StrCat("--http_head_deadline_seconds=", kHeadDeadlineSeconds)}));
  ASSERT_TRUE(server.Start(/*wait_serving=*/false).ok()) << server.Log();
  // A TLS record header announcing a 512-byte handshake message, whose bytes then trickle.
  Trickler trickler(server.http_port(), std::string("\x16\x03\x01\x02\x00", 5),
                    std::string(kTrickleBytes, 'h'));
  ASSERT_TRUE(trickler.started());
  httplib::SSLClient trusted("127.0.0.1", server.http_port(), tls().client_cert(),
                             tls().client_key());
  trusted.set_ca_cert_path(tls().ca_cert().c_str());
  trusted.enable_server_certificate_verification(true);
  trusted.set_read_timeout(30, 0);
  auto res = trusted.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  httplib::SSLClient stranger("127.0.0.1", server.http_port());
  stranger.enable_server_certificate_verification(false);
  EXPECT_FALSE(stranger.Get("/healthz")) << "served a client without a certificate";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !server.Running() ||
               Metric(server, CutSeries("handshake_deadline")) >= 1;
      },
      absl::Seconds(60)))
      << "the trickled handshake was not cut";
  ASSERT_TRUE(server.Running()) << server.Log();
  const std::string answer = trickler.StopAndRead();
  EXPECT_TRUE(trickler.closed());
  EXPECT_FALSE(trickler.finished());
  EXPECT_EQ(answer, "");
}

// One admission queue for both transports: while gRPC callers keep the queue full, HTTP calls are
// shed by the same rule, with the same message. (A queue of its own would admit them.)
TEST(HttpSharedQueueTest, HttpIsShedWhenGrpcFillsTheQueue) {
  const Fixture fixture = testing::GetFixture();
  ServerProcess server(HardeningFlags(
      fixture, {"--queue_capacity=2", "--max_batch=1", "--http_address=127.0.0.1:0"}));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  const std::string image = GoodImage(fixture);
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      std::unique_ptr<client::Client> c = server.NewClient();
      v1::LocateRequest request;
      request.set_image(image);
      while (!stop.load()) c->Locate(request, {absl::Seconds(60), false}).IgnoreError();
    });
  }
  httplib::Client http("127.0.0.1", server.http_port());
  http.set_read_timeout(120, 0);
  const httplib::MultipartFormDataItems form = {{"image", image, "good.jpg", "image/jpeg"}};
  std::string shed_body;
  // Each try either finds the queue full (shed at once) or takes a place and waits its turn.
  const bool shed = WaitUntil(
      [&] {
        auto res = http.Post("/v1/locate", form);
        if (res && res->status == 429) shed_body = res->body;
        return !shed_body.empty();
      },
      absl::Seconds(120));
  stop.store(true);
  for (auto& t : callers) t.join();
  ASSERT_TRUE(shed) << "no HTTP call was shed while gRPC kept the queue full";
  EXPECT_EQ(CodeOf(shed_body), "RESOURCE_EXHAUSTED") << shed_body;
  EXPECT_TRUE(absl::StrContains(shed_body, "at capacity")) << shed_body;
  EXPECT_GE(Metric(server,
                   "geoloc_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Locate\","
                   "transport=\"http\"}"),
            1);
}

}  // namespace
}  // namespace geoloc::hardening
