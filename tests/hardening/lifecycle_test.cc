// Lifecycle of a real geolocd: refusing calls until the bundle is loaded, and SIGTERM draining
// (in-flight calls finish, new ones are refused, a second signal or the end of the grace period
// forces exit 1).
//
// Loading is held back without any test hook in the server: the bundle under test is a copy of
// v1 whose manifest.json is a named pipe. Bundle::Load reads the manifest with open()+read(), so
// the server blocks inside the load until the test writes the real manifest into the pipe. The
// test knows the server is there when its own non-blocking open() for writing succeeds (that
// needs a reader on the other end).
//
// Slow in-flight calls: fp32, one thread, batches of one and a flood that fills the queue keep
// calls running for a second or more (DeadlineTest explains the margins). SIGTERM is sent only
// once the server has admitted every call of the flood (AdmittedImages): a call the server had
// not yet admitted would be refused as "draining", rightly, and the count of calls that must
// succeed would be a race.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"

namespace geoloc::hardening {
namespace {
namespace fs = std::filesystem;
using absl::StatusCode;

constexpr int kQueueCapacity = 64;
constexpr int kFloodCalls = 60;
constexpr int kQueuedAhead = 40;

// A copy of bundle v1 whose manifest.json can be swapped for a FIFO; Release() writes the real
// manifest into the FIFO.
class BlockedBundle {
 public:
  // `blocked`: the manifest starts as a FIFO (else as the regular file; see Block()).
  BlockedBundle(const Fixture& fixture, bool blocked) : dir_("blocked-bundle") {
    ::signal(SIGPIPE, SIG_IGN);  // writing to a FIFO whose reader died must fail, not kill us
    path_ = dir_.file("v1");
    fs::copy(fixture.bundle("v1"), path_, fs::copy_options::recursive);
    std::ifstream in(manifest_path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    manifest_ = text.str();
    ok_ = !manifest_.empty() && (!blocked || Block());
  }
  ~BlockedBundle() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  const std::string& root() const { return dir_.path(); }

  // Replaces manifest.json with a FIFO: the next load blocks in it.
  bool Block() {
    fs::remove(manifest_path());
    return ::mkfifo(manifest_path().c_str(), 0600) == 0;
  }
  // Puts the regular manifest.json back (a FIFO the server holds open keeps working).
  void Unblock() { WriteFileAtomic(manifest_path(), manifest_); }
  // True once the server has opened the FIFO for reading (it is now blocked in read()).
  bool ServerIsReading() {
    if (fd_ >= 0) return true;
    fd_ = ::open(manifest_path().c_str(), O_WRONLY | O_NONBLOCK);
    return fd_ >= 0;  // ENXIO while nobody reads
  }
  // Writes the manifest into the FIFO and closes it (the server's read gets the data, then EOF).
  bool Release() {
    if (fd_ < 0) return false;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    const bool written = ::write(fd_, manifest_.data(), manifest_.size()) ==
                         static_cast<ssize_t>(manifest_.size());
    ::close(fd_);
    fd_ = -1;
    return written;
  }

 private:
  std::string manifest_path() const { return path_ + "/manifest.json"; }

  ScratchDir dir_;
  std::string path_;
  std::string manifest_;
  bool ok_ = false;
  int fd_ = -1;
};

// "draining: N call(s) in flight" in the server's log, or -1.
int DrainingInFlight(const std::string& log) {
  std::smatch m;
  static const std::regex pattern("draining: ([0-9]+) call\\(s\\) in flight");
  if (!std::regex_search(log, m, pattern)) return -1;
  int n = -1;
  return absl::SimpleAtoi(m[1].str(), &n) ? n : -1;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = testing::GetFixture();
    image_ = GoodImage(fixture_);
  }
  std::vector<std::string> SlowServerFlags(const std::string& grace) const {
    return HardeningFlags(fixture_,
                          {"--precision=fp32", "--max_batch=1", "--max_batch_wait_ms=0",
                           absl::StrCat("--queue_capacity=", kQueueCapacity),
                           "--intra_op_threads=1", "--drain_grace_seconds=" + grace});
  }
  absl::Status Locate(const ServerProcess& server) const {
    v1::LocateRequest request;
    request.set_image(image_);
    return server.NewClient()->Locate(request, {absl::Seconds(30), false}).status();
  }
  // Starts a flood and waits until kQueuedAhead images are queued and every call of the flood
  // has been admitted: a SIGTERM sent after this refuses none of them, however slowly the
  // machine ran the flood's threads.
  std::unique_ptr<Flood> FillQueue(const ServerProcess& server) const {
    auto flood = std::make_unique<Flood>(server, image_, kFloodCalls);
    if (!WaitUntil([&] { return QueueDepth(server) >= kQueuedAhead; }, absl::Seconds(60))) {
      ADD_FAILURE() << "the flood never filled the queue";
    }
    if (!WaitUntil([&] { return AdmittedImages(server) >= kFloodCalls; }, absl::Seconds(60))) {
      ADD_FAILURE() << "the server never admitted the whole flood (" << AdmittedImages(server)
                    << " of " << kFloodCalls << " images)";
    }
    return flood;
  }
  bool WaitForLog(const ServerProcess& server, const std::string& text) const {
    return WaitUntil([&] { return absl::StrContains(server.Log(), text); }, absl::Seconds(60));
  }

