#include "server/snapshot_manager.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace geoloc::server {
namespace {

struct Servable {
  std::string path;
  std::vector<int> payload = std::vector<int>(1000, 7);
};

SnapshotManager<Servable>::Loader TestLoader() {
  return [](const std::string& path) -> absl::StatusOr<std::shared_ptr<const Servable>> {
    if (path.find("bad") != std::string::npos) {
      return absl::DataLossError("corrupt shard in " + path);
    }
    return std::make_shared<const Servable>(Servable{path});
  };
}

TEST(SnapshotManagerTest, NothingServesBeforeTheFirstSwap) {
  SnapshotManager<Servable> manager(TestLoader());
  EXPECT_EQ(manager.Current(), nullptr);
  EXPECT_FALSE(manager.last_swap().attempted);
}

TEST(SnapshotManagerTest, FailedLoadKeepsTheCurrentSnapshotAndIsRecorded) {
  SnapshotManager<Servable> manager(TestLoader());
  ASSERT_TRUE(manager.Swap("/b/v1", "startup").ok());
  auto result = manager.Swap("/b/bad", "rpc");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(manager.Current()->path, "/b/v1");
  const SwapRecord record = manager.last_swap();
  EXPECT_TRUE(record.attempted);
  EXPECT_EQ(record.path, "/b/bad");
  EXPECT_EQ(record.trigger, "rpc");
  EXPECT_EQ(record.status.code(), absl::StatusCode::kDataLoss);
}

TEST(SnapshotManagerTest, OldSnapshotLivesUntilItsLastHolderLetsGo) {
  SnapshotManager<Servable> manager(TestLoader());
  ASSERT_TRUE(manager.Swap("/b/v1", "startup").ok());
  std::shared_ptr<const Servable> in_flight = manager.Current();  // a request in progress
  std::weak_ptr<const Servable> old = in_flight;
  auto swapped = manager.Swap("/b/v2", "rpc");
  ASSERT_TRUE(swapped.ok());
  EXPECT_EQ(swapped->previous->path, "/b/v1");
  swapped = absl::InternalError("drop the result's references");
  EXPECT_EQ(manager.Current()->path, "/b/v2");
  EXPECT_FALSE(old.expired());  // the request still uses v1
  EXPECT_EQ(in_flight->path, "/b/v1");
  in_flight.reset();            // the request ends
  EXPECT_TRUE(old.expired());   // and v1's memory is gone
}

TEST(SnapshotManagerTest, ReadersAlwaysSeeACompleteSnapshotDuringSwaps) {
  SnapshotManager<Servable> manager(TestLoader());
  ASSERT_TRUE(manager.Swap("/b/0", "startup").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto s = manager.Current();
        if (s == nullptr || s->payload.size() != 1000 || s->payload[999] != 7) ++bad;
        ++reads;
      }
    });
  }
  // The readers are running before the swaps start (on a busy machine they may start late).
  while (reads.load() < 4) std::this_thread::yield();
  for (int i = 1; i <= 200; ++i) {
    ASSERT_TRUE(manager.Swap(i % 10 == 0 ? "/b/bad" + std::to_string(i) : "/b/" + std::to_string(i),
                             "rpc")
                    .ok() == (i % 10 != 0));
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(manager.Current()->path, "/b/199");
}

}  // namespace
}  // namespace geoloc::server
