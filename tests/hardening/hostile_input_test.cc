// Hostile input against a real geolocd: every hostile-corpus entry through Locate, Explain and one
// LocateStream, absurd options, too many stream items and oversized messages. The server must
// answer each with its own status, keep serving, and never crash.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"
#include "hostile_corpus.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

// The server's limits; the corpus expectations are computed for the same values.
constexpr int64_t kMaxMessageBytes = 1 << 20;
constexpr int64_t kMaxImagePixels = 50'000'000;
constexpr int kMaxK = 100;
constexpr int kMaxStreamImages = 100;

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new Fixture(testing::GetFixture());
    server_ = new ServerProcess(HardeningFlags(
        *fixture_, {absl::StrCat("--max_message_bytes=", kMaxMessageBytes),
                    absl::StrCat("--max_image_pixels=", kMaxImagePixels),
                    absl::StrCat("--max_k=", kMaxK),
                    absl::StrCat("--max_stream_images=", kMaxStreamImages),
                    "--max_stream_in_flight=8"}));
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
    delete fixture_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    client_ = server_->NewClient();
    ASSERT_NE(client_, nullptr);
    good_image_ = GoodImage(*fixture_);
  }
  // After every test: the process is alive and a good photo is still located.
  void TearDown() override {
    ASSERT_TRUE(server_->Running()) << "geolocd died:\n" << server_->Log();
    v1::LocateRequest request;
    request.set_image(good_image_);
    absl::StatusOr<v1::LocateResponse> response = client_->Locate(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_GE(response->peaks_size(), 1);
  }

  static Fixture* fixture_;
  static ServerProcess* server_;
  static absl::Status* start_status_;
  static std::vector<HostileEntry>* corpus_;
  std::unique_ptr<client::Client> client_;
  std::string good_image_;
};

Fixture* HostileInputTest::fixture_ = nullptr;
ServerProcess* HostileInputTest::server_ = nullptr;
absl::Status* HostileInputTest::start_status_ = nullptr;
std::vector<HostileEntry>* HostileInputTest::corpus_ = nullptr;

TEST_F(HostileInputTest, LocateAnswersEveryCorpusEntryWithItsExpectedCode) {
  std::map<StatusCode, int> expected_counts;
  const double invalid_before = RequestCount(*server_, "Locate", "INVALID_ARGUMENT");
  const double exhausted_before = RequestCount(*server_, "Locate", "RESOURCE_EXHAUSTED");
  for (const HostileEntry& e : *corpus_) {
    v1::LocateRequest request;
    request.set_image(e.bytes);
    absl::StatusOr<v1::LocateResponse> response = client_->Locate(request);
    EXPECT_EQ(response.status().code(), e.expected)
        << e.name << " (" << e.why << "): " << response.status();
    if (response.ok()) {
      EXPECT_GE(response->peaks_size(), 1) << e.name;
      EXPECT_GT(response->timings().encode_ms(), 0) << e.name;
    } else {
      EXPECT_FALSE(response.status().message().empty()) << e.name;
    }
    if (!e.whole_message) ++expected_counts[e.expected];  // gRPC refuses those before geolocd
  }
  // geolocd's own accounting agrees: every refusal it made is counted under its code (a call is
  // counted when the server lets go of it, which may be just after the client has its answer).
  auto invalid = [&] { return RequestCount(*server_, "Locate", "INVALID_ARGUMENT") - invalid_before; };
  auto exhausted = [&] {
    return RequestCount(*server_, "Locate", "RESOURCE_EXHAUSTED") - exhausted_before;
  };
  WaitUntil([&] { return InFlight(*server_) == 0; }, absl::Seconds(30));
  WaitUntil(
      [&] {
        return invalid() >= expected_counts[StatusCode::kInvalidArgument] &&
               exhausted() >= expected_counts[StatusCode::kResourceExhausted];
      },
      absl::Seconds(30));
  EXPECT_EQ(invalid(), expected_counts[StatusCode::kInvalidArgument]);
  EXPECT_EQ(exhausted(), expected_counts[StatusCode::kResourceExhausted]);
}

