// Deadlines and cancellation on a real geolocd whose encoder is kept busy: calls that expire or
// are cancelled while queued come back DEADLINE_EXCEEDED / CANCELLED, are counted under that
// code, cost no inference, and give their queue slot back.
//
// The encoder is kept busy deterministically enough: fp32, one thread, batches of one, and a
// flood of calls that fills most of the queue; the short calls queue behind tens of forward passes
// (more than a second here), far beyond their deadline. The assertions are about counts, not times.
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

constexpr int kQueueCapacity = 96;
constexpr int kFloodCalls = 88;
// Queued images ahead of the calls under test before they are sent.
constexpr int kQueuedAhead = 72;
constexpr int kExplainQueueCapacity = 8;
// Long enough for any loaded machine to send the call, far shorter than the work queued ahead
// (72 fp32 forward passes: about 1.5 s here; under 250 ms would need 3.5 ms per pass).
constexpr absl::Duration kShortDeadline = absl::Milliseconds(250);

class DeadlineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new Fixture(testing::GetFixture());
    server_ = new ServerProcess(HardeningFlags(
        *fixture_, {"--precision=fp32", "--max_batch=1", "--max_batch_wait_ms=0",
                    absl::StrCat("--queue_capacity=", kQueueCapacity), "--intra_op_threads=1",
                    "--decode_threads=1", "--explain_threads=1",
                    absl::StrCat("--explain_queue_capacity=", kExplainQueueCapacity)}));
    start_status_ = new absl::Status(server_->Start());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete start_status_;
    delete fixture_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    image_ = GoodImage(*fixture_);
  }
  // Images inferred so far (the sum of every forward pass's batch size).
  double Inferred() const { return Metric(*server_, "geoloc_batch_size_sum"); }
  void ExpectIdleAndServing() {
    EXPECT_EQ(QueueDepth(*server_), 0) << "admitted slots leaked";
    EXPECT_EQ(Metric(*server_, "geoloc_queue_depth"), 0);
    EXPECT_TRUE(WaitUntil([&] { return Metric(*server_, "geoloc_in_flight_requests") == 0; },
                          absl::Seconds(30)));
    // With every slot free, a full queue's worth of concurrent calls is served without refusal.
    auto c = server_->NewClient();
    std::vector<std::thread> callers;
    std::atomic<int> failed{0};
    for (int i = 0; i < kQueueCapacity; ++i) {
      callers.emplace_back([&] {
        v1::LocateRequest request;
        request.set_image(image_);
        if (!c->Locate(request, {absl::Seconds(120), false}).ok()) ++failed;
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(failed.load(), 0);
  }

  static Fixture* fixture_;
  static ServerProcess* server_;
  static absl::Status* start_status_;
  std::string image_;
};

Fixture* DeadlineTest::fixture_ = nullptr;
ServerProcess* DeadlineTest::server_ = nullptr;
absl::Status* DeadlineTest::start_status_ = nullptr;

TEST_F(DeadlineTest, CallsThatExpireInTheQueueAreCountedAndNeverInferred) {
  constexpr int kShortCalls = 4;
  const double inferred_before = Inferred();
  const double expired_before = RequestCount(*server_, "Locate", "DEADLINE_EXCEEDED");
  const double cancelled_before = RequestCount(*server_, "Locate", "CANCELLED");

  Flood flood(*server_, image_, kFloodCalls);
  ASSERT_TRUE(WaitUntil([&] { return QueueDepth(*server_) >= kQueuedAhead; }, absl::Seconds(60)))
      << "the flood never filled the queue";
  std::vector<StatusCode> codes(kShortCalls);
  {
    auto c = server_->NewClient();
    std::vector<std::thread> short_calls;
    for (int i = 0; i < kShortCalls; ++i) {
      short_calls.emplace_back([&, i] {
        v1::LocateRequest request;
        request.set_image(image_);
        codes[i] = c->Locate(request, {kShortDeadline, false}).status().code();
      });
    }
    for (auto& t : short_calls) t.join();
  }
  flood.Wait();
  ASSERT_EQ(flood.succeeded(), kFloodCalls) << flood.failures().front();
  for (StatusCode code : codes) EXPECT_EQ(code, StatusCode::kDeadlineExceeded);

  // The server drops an expired call when the batcher reaches it; wait for its books to settle.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return RequestCount(*server_, "Locate", "DEADLINE_EXCEEDED") - expired_before >=
               kShortCalls;
      },
      absl::Seconds(30)))
      << "expired calls are not counted as DEADLINE_EXCEEDED; CANCELLED went up by "
      << RequestCount(*server_, "Locate", "CANCELLED") - cancelled_before;
  EXPECT_EQ(RequestCount(*server_, "Locate", "DEADLINE_EXCEEDED") - expired_before, kShortCalls);
  EXPECT_EQ(RequestCount(*server_, "Locate", "CANCELLED") - cancelled_before, 0);
  EXPECT_EQ(Inferred() - inferred_before, kFloodCalls)
      << "inference ran for calls whose deadline had passed";
  ExpectIdleAndServing();
}

