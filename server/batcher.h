// A dynamic batcher: many request threads submit items, worker threads take them in batches
// (up to max_batch, waiting at most max_wait after the first item) and hand each batch to a
// process function. Concurrent requests thus share one CNN forward pass and one index search.
//
//   DynamicBatcher<Work> batcher(options,
//                                [](std::vector<Work>& batch, int worker) { RunBatch(batch); },
//                                [](Work& expired, absl::Status why) { Reply(expired, why); });
//   Work rejected;
//   if (absl::Status st = batcher.Submit(std::move(work), &rejected); !st.ok()) {
//     Reply(rejected, st);  // queue full or stopped: the item comes back
//   }
//
// Lifetime and threading:
//   - Submit() is thread-safe and never blocks: a full queue returns RESOURCE_EXHAUSTED at once,
//     a stopped batcher returns UNAVAILABLE. A rejected item is not consumed (the caller replies).
//   - The process function runs on the batcher's worker threads, one batch at a time per worker,
//     and is told which worker runs it (0 .. num_workers - 1); it must complete every item it is
//     given (success or error).
//   - Before a batch is handed over, items whose deadline has passed or whose caller went away are
//     removed and passed to the expire function instead (DEADLINE_EXCEEDED / CANCELLED), so no
//     inference is spent on them. An item past its deadline is DEADLINE_EXCEEDED even when it is
//     also cancelled (gRPC cancels calls whose deadline passes).
//   - Stop() (also run by the destructor) stops accepting, processes everything already queued,
//     and joins the workers.
//
// Item requirements: movable; `absl::Time deadline() const`; `bool cancelled() const`.
//
// Batch formation (case table):
//   queue empty                   -> workers sleep until an item arrives
//   >= max_batch items queued     -> a full batch is taken at once
//   fewer than max_batch queued   -> wait until max_batch or until max_wait after the oldest item
//   Stop() while items queued     -> they are still processed (drain), without waiting
//
// Which worker takes a batch (num_workers > 1): worker 0, the primary, takes every batch it is free
// for; the others (overflow workers) take batches only while the primary is processing one. So a
// lone call always runs on the primary, and a second batch runs beside the first only under load
// (the Locate pipeline gives the primary's lone batches every forward thread: locate_pipeline.h).
#ifndef GEOLOC_SERVER_BATCHER_H_
#define GEOLOC_SERVER_BATCHER_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/common/mutex.h"

namespace geoloc::server {

struct BatcherOptions {
  int max_batch = 16;
  absl::Duration max_wait = absl::Milliseconds(2);
  int queue_capacity = 256;  // items waiting, not counting the batch being processed
  int num_workers = 1;  // worker 0 is the primary (above)
};

template <typename Item>
class DynamicBatcher {
 public:
  using ProcessFn = std::function<void(std::vector<Item>& batch, int worker)>;
  // Receives items dropped before processing, with the reason.
  using ExpireFn = std::function<void(Item& item, absl::Status reason)>;