TEST_F(HostileInputTest, ExplainAnswersEveryCorpusEntryWithItsExpectedCode) {
  for (const HostileEntry& e : *corpus_) {
    v1::ExplainRequest request;
    request.set_image(e.bytes);
    request.set_return_overlay(false);
    absl::StatusOr<v1::ExplainResponse> response = client_->Explain(request);
    EXPECT_EQ(response.status().code(), e.expected)
        << e.name << " (" << e.why << "): " << response.status();
    if (response.ok()) {
      EXPECT_EQ(response->saliency_size(),
                static_cast<int>(response->width() * response->height()))
          << e.name;
      EXPECT_GT(response->width(), 0u) << e.name;
    }
  }
}

TEST_F(HostileInputTest, OneStreamAnswersEveryEntryWithItsOwnStatusAndSurvives) {
  // The oversized entry cannot be an item: gRPC ends the whole stream for it (next test).
  std::vector<const HostileEntry*> items;
  for (const HostileEntry& e : *corpus_) {
    if (!e.whole_message) items.push_back(&e);
  }
  ASSERT_LT(items.size() + 1, static_cast<size_t>(kMaxStreamImages));
  size_t next = 0;
  std::map<std::string, v1::LocateStreamResponse> answers;
  auto summary = client_->LocateStream(
      [&]() -> std::optional<v1::LocateStreamRequest> {
        if (next > items.size()) return std::nullopt;
        v1::LocateStreamRequest item;
        if (next == items.size()) {  // a good photo last: the stream is still working
          item.set_item_id("good_photo_after_the_corpus");
          item.set_image(good_image_);
        } else {
          item.set_item_id(items[next]->name);
          item.set_image(items[next]->bytes);
        }
        ++next;
        return item;
      },
      [&](const v1::LocateStreamResponse& r) { answers[r.item_id()] = r; },
      client::StreamOptions{8, absl::Seconds(300), false});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->sent, static_cast<int64_t>(items.size() + 1));
  EXPECT_EQ(summary->received, summary->sent);
  ASSERT_EQ(answers.size(), items.size() + 1);
  for (const HostileEntry* e : items) {
    const v1::LocateStreamResponse& a = answers[e->name];
    EXPECT_EQ(a.status().code(), static_cast<int>(e->expected))
        << e->name << " (" << e->why << "): " << a.status().message();
    EXPECT_EQ(a.has_result(), e->expected == StatusCode::kOk) << e->name;
  }
  const v1::LocateStreamResponse& good = answers["good_photo_after_the_corpus"];
  EXPECT_EQ(good.status().code(), 0) << good.status().message();
  EXPECT_GE(good.result().peaks_size(), 1);
}

TEST_F(HostileInputTest, AbsurdOptionsAreRefusedNamingTheOption) {
  struct Case {
    const char* what;
    std::function<void(v1::LocateOptions*)> set;
    const char* names;  // the message must name the option
  };
  const std::vector<Case> cases = {
      {"k above --max_k", [](v1::LocateOptions* o) { o->set_k(kMaxK + 1); }, "k = 101"},
      {"k = 2^32-1", [](v1::LocateOptions* o) { o->set_k(0xFFFFFFFFu); }, "k = 4294967295"},
      {"negative bandwidth", [](v1::LocateOptions* o) { o->set_bandwidth_km(-1); },
       "bandwidth_km"},
      {"NaN bandwidth", [](v1::LocateOptions* o) { o->set_bandwidth_km(std::nan("")); },
       "bandwidth_km"},
      {"infinite merge radius",
       [](v1::LocateOptions* o) { o->set_merge_radius_km(std::numeric_limits<double>::infinity()); },
       "merge_radius_km"},
      {"NaN weight exponent", [](v1::LocateOptions* o) { o->set_weight_exponent(std::nan("")); },
       "weight_exponent"},
      {"zero sigma", [](v1::LocateOptions* o) { o->set_sigma_deg(0); }, "sigma_deg"},
      {"9 cell levels",
       [](v1::LocateOptions* o) {
         for (int level = 1; level <= 9; ++level) o->add_cell_levels(level);
       },
       "cell_levels"},
      {"cell level 31", [](v1::LocateOptions* o) { o->add_cell_levels(31); }, "cell_levels[0] = 31"},
      {"cell level -1", [](v1::LocateOptions* o) { o->add_cell_levels(-1); }, "cell_levels"},
      {"huge max_peaks", [](v1::LocateOptions* o) { o->set_max_peaks(0xFFFFFFFFu); }, "max_peaks"},
      {"huge max_cells_per_level",
       [](v1::LocateOptions* o) { o->set_max_cells_per_level(0x80000000u); },
       "max_cells_per_level"},
      {"huge max_classifier_cells",
       [](v1::LocateOptions* o) { o->set_max_classifier_cells(0xFFFFFFFFu); },
       "max_classifier_cells"},
      {"unknown estimator",
       [](v1::LocateOptions* o) { o->set_estimator(static_cast<v1::Estimator>(77)); },
       "estimator"},
  };
  for (const Case& c : cases) {
    v1::LocateRequest request;
    request.set_image(good_image_);
    c.set(request.mutable_options());
    absl::StatusOr<v1::LocateResponse> located = client_->Locate(request);
    EXPECT_EQ(located.status().code(), StatusCode::kInvalidArgument) << c.what << ": "
                                                                     << located.status();
    EXPECT_TRUE(absl::StrContains(located.status().message(), c.names))
        << c.what << ": \"" << located.status().message() << "\" does not name " << c.names;
    // Explain and stream items take the same options through the same checks.
    v1::ExplainRequest explain;
    explain.set_image(good_image_);
    *explain.mutable_options() = request.options();
    EXPECT_EQ(client_->Explain(explain).status().code(), StatusCode::kInvalidArgument) << c.what;
  }
  // Explain's own target must be in range too.
  v1::ExplainRequest explain;
  explain.set_image(good_image_);
  explain.set_peak_index(0xFFFFFFFFu);
  absl::StatusOr<v1::ExplainResponse> explained = client_->Explain(explain);
  EXPECT_EQ(explained.status().code(), StatusCode::kInvalidArgument) << explained.status();
  EXPECT_TRUE(absl::StrContains(explained.status().message(), "peak_index"))
      << explained.status();
}