  Fixture fixture_;
  std::string image_;
};

TEST_F(LifecycleTest, UnavailableAndNotServingUntilTheBundleIsLoaded) {
  BlockedBundle bundle(fixture_, /*blocked=*/true);
  ASSERT_TRUE(bundle.ok()) << "cannot make the FIFO";
  ServerProcess server(HardeningFlags(fixture_, {"--bundle=" + bundle.path(),
                                                 "--index_root=" + bundle.root()}));
  ASSERT_TRUE(server.Start(/*wait_serving=*/false).ok()) << server.Log();
  auto c = server.NewClient();

  auto expect_loading = [&](const char* when) {
    auto health = c->Health("", {absl::Seconds(10), false});
    ASSERT_TRUE(health.ok()) << when << ": " << health.status();
    EXPECT_EQ(*health, client::ServingStatus::kNotServing) << when;
    absl::Status located = Locate(server);
    EXPECT_EQ(located.code(), StatusCode::kUnavailable) << when << ": " << located;
    EXPECT_TRUE(absl::StrContains(located.message(), "loading")) << located;
    v1::ExplainRequest explain;
    explain.set_image(image_);
    EXPECT_EQ(c->Explain(explain).status().code(), StatusCode::kUnavailable) << when;
    bool sent = false;
    auto stream = c->LocateStream(
        [&]() -> std::optional<v1::LocateStreamRequest> {
          if (sent) return std::nullopt;
          sent = true;
          v1::LocateStreamRequest item;
          item.set_image(image_);
          return item;
        },
        [&](const v1::LocateStreamResponse& r) {
          EXPECT_EQ(r.status().code(), static_cast<int>(StatusCode::kUnavailable)) << when;
        },
        client::StreamOptions{1, absl::Seconds(30), false});
    EXPECT_TRUE(stream.ok()) << stream.status();
    EXPECT_EQ(stream.ok() ? stream->item_errors : 0, 1) << when;
    auto status = c->GetStatus();
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_FALSE(status->serving()) << when;
    EXPECT_EQ(Metric(server, "geoloc_serving"), 0) << when;
  };

  expect_loading("while starting");  // the model may still be loading
  ASSERT_TRUE(WaitUntil([&] { return bundle.ServerIsReading(); }, absl::Seconds(120)))
      << "geolocd never opened the manifest:\n" << server.Log();
  expect_loading("blocked inside the bundle load");  // deterministic: it waits on our pipe
  ASSERT_TRUE(bundle.Release());

  ASSERT_TRUE(WaitUntil(
      [&] {
        auto health = c->Health("", {absl::Seconds(10), false});
        return health.ok() && *health == client::ServingStatus::kServing;
      },
      absl::Seconds(60)))
      << server.Log();
  EXPECT_TRUE(Locate(server).ok());
  EXPECT_EQ(Metric(server, "geoloc_serving"), 1);
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->serving());
  EXPECT_EQ(status->bundle().version().rfind("v1-", 0), 0u);
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
}

TEST_F(LifecycleTest, SigtermWhileLoadingExitsCleanly) {
  BlockedBundle bundle(fixture_, /*blocked=*/true);
  ASSERT_TRUE(bundle.ok());
  ServerProcess server(HardeningFlags(fixture_, {"--bundle=" + bundle.path(),
                                                 "--index_root=" + bundle.root()}));
  ASSERT_TRUE(server.Start(/*wait_serving=*/false).ok()) << server.Log();
  ASSERT_TRUE(WaitUntil([&] { return bundle.ServerIsReading(); }, absl::Seconds(120)))
      << server.Log();
  // The loader thread is stuck in read() and will never finish: the drain must not wait for it.
  EXPECT_EQ(server.Stop(SIGTERM, absl::Seconds(30)), 0) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "exiting during load")) << server.Log();
}

