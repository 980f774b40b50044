// Overload of a real geolocd: a queue of 4 images and about four times that many callers hammering
// it. The server must shed the excess at once with RESOURCE_EXHAUSTED (and a message that says
// so), fail nothing else, keep its memory bounded, and recover fully when the load drops.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

constexpr int kQueueCapacity = 4;
constexpr int kCallers = 4 * kQueueCapacity;
constexpr absl::Duration kLoadDuration = absl::Seconds(3);

// How far resident memory may rise above the idle server while it is overloaded. What the load
// may legitimately hold: at most kQueueCapacity admitted images (each its bytes, ~20 KB here, plus
// a 128x128x3 float copy, 196 KB), one forward pass of max_batch = 2 images (ResNet-18 activations
// at 128x128, a few MB), gRPC buffers for kCallers calls in flight (~20 KB each), and glibc's
// per-thread malloc arenas for the gRPC and pool threads that first allocate under load (64 MB
// reserved each, touched only partly). A leak of even 1 KB per shed call would pass this bound
// within the test: a round sheds tens of thousands of calls.
constexpr int64_t kMaxRiseBytes = 96 << 20;
// A second identical round must not need more than the first plus this (a per-call leak grows
// with the number of calls; the first round already paid for arenas and caches).
constexpr int64_t kMaxSecondRoundGrowthBytes = 16 << 20;

struct RoundResult {
  int ok = 0;
  int shed = 0;          // RESOURCE_EXHAUSTED with the capacity message
  std::vector<absl::Status> other;
  int64_t peak_rss = 0;  // the largest VmRSS sampled during the round
};

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = testing::GetFixture();
    image_ = GoodImage(fixture_);
  }

  // kCallers threads, each with its own channel, call Locate back to back for kLoadDuration while
  // this thread samples the server's resident memory.
  RoundResult Overload(const ServerProcess& server, pid_t pid) {
    RoundResult result;
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, shed{0};
    std::mutex mu;
    std::vector<std::thread> callers;
    for (int t = 0; t < kCallers; ++t) {
      callers.emplace_back([&] {
        std::unique_ptr<client::Client> c = server.NewClient();
        v1::LocateRequest request;
        request.set_image(image_);
        while (!stop.load()) {
          absl::StatusOr<v1::LocateResponse> r = c->Locate(request, {absl::Seconds(60), false});
          if (r.ok()) {
            ++ok;
          } else if (r.status().code() == StatusCode::kResourceExhausted &&
                     absl::StrContains(r.status().message(), "at capacity")) {
            ++shed;
          } else {
            std::lock_guard<std::mutex> lock(mu);
            result.other.push_back(r.status());
          }
        }
      });
    }
    const absl::Time end = absl::Now() + kLoadDuration;
    while (absl::Now() < end) {
      result.peak_rss = std::max(result.peak_rss, ResidentBytes(pid));
      absl::SleepFor(absl::Milliseconds(20));
    }
    stop.store(true);
    for (auto& t : callers) t.join();
    result.ok = ok.load();
    result.shed = shed.load();
    return result;
  }

  Fixture fixture_;
  std::string image_;
};

TEST_F(OverloadTest, ShedsExcessLoadWithBoundedMemoryAndRecovers) {
  ServerProcess server(HardeningFlags(
      fixture_, {absl::StrCat("--queue_capacity=", kQueueCapacity), "--max_batch=2",
                 "--max_batch_wait_ms=1", "--intra_op_threads=1", "--decode_threads=1",
                 "--estimate_threads=1"}));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  const pid_t pid = server.pid();
  ASSERT_GT(pid, 0) << "geolocd has no process id";

  // Idle level: after a few calls, so the model's first-use allocations are in.
  auto c = server.NewClient();
  v1::LocateRequest request;
  request.set_image(image_);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->Locate(request).ok());
  const int64_t idle_rss = ResidentBytes(pid);
  ASSERT_GT(idle_rss, 0);

  const double ok_before = RequestCount(server, "Locate", "OK");
  const double shed_before = RequestCount(server, "Locate", "RESOURCE_EXHAUSTED");
  const RoundResult first = Overload(server, pid);
  const RoundResult second = Overload(server, pid);
  std::printf("overload: idle RSS %.1f MiB; round 1: %d ok, %d shed, peak %.1f MiB; "
              "round 2: %d ok, %d shed, peak %.1f MiB\n",
              idle_rss / 1048576.0, first.ok, first.shed, first.peak_rss / 1048576.0, second.ok,
              second.shed, second.peak_rss / 1048576.0);

  for (const RoundResult* round : {&first, &second}) {
    EXPECT_TRUE(round->other.empty()) << round->other.size() << " calls failed otherwise, e.g. "
                                      << round->other.front();
    EXPECT_GT(round->ok, 0) << "nothing got through";
    EXPECT_GT(round->shed, 0) << "four times the capacity was never refused";
    EXPECT_LE(round->peak_rss - idle_rss, kMaxRiseBytes)
        << "resident memory rose by " << (round->peak_rss - idle_rss) / 1048576.0 << " MiB";
  }
  EXPECT_LE(second.peak_rss - first.peak_rss, kMaxSecondRoundGrowthBytes)
      << "memory grows with the number of calls: a leak?";
  // The load is gone: nothing is left admitted or in flight (a call leaves the in-flight gauge and
  // is counted when the server lets go of it, possibly just after its caller has the answer).
  EXPECT_TRUE(WaitUntil([&] { return Metric(server, "geoloc_in_flight_requests") == 0; },
                        absl::Seconds(30)));
  EXPECT_EQ(Metric(server, "geoloc_queue_depth"), 0);
  EXPECT_EQ(QueueDepth(server), 0);
  // The server counted what the callers saw.
  auto ok_count = [&] { return RequestCount(server, "Locate", "OK") - ok_before; };
  auto shed_count = [&] { return RequestCount(server, "Locate", "RESOURCE_EXHAUSTED") - shed_before; };
  WaitUntil([&] { return ok_count() >= first.ok + second.ok && shed_count() >= first.shed + second.shed; },
            absl::Seconds(30));
  EXPECT_EQ(ok_count(), first.ok + second.ok);
  EXPECT_EQ(shed_count(), first.shed + second.shed);

  // A full queue's worth of concurrent callers is served without a refusal (with the slots all
  // free, kQueueCapacity callers cannot overflow the queue).
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> callers;
    std::atomic<int> failed{0};
    for (int t = 0; t < kQueueCapacity; ++t) {
      callers.emplace_back([&] {
        if (!c->Locate(request).ok()) ++failed;
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(failed.load(), 0) << "round " << round;
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
}

}  // namespace
}  // namespace geoloc::hardening