TEST_F(HostileInputTest, ZeroMeansTheServersDefault) {
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  const uint32_t default_k = status->defaults().k();
  ASSERT_GT(default_k, 0u);
  v1::LocateRequest request;
  request.set_image(good_image_);
  request.mutable_options()->set_k(0);
  request.mutable_options()->set_max_peaks(0);
  request.mutable_options()->set_max_cells_per_level(0);
  request.mutable_options()->set_return_neighbors(true);
  absl::StatusOr<v1::LocateResponse> response = client_->Locate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(static_cast<uint32_t>(response->neighbors_size()),
            std::min<uint32_t>(default_k, static_cast<uint32_t>(status->bundle().vector_count())));
  EXPECT_GE(response->peaks_size(), 1);
  EXPECT_LE(static_cast<uint32_t>(response->peaks_size()), status->defaults().max_peaks());
}

TEST_F(HostileInputTest, StreamOverMaxStreamImagesEndsAfterAnsweringTheAllowedOnes) {
  const double refused_before = RequestCount(*server_, "LocateStream", "RESOURCE_EXHAUSTED");
  const int sent_at_most = kMaxStreamImages + 20;
  int next = 0;
  int ok_items = 0;
  int other_items = 0;
  auto summary = client_->LocateStream(
      [&]() -> std::optional<v1::LocateStreamRequest> {
        if (next == sent_at_most) return std::nullopt;
        v1::LocateStreamRequest item;
        item.set_item_id(absl::StrCat("item-", next++));
        item.set_image(good_image_);
        return item;
      },
      [&](const v1::LocateStreamResponse& r) { (r.status().code() == 0 ? ok_items : other_items)++; },
      client::StreamOptions{8, absl::Seconds(300), false});
  EXPECT_EQ(summary.status().code(), StatusCode::kResourceExhausted) << summary.status();
  EXPECT_TRUE(absl::StrContains(summary.status().message(), absl::StrCat(kMaxStreamImages)))
      << summary.status();
  EXPECT_EQ(ok_items, kMaxStreamImages) << "every item within the limit is answered, no more";
  EXPECT_EQ(other_items, 0);
  auto refused = [&] {
    return RequestCount(*server_, "LocateStream", "RESOURCE_EXHAUSTED") - refused_before;
  };
  WaitUntil([&] { return refused() >= 1; }, absl::Seconds(30));
  EXPECT_EQ(refused(), 1);
}

