// A fixed-size pool of worker threads running closures in FIFO order.
//
//   ThreadPool pool(4);
//   pool.Schedule([&] { DecodeOne(i); });
//   ParallelFor(&pool, n, [&](int64_t i) { out[i] = Work(i); });  // blocks until all done
//
// Thread-safe: Schedule() may be called from any thread, including workers. The destructor runs
// every closure already scheduled, then joins the workers.
#ifndef GEOLOC_CORE_COMMON_THREAD_POOL_H_
#define GEOLOC_CORE_COMMON_THREAD_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "core/common/mutex.h"

namespace geoloc {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> fn);
  int size() const { return static_cast<int>(workers_.size()); }
  // Closures scheduled but not yet started.
  size_t pending() const;

 private:
  void WorkerLoop();

  mutable Mutex mu_;
  CondVar cv_;  // signalled when queue_ grows or stopping_ is set
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // set in the constructor, joined in the destructor
};

// Runs fn(i) for i in [0, n) on the pool (the calling thread helps) and returns when all are done.
// A null pool runs everything on the calling thread.
void ParallelFor(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_THREAD_POOL_H_
