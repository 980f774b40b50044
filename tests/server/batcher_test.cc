#include "server/batcher.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/common/mutex.h"
#include "gtest/gtest.h"

namespace geoloc::server {
namespace {

struct Item {
  int id = 0;
  absl::Time deadline_at = absl::InfiniteFuture();
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  absl::Time deadline() const { return deadline_at; }
  bool cancelled() const { return cancel->load(); }
};

struct Recorder {
  std::mutex mu;
  std::vector<std::vector<int>> batches;
  std::vector<std::pair<int, absl::StatusCode>> dropped;
  int processed() {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (auto& b : batches) n += static_cast<int>(b.size());
    return n;
  }
};

TEST(BatcherTest, ConcurrentSubmissionsShareBatches) {
  Recorder rec;
  absl::Notification release;
  BatcherOptions options;
  options.max_batch = 8;
  options.max_wait = absl::Milliseconds(50);
  options.queue_capacity = 100;
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>& batch, int) {
        release.WaitForNotification();  // hold the worker so the queue fills up
        std::lock_guard<std::mutex> lock(rec.mu);
        std::vector<int> ids;
        for (auto& i : batch) ids.push_back(i.id);
        rec.batches.push_back(ids);
      },
      [&](Item& item, absl::Status st) {
        std::lock_guard<std::mutex> lock(rec.mu);
        rec.dropped.emplace_back(item.id, st.code());
      });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) ASSERT_TRUE(batcher.Submit(Item{t * 100 + i}).ok());
    });
  }
  for (auto& t : threads) t.join();
  release.Notify();
  batcher.Stop();
  EXPECT_EQ(rec.processed(), 32);
  EXPECT_TRUE(rec.dropped.empty());
  size_t largest = 0;
  for (auto& b : rec.batches) {
    EXPECT_LE(b.size(), 8u);
    largest = std::max(largest, b.size());
  }
  // 32 items with the worker held: all but the first batch must be full.
  EXPECT_EQ(largest, 8u);
  EXPECT_LE(rec.batches.size(), 5u);
}

TEST(BatcherTest, FullQueueIsRejectedAtOnceAndHandsTheItemBack) {
  absl::Notification release;
  BatcherOptions options;
  options.max_batch = 1;
  options.max_wait = absl::ZeroDuration();
  options.queue_capacity = 2;
  std::atomic<int> processed{0};
  absl::Notification first_taken;
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>& batch, int) {
        if (!first_taken.HasBeenNotified()) first_taken.Notify();
        release.WaitForNotification();
        processed += static_cast<int>(batch.size());
      },
      [](Item&, absl::Status) {});
  ASSERT_TRUE(batcher.Submit(Item{1}).ok());
  first_taken.WaitForNotification();  // item 1 is in the worker, the queue is empty
  ASSERT_TRUE(batcher.Submit(Item{2}).ok());
  ASSERT_TRUE(batcher.Submit(Item{3}).ok());
  Item rejected;
  absl::Status st = batcher.Submit(Item{4}, &rejected);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(rejected.id, 4);
  EXPECT_EQ(batcher.queue_depth(), 2);
  release.Notify();
  batcher.Stop();
  EXPECT_EQ(processed.load(), 3);
  // After Stop, submissions are refused as UNAVAILABLE.
  EXPECT_EQ(batcher.Submit(Item{5}).code(), absl::StatusCode::kUnavailable);
}

TEST(BatcherTest, ExpiredAndCancelledItemsAreDroppedBeforeProcessing) {
  absl::Notification release;
  absl::Notification first_taken;
  Recorder rec;
  BatcherOptions options;
  options.max_batch = 4;
  options.max_wait = absl::ZeroDuration();
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>& batch, int) {
        if (!first_taken.HasBeenNotified()) first_taken.Notify();
        release.WaitForNotification();
        std::lock_guard<std::mutex> lock(rec.mu);
        std::vector<int> ids;
        for (auto& i : batch) ids.push_back(i.id);
        rec.batches.push_back(ids);
      },
      [&](Item& item, absl::Status st) {
        std::lock_guard<std::mutex> lock(rec.mu);
        rec.dropped.emplace_back(item.id, st.code());
      });
  ASSERT_TRUE(batcher.Submit(Item{1}).ok());
  first_taken.WaitForNotification();
  Item expired{2, absl::Now() + absl::Milliseconds(1)};
  Item cancelled{3};
  Item fine{4, absl::Now() + absl::Hours(1)};
  ASSERT_TRUE(batcher.Submit(expired).ok());
  ASSERT_TRUE(batcher.Submit(cancelled).ok());
  ASSERT_TRUE(batcher.Submit(fine).ok());
  cancelled.cancel->store(true);
  absl::SleepFor(absl::Milliseconds(20));  // item 2's deadline passes while it waits
  release.Notify();
  batcher.Stop();
  std::lock_guard<std::mutex> lock(rec.mu);
  ASSERT_EQ(rec.batches.size(), 2u);
  EXPECT_EQ(rec.batches[1], std::vector<int>{4});
  ASSERT_EQ(rec.dropped.size(), 2u);
  EXPECT_EQ(rec.dropped[0], std::make_pair(2, absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(rec.dropped[1], std::make_pair(3, absl::StatusCode::kCancelled));
}

TEST(BatcherTest, WaitsForAFullerBatchButNotLongerThanMaxWait) {
  Recorder rec;
  BatcherOptions options;
  options.max_batch = 4;
  options.max_wait = absl::Seconds(2);
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>& batch, int) {
        std::lock_guard<std::mutex> lock(rec.mu);
        std::vector<int> ids;
        for (auto& i : batch) ids.push_back(i.id);
        rec.batches.push_back(ids);
      },
      [](Item&, absl::Status) {});
  ASSERT_TRUE(batcher.Submit(Item{1}).ok());
  ASSERT_TRUE(batcher.Submit(Item{2}).ok());
  // Well inside max_wait: both items are still waiting for company.
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(batcher.Submit(Item{3}).ok());
  ASSERT_TRUE(batcher.Submit(Item{4}).ok());
  for (int i = 0; i < 500 && rec.processed() < 4; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(rec.processed(), 4);
  std::lock_guard<std::mutex> lock(rec.mu);
  ASSERT_EQ(rec.batches.size(), 1u);  // max_batch reached: one batch of four
  EXPECT_EQ(rec.batches[0].size(), 4u);
}

