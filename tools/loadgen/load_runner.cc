#include "tools/loadgen/load_runner.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/common/mutex.h"

namespace geoloc::loadgen {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "RequestStop must be signal-safe");

struct WorkerStats {
  std::vector<absl::Duration> latencies;
  std::array<int64_t, kNumStatusCodes> code_counts{};
  std::map<std::string, int64_t> errors;
};

}  // namespace

void RequestStop() { g_stop.store(true, std::memory_order_relaxed); }
void ResetStop() { g_stop.store(false, std::memory_order_relaxed); }

LoadResult RunLoad(const LoadOptions& options, const CallFn& call) {
  const int workers = std::max(1, options.concurrency);
  const bool has_duration = options.duration > absl::ZeroDuration();
  const int64_t total = options.total > 0 ? options.total : (has_duration ? -1 : 1);
  std::atomic<int64_t> next_index{0};
  std::atomic<bool> timed_out{false};
  std::vector<WorkerStats> stats(static_cast<size_t>(workers));

  const absl::Time start = absl::Now();
  const absl::Time end = has_duration ? start + options.duration : absl::InfiniteFuture();
  struct LastEnd {
    Mutex mu;
    absl::Time time ABSL_GUARDED_BY(mu);
  } last_end;
  {
    MutexLock lock(&last_end.mu);
    last_end.time = start;
  }

  auto worker = [&](WorkerStats* mine) {
    for (;;) {
      if (g_stop.load(std::memory_order_relaxed)) return;
      const int64_t index = next_index.fetch_add(1);
      if (total >= 0 && index >= total) return;
      if (options.rps > 0) {
        const absl::Time slot = start + absl::Seconds(static_cast<double>(index) / options.rps);
        if (slot >= end) {
          timed_out = true;
          return;
        }
        absl::SleepFor(slot - absl::Now());  // negative: no wait
      }
      const absl::Time begin = absl::Now();
      if (begin >= end) {
        timed_out = true;
        return;
      }
      const absl::Status status = call(index);
      const absl::Time finish = absl::Now();
      mine->latencies.push_back(finish - begin);
      const int code = static_cast<int>(status.code());
      ++mine->code_counts[code >= 0 && code < kNumStatusCodes ? code : 2 /* UNKNOWN */];
      if (!status.ok()) {
        std::string key =
            absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
        auto it = mine->errors.find(key);
        if (it != mine->errors.end()) {
          ++it->second;
        } else if (static_cast<int>(mine->errors.size()) < kMaxDistinctErrors) {
          mine->errors.emplace(std::move(key), 1);
        }
      }
      MutexLock lock(&last_end.mu);
      last_end.time = std::max(last_end.time, finish);
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker, &stats[static_cast<size_t>(i)]);
  for (std::thread& thread : threads) thread.join();

  LoadResult result;
  for (WorkerStats& mine : stats) {
    result.latencies.insert(result.latencies.end(), mine.latencies.begin(), mine.latencies.end());
    for (int code = 0; code < kNumStatusCodes; ++code) {
      result.code_counts[code] += mine.code_counts[code];
    }
    for (auto& [message, count] : mine.errors) {
      if (static_cast<int>(result.errors.size()) < kMaxDistinctErrors ||
          result.errors.count(message) > 0) {
        result.errors[message] += count;
      }
    }
  }
  {
    MutexLock lock(&last_end.mu);
    result.elapsed = last_end.time - start;
  }
  if (g_stop.load(std::memory_order_relaxed)) {
    result.end_reason = "cancel";
  } else if (timed_out.load()) {
    result.end_reason = "timeout";
  } else {
    result.end_reason = "normal";
  }
  return result;
}

}  // namespace geoloc::loadgen