TEST_F(DeadlineTest, CancelledCallsGiveTheirSlotsBackAndAreNeverInferred) {
  constexpr int kCancelled = 6;
  const double inferred_before = Inferred();
  const double cancelled_before = RequestCount(*server_, "Locate", "CANCELLED");

  Flood flood(*server_, image_, kFloodCalls);
  ASSERT_TRUE(WaitUntil([&] { return QueueDepth(*server_) >= kQueuedAhead; }, absl::Seconds(60)))
      << "the flood never filled the queue";
  // Raw stub calls, so that the test holds each ClientContext and can TryCancel it.
  auto channel = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Geolocator::NewStub(channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (int i = 0; i < kCancelled; ++i) contexts.push_back(std::make_unique<grpc::ClientContext>());
  std::vector<grpc::StatusCode> codes(kCancelled, grpc::StatusCode::OK);
  std::vector<std::thread> calls;
  for (int i = 0; i < kCancelled; ++i) {
    calls.emplace_back([&, i] {
      v1::LocateRequest request;
      request.set_image(image_);
      v1::LocateResponse response;
      codes[i] = stub->Locate(contexts[i].get(), request, &response).error_code();
    });
  }
  // Cancel only once every call is inside the server: its in-flight count covers the flood calls
  // still running (at most those the test has not seen return) plus all of ours.
  ASSERT_TRUE(WaitUntil(
      [&] {
        const int flood_outstanding = flood.outstanding();
        return InFlight(*server_) >= flood_outstanding + kCancelled;
      },
      absl::Seconds(60)))
      << "the calls to cancel never reached the server";
  for (auto& context : contexts) context->TryCancel();
  for (auto& t : calls) t.join();
  for (grpc::StatusCode code : codes) EXPECT_EQ(code, grpc::StatusCode::CANCELLED);
  flood.Wait();
  ASSERT_EQ(flood.succeeded(), kFloodCalls) << flood.failures().front();

  EXPECT_TRUE(WaitUntil(
      [&] { return RequestCount(*server_, "Locate", "CANCELLED") - cancelled_before >= kCancelled; },
      absl::Seconds(30)));
  EXPECT_EQ(RequestCount(*server_, "Locate", "CANCELLED") - cancelled_before, kCancelled);
  EXPECT_EQ(Inferred() - inferred_before, kFloodCalls)
      << "inference ran for cancelled calls";
  ExpectIdleAndServing();
}

TEST_F(DeadlineTest, ExplainCallsThatExpireWhileWaitingAreCountedAsSuch) {
  // Explain has its own executor: one Grad-CAM at a time (--explain_threads=1) and up to
  // --explain_queue_capacity waiting. Long calls fill it; a short one waits behind seven or more
  // Grad-CAMs (each about 100 ms here) and expires before its turn.
  const double expired_before = RequestCount(*server_, "Explain", "DEADLINE_EXCEEDED");
  const double cancelled_before = RequestCount(*server_, "Explain", "CANCELLED");
  auto c = server_->NewClient();
  v1::ExplainRequest request;
  request.set_image(image_);
  request.set_return_overlay(false);
  std::vector<std::thread> calls;
  std::atomic<int> long_ok{0};
  for (int i = 0; i < kExplainQueueCapacity; ++i) {
    calls.emplace_back([&] {
      if (c->Explain(request, {absl::Seconds(120), false}).ok()) ++long_ok;
    });
  }
  ASSERT_TRUE(
      WaitUntil([&] { return InFlight(*server_) >= kExplainQueueCapacity; }, absl::Seconds(60)));
  const absl::Status short_call = c->Explain(request, {absl::Milliseconds(100), false}).status();
  for (auto& t : calls) t.join();
  EXPECT_EQ(long_ok.load(), kExplainQueueCapacity);
  EXPECT_EQ(short_call.code(), StatusCode::kDeadlineExceeded) << short_call;
  EXPECT_TRUE(WaitUntil(
      [&] { return RequestCount(*server_, "Explain", "DEADLINE_EXCEEDED") - expired_before >= 1; },
      absl::Seconds(30)))
      << "an expired Explain is not counted as DEADLINE_EXCEEDED; CANCELLED went up by "
      << RequestCount(*server_, "Explain", "CANCELLED") - cancelled_before;
  EXPECT_EQ(RequestCount(*server_, "Explain", "DEADLINE_EXCEEDED") - expired_before, 1);
  EXPECT_EQ(RequestCount(*server_, "Explain", "CANCELLED") - cancelled_before, 0);
  EXPECT_TRUE(WaitUntil([&] { return InFlight(*server_) == 0; }, absl::Seconds(30)));
}

}  // namespace
}  // namespace geoloc::hardening