TEST(BatcherTest, StopDrainsEverythingQueued) {
  std::atomic<int> processed{0};
  BatcherOptions options;
  options.max_batch = 3;
  options.max_wait = absl::Seconds(10);  // Stop must not wait for it
  auto batcher = std::make_unique<DynamicBatcher<Item>>(
      options, [&](std::vector<Item>& batch, int) { processed += static_cast<int>(batch.size()); },
      [](Item&, absl::Status) {});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(batcher->Submit(Item{i}).ok());
  const absl::Time start = absl::Now();
  batcher.reset();
  EXPECT_EQ(processed.load(), 10);
  EXPECT_LT(absl::Now() - start, absl::Seconds(9));
}

TEST(BatcherTest, ALoneItemAlwaysRunsOnThePrimary) {
  BatcherOptions options;
  options.max_batch = 1;
  options.max_wait = absl::ZeroDuration();
  options.num_workers = 3;
  Mutex mu;
  CondVar done_cv;
  std::vector<int> workers;
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>&, int worker) {
        MutexLock lock(&mu);
        workers.push_back(worker);
        done_cv.SignalAll();
      },
      [](Item&, absl::Status) {});
  // One item at a time, each submitted after the last was processed: with any worker free to
  // take it, 20 items would land on the overflow workers about 13 times.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(batcher.Submit(Item{i}).ok());
    {
      MutexLock lock(&mu);
      while (static_cast<int>(workers.size()) < i + 1) done_cv.Wait(&mu);
    }
    // The primary is busy until its process function has returned: an item submitted before
    // then rightly goes to an overflow worker.
    while (batcher.busy_workers() > 0) absl::SleepFor(absl::Milliseconds(1));
  }
  batcher.Stop();
  EXPECT_EQ(workers, std::vector<int>(20, 0));
}

TEST(BatcherTest, OverflowWorkersTakeBatchesWhileThePrimaryIsBusy) {
  BatcherOptions options;
  options.max_batch = 1;
  options.max_wait = absl::ZeroDuration();
  options.num_workers = 2;
  absl::Notification primary_holds, release_primary, overflow_ran;
  Mutex mu;
  std::vector<std::pair<int, int>> runs;  // (item, worker)
  DynamicBatcher<Item> batcher(
      options,
      [&](std::vector<Item>& batch, int worker) {
        {
          MutexLock lock(&mu);
          runs.emplace_back(batch.front().id, worker);
        }
        if (batch.front().id == 1) {
          primary_holds.Notify();
          release_primary.WaitForNotification();
        }
        if (worker == 1) overflow_ran.Notify();
      },
      [](Item&, absl::Status) {});
  ASSERT_TRUE(batcher.Submit(Item{1}).ok());
  primary_holds.WaitForNotification();  // the primary is busy with item 1
  ASSERT_TRUE(batcher.Submit(Item{2}).ok());
  overflow_ran.WaitForNotification();   // item 2 ran beside it, on the overflow worker
  release_primary.Notify();
  batcher.Stop();
  MutexLock lock(&mu);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], std::make_pair(1, 0));
  EXPECT_EQ(runs[1], std::make_pair(2, 1));
}

TEST(BatcherTest, StopDrainsEverythingQueuedWithSeveralWorkers) {
  std::atomic<int> processed{0};
  BatcherOptions options;
  options.max_batch = 2;
  options.max_wait = absl::Seconds(10);
  options.num_workers = 3;
  auto batcher = std::make_unique<DynamicBatcher<Item>>(
      options, [&](std::vector<Item>& batch, int) { processed += static_cast<int>(batch.size()); },
      [](Item&, absl::Status) {});
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(batcher->Submit(Item{i}).ok());
  batcher.reset();
  EXPECT_EQ(processed.load(), 11);
}

}  // namespace
}  // namespace geoloc::server
