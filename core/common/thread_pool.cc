#include "core/common/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace geoloc {

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) num_threads = 1;
  workers_.reserve(num_threads);
  for (int i = 0; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Schedule(std::function<void()> fn) {
  {
    MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }
  cv_.Signal();
}

size_t ThreadPool::pending() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> fn;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

void ParallelFor(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (pool == nullptr || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // Work is claimed index by index from a shared counter, so uneven items balance themselves.
  struct State {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    Mutex mu;
    CondVar cv;  // signalled by the item that completes the loop
  };
  auto state = std::make_shared<State>();
  auto run = [state, n, &fn] {
    int64_t i;
    while ((i = state->next.fetch_add(1)) < n) {
      fn(i);
      if (state->done.fetch_add(1) + 1 == n) {
        MutexLock lock(&state->mu);
        state->cv.SignalAll();
      }
    }
  };
  const int helpers = static_cast<int>(std::min<int64_t>(pool->size(), n - 1));
  for (int h = 0; h < helpers; ++h) pool->Schedule(run);
  run();
  MutexLock lock(&state->mu);
  while (state->done.load() != n) state->cv.Wait(&state->mu);
}

}  // namespace geoloc
