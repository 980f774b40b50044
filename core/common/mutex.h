// A mutex and a condition variable that clang's -Wthread-safety checks and ThreadSanitizer sees.
//
//   mutable Mutex mu_;
//   int count_ ABSL_GUARDED_BY(mu_) = 0;
//   void Add() { MutexLock lock(&mu_); ++count_; }  // reading count_ without mu_: a compile error
//
// Members a lock guards carry ABSL_GUARDED_BY(mu_); private helpers that expect the lock held
// carry ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_). tools/test.sh's `threads` stage builds the annotated
// code with clang and -Werror=thread-safety (docs/TESTING.md).
//
// Why not absl::Mutex: Debian's Abseil is built without ThreadSanitizer support and absl::Mutex
// synchronises with atomics inside that uninstrumented library, so under TSan every member it
// guards shows as a data race (checked with a ten-line program). This Mutex is a std::mutex
// (pthread, which TSan intercepts) carrying Abseil's capability attributes, spelled like
// absl::Mutex (Lock, Unlock, AssertHeld, MutexLock, CondVar::Wait/WaitWithTimeout/Signal/
// SignalAll) so that moving to absl::Mutex with an instrumented Abseil is a rename.
//
// Waiting: CondVar::Wait releases the mutex while it sleeps and holds it again when it returns,
// possibly without a Signal (spurious wake-up): always wait in a loop on the guarded condition.
//
//   MutexLock lock(&mu_);
//   while (queue_.empty() && !stopping_) cv_.Wait(&mu_);
//
// Thread-safe, not copyable, not movable.
#ifndef GEOLOC_CORE_COMMON_MUTEX_H_
#define GEOLOC_CORE_COMMON_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace geoloc {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the analysis that the caller holds the lock (no run-time check), for code it cannot
  // follow, e.g. a lambda run while the lock is held.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to the end of the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases `mu`, sleeps until signalled (or woken spuriously), then holds `mu` again.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // the caller still holds it
  }
  // The same, but at most `timeout` (a steady clock: wall-clock jumps do not matter). True when
  // the timeout ran out.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool timed_out =
        cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout)) == std::cv_status::timeout;
    lock.release();
    return timed_out;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_MUTEX_H_