  DynamicBatcher(BatcherOptions options, ProcessFn process, ExpireFn expire)
      : options_(Sanitize(options)), process_(std::move(process)), expire_(std::move(expire)) {
    for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this, i] { Run(i); });
  }
  ~DynamicBatcher() { Stop(); }
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // On failure the item is handed back through `*rejected` (when non-null) so the caller can
  // still reply to it.
  absl::Status Submit(Item item, Item* rejected = nullptr) {
    {
      MutexLock lock(&mu_);
      absl::Status st;
      if (stopping_) {
        st = absl::UnavailableError("server is shutting down");
      } else if (static_cast<int>(queue_.size()) >= options_.queue_capacity) {
        st = absl::ResourceExhaustedError(absl::StrCat(
            "server queue is full (", options_.queue_capacity, " requests waiting); retry later"));
      }
      if (!st.ok()) {
        if (rejected != nullptr) *rejected = std::move(item);
        return st;
      }
      queue_.push_back(Entry{std::move(item), absl::Now()});
      // The primary takes it when free; else an overflow worker may.
      (primary_busy_ ? overflow_cv_ : primary_cv_).Signal();
    }
    return absl::OkStatus();
  }

  // Idempotent; a second call returns at once (the first one joins the workers).
  void Stop() {
    std::vector<std::thread> workers;
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      workers.swap(workers_);
    }
    primary_cv_.SignalAll();
    overflow_cv_.SignalAll();
    for (auto& w : workers) w.join();
  }

  int queue_depth() const {
    MutexLock lock(&mu_);
    return static_cast<int>(queue_.size());
  }
  // Workers processing a batch now.
  int busy_workers() const {
    MutexLock lock(&mu_);
    return busy_workers_;
  }
  const BatcherOptions& options() const { return options_; }

 private:
  struct Entry {
    Item item;
    absl::Time enqueued;
  };

  static BatcherOptions Sanitize(BatcherOptions o) {
    o.max_batch = std::max(1, o.max_batch);
    o.queue_capacity = std::max(1, o.queue_capacity);
    o.num_workers = std::max(1, o.num_workers);
    if (o.max_wait < absl::ZeroDuration()) o.max_wait = absl::ZeroDuration();
    return o;
  }

  // Whether `worker` may take queued items now (the primary always; the others while it is busy).
  bool MayTake(int worker) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return worker == 0 || primary_busy_ || stopping_;
  }

  void Run(int worker) {
    CondVar& cv = worker == 0 ? primary_cv_ : overflow_cv_;
    std::vector<Item> batch;
    std::vector<std::pair<Item, absl::Status>> dropped;
    for (;;) {
      batch.clear();
      dropped.clear();
      {
        MutexLock lock(&mu_);
        while (!stopping_ && (queue_.empty() || !MayTake(worker))) cv.Wait(&mu_);
        if (queue_.empty()) return;  // stopping and drained
        // Wait for a fuller batch, bounded by max_wait after the oldest queued item.
        const absl::Time flush_at = queue_.front().enqueued + options_.max_wait;
        while (!stopping_ && static_cast<int>(queue_.size()) < options_.max_batch) {
          const absl::Duration left = flush_at - absl::Now();
          if (left <= absl::ZeroDuration()) break;
          cv.WaitWithTimeout(&mu_, left);
          if (queue_.empty()) break;  // another worker took them
        }
        if (queue_.empty()) continue;
        const absl::Time now = absl::Now();
        while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
          Entry entry = std::move(queue_.front());
          queue_.pop_front();
          // The deadline first: gRPC also cancels a call whose deadline passes, so a cancelled
          // item past its deadline expired rather than being abandoned by its caller.
          if (entry.item.deadline() <= now) {
            dropped.emplace_back(std::move(entry.item),
                                 absl::DeadlineExceededError(
                                     "deadline passed while the request waited in the queue"));
          } else if (entry.item.cancelled()) {
            dropped.emplace_back(std::move(entry.item),
                                 absl::CancelledError("the caller cancelled the request"));
          } else {
            batch.push_back(std::move(entry.item));
          }
        }
        if (!batch.empty()) {
          ++busy_workers_;
          if (worker == 0) {
            primary_busy_ = true;
            if (!queue_.empty()) overflow_cv_.Signal();  // what is left may go beside this batch
          }
        }
      }
      for (auto& [item, reason] : dropped) expire_(item, reason);
      if (batch.empty()) continue;
      process_(batch, worker);
      MutexLock lock(&mu_);
      --busy_workers_;
      if (worker == 0) primary_busy_ = false;
    }
  }

  const BatcherOptions options_;
  const ProcessFn process_;
  const ExpireFn expire_;
  mutable Mutex mu_;
  // Signalled when an item is queued (the primary's when it is free, else the overflow workers'),
  // when the primary leaves items behind, and when stopping_ is set.
  CondVar primary_cv_;
  CondVar overflow_cv_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool primary_busy_ ABSL_GUARDED_BY(mu_) = false;  // worker 0 is processing a batch
  int busy_workers_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);  // started by the constructor
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_BATCHER_H_