TEST_F(LifecycleTest, SignalsDuringASlowReloadAreNotFatal) {
  // The signal loop is busy while SIGHUP reloads the bundle: signals arriving meanwhile must wait
  // for it (or be recorded), never take their default action (terminate) on some thread that
  // does not block them, such as one a library started before main().
  BlockedBundle bundle(fixture_, /*blocked=*/false);
  ASSERT_TRUE(bundle.ok());
  ServerProcess server(HardeningFlags(fixture_, {"--bundle=" + bundle.path(),
                                                 "--index_root=" + bundle.root()}));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  ASSERT_TRUE(bundle.Block());
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return bundle.ServerIsReading(); }, absl::Seconds(60)))
      << "the SIGHUP reload never opened the manifest:\n" << server.Log();
  // Now the signal loop is inside the reload, blocked on our pipe.
  server.Signal(SIGHUP);
  server.Signal(SIGTERM);
  EXPECT_TRUE(Locate(server).ok()) << "geolocd died of a signal during the reload:\n"
                                   << server.Log();  // serving goes on during a reload
  EXPECT_TRUE(server.Running());
  bundle.Unblock();  // the second SIGHUP's reload (if it runs) reads the regular file
  ASSERT_TRUE(bundle.Release());
  EXPECT_EQ(server.Stop(0, absl::Seconds(60)), 0) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "SIGTERM: draining")) << server.Log();
}

TEST_F(LifecycleTest, SigtermDrainsSlowCallsRefusesNewOnesAndExitsZero) {
  ServerProcess server(SlowServerFlags("60"));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  std::unique_ptr<Flood> flood = FillQueue(server);
  server.Signal(SIGTERM);
  ASSERT_TRUE(WaitForLog(server, "draining:")) << server.Log();

  // New calls are refused while the flood is still being served.
  absl::Status refused;
  ASSERT_TRUE(WaitUntil(
      [&] {
        refused = Locate(server);
        // A call that slipped in before gRPC stopped accepting is served like the others.
        EXPECT_TRUE(refused.ok() || refused.code() == StatusCode::kUnavailable) << refused;
        return !refused.ok();
      },
      absl::Seconds(30)));
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused;
  EXPECT_GT(flood->outstanding(), 0) << "the drain was over before a new call was refused; "
                                        "the refusal proves nothing about draining";
  flood->Wait();
  EXPECT_EQ(flood->succeeded(), kFloodCalls)
      << "in-flight calls failed during the drain, e.g. " << flood->failures().front();
  EXPECT_EQ(server.Stop(0, absl::Seconds(120)), 0) << server.Log();
  EXPECT_GE(DrainingInFlight(server.Log()), 1) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "exits with status 0")) << server.Log();
}

TEST_F(LifecycleTest, SecondSigtermDuringTheDrainForcesExitOne) {
  ServerProcess server(SlowServerFlags("60"));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  std::unique_ptr<Flood> flood = FillQueue(server);
  server.Signal(SIGTERM);
  ASSERT_TRUE(WaitForLog(server, "draining:")) << server.Log();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Stop(0, absl::Seconds(30)), 1) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "second signal during drain")) << server.Log();
  flood->Wait();
  EXPECT_LT(flood->succeeded(), kFloodCalls) << "every call finished: the drain was not cut short";
  for (const absl::Status& st : flood->failures()) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st;  // the connection went away
  }
}

TEST_F(LifecycleTest, TheEndOfTheGracePeriodForcesExitOne) {
  ServerProcess server(SlowServerFlags("0.1"));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  std::unique_ptr<Flood> flood = FillQueue(server);  // a second or more of queued work
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Stop(0, absl::Seconds(60)), 1) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "grace period ran out")) << server.Log();
  flood->Wait();
  EXPECT_LT(flood->succeeded(), kFloodCalls);
  EXPECT_FALSE(flood->failures().empty());
}

}  // namespace
}  // namespace geoloc::hardening