TEST_F(HostileInputTest, OversizedMessagesAreRefusedByEveryMethod) {
  const HostileEntry* oversized = nullptr;
  for (const HostileEntry& e : *corpus_) {
    if (e.whole_message) oversized = &e;
  }
  ASSERT_NE(oversized, nullptr);
  ASSERT_GT(static_cast<int64_t>(oversized->bytes.size()), kMaxMessageBytes);

  v1::LocateRequest locate;
  locate.set_image(oversized->bytes);
  absl::StatusOr<v1::LocateResponse> located = client_->Locate(locate);
  EXPECT_EQ(located.status().code(), StatusCode::kResourceExhausted) << located.status();

  v1::ExplainRequest explain;
  explain.set_image(oversized->bytes);
  EXPECT_EQ(client_->Explain(explain).status().code(), StatusCode::kResourceExhausted);

  // In a stream the oversized item ends the whole call (gRPC cannot skip one message).
  int sent = 0;
  auto summary = client_->LocateStream(
      [&]() -> std::optional<v1::LocateStreamRequest> {
        if (sent == 3) return std::nullopt;
        v1::LocateStreamRequest item;
        item.set_item_id(absl::StrCat("item-", sent));
        item.set_image(sent == 2 ? oversized->bytes : good_image_);
        ++sent;
        return item;
      },
      [](const v1::LocateStreamResponse&) {}, client::StreamOptions{1, absl::Seconds(120), false});
  EXPECT_EQ(summary.status().code(), StatusCode::kResourceExhausted) << summary.status();

  // Just under the limit is fine: the limit is the message, not a guess about the content.
  std::string just_under = good_image_;
  just_under.resize(static_cast<size_t>(kMaxMessageBytes) - 64, '\0');  // padding after EOI
  locate.set_image(just_under);
  located = client_->Locate(locate);
  EXPECT_TRUE(located.ok()) << located.status();
}

// The Prometheus endpoint is plain HTTP on its own port and often reachable from more places
// than gRPC: a slow or oversized request must not hold its single thread (and so every scrape).
TEST_F(HostileInputTest, MetricsEndpointDropsTricklingAndOversizedRequests) {
  auto connect = [&]() -> int {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->metrics_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  const std::string cuts = "geoloc_http_connections_cut_total{listener=\"metrics\",reason=";
  const double too_large_before = Metric(*server_, cuts + "\"head_too_large\"}");
  auto closed_by_peer = [](int fd) {
    char byte;
    return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
  };

  // A request trickled one byte every 200 ms would take 12 s to finish; the endpoint gives a whole
  // head 2 s (http_transport.h), so it must hang up long before the trickle ends.
  const int slow = connect();
  ASSERT_GE(slow, 0);
  const std::string head = "GET /metrics HTTP/1.0\r\nX-Slow: ";
  ASSERT_EQ(::send(slow, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  bool hung_up = false;
  for (int i = 0; i < 60 && !hung_up; ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    hung_up = closed_by_peer(slow) || ::send(slow, "a", 1, MSG_NOSIGNAL) != 1;
  }
  ::close(slow);
  EXPECT_TRUE(hung_up) << "the metrics endpoint waited for a 12 s trickle";
  // The cut is counted, as a head deadline of the metrics listener.
  EXPECT_TRUE(WaitUntil([&] { return Metric(*server_, cuts + "\"head_deadline\"}") >= 1; },
                        absl::Seconds(60)));

  // More than 8 KiB of headers: refused with 431.
  const int big = connect();
  ASSERT_GE(big, 0);
  const std::string huge = "GET /metrics HTTP/1.0\r\nX-Big: " + std::string(10000, 'b');
  ::send(big, huge.data(), huge.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::recv(big, buf, sizeof(buf), 0)) > 0) reply.append(buf, static_cast<size_t>(n));
  ::close(big);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
  EXPECT_EQ(Metric(*server_, cuts + "\"head_too_large\"}"), too_large_before + 1);

  // Another method (here without a Content-Length, whose body cpp-httplib would wait for): 405 at
  // once, before any body is read.
  const int post = connect();
  ASSERT_GE(post, 0);
  const std::string post_request = "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(post, post_request.data(), post_request.size(), MSG_NOSIGNAL);
  std::string post_reply;
  while ((n = ::recv(post, buf, sizeof(buf), 0)) > 0) post_reply.append(buf, static_cast<size_t>(n));
  ::close(post);
  EXPECT_EQ(post_reply.rfind("HTTP/1.1 405", 0), 0u) << post_reply;

  // Scrapes still work.
  absl::StatusOr<std::string> scrape = testing::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_TRUE(absl::StrContains(*scrape, "geoloc_serving 1"));
}

}  // namespace
}  // namespace geoloc::hardening
