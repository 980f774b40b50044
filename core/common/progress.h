// Progress for long jobs: a self-updating line with rate and ETA on a terminal, plain log lines
// (at most one every `log_interval`) otherwise, e.g. in CI or under Kubernetes.
//
//   ProgressReporter progress("encode", total_images, "img");
//   for (...) { ...; progress.Add(batch_size); }
//   progress.Finish();  // final line with the totals
//
// Thread-safe: Add() may be called from worker threads.
#ifndef GEOLOC_CORE_COMMON_PROGRESS_H_
#define GEOLOC_CORE_COMMON_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "core/common/mutex.h"

namespace geoloc {

class ProgressReporter {
 public:
  // total <= 0 means unknown (no ETA). Writes to stderr. Terminal mode when stderr is a TTY.
  ProgressReporter(std::string label, int64_t total, std::string unit = "items",
                   absl::Duration log_interval = absl::Seconds(10));
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void Add(int64_t n);
  void Finish();
  int64_t done() const;

  // Formats "123/1000 (12.3%) 45.6 img/s ETA 0:19" (exposed for tests).
  static std::string FormatLine(int64_t done, int64_t total, double elapsed_s,
                                const std::string& unit);

 private:
  void Report(bool final_line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string label_;
  const int64_t total_;
  const std::string unit_;
  const absl::Duration log_interval_;
  const bool tty_;
  const absl::Time start_;
  mutable Mutex mu_;
  int64_t done_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_report_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_PROGRESS_H_
