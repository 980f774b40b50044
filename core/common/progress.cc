#include "core/common/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/common/logging.h"

namespace geoloc {
namespace {

std::string FormatDuration(double seconds) {
  if (seconds < 0 || seconds > 1e8) return "?";
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

ProgressReporter::ProgressReporter(std::string label, int64_t total, std::string unit,
                                   absl::Duration log_interval)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      log_interval_(log_interval),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(absl::Now()),
      last_report_(start_) {}

ProgressReporter::~ProgressReporter() { Finish(); }

std::string ProgressReporter::FormatLine(int64_t done, int64_t total, double elapsed_s,
                                         const std::string& unit) {
  const double rate = elapsed_s > 0 ? done / elapsed_s : 0.0;
  std::string line;
  if (total > 0) {
    line = absl::StrFormat("%d/%d (%.1f%%) %.1f %s/s", done, total, 100.0 * done / total, rate,
                           unit);
    if (rate > 0 && done < total) {
      line += " ETA " + FormatDuration((total - done) / rate);
    }
  } else {
    line = absl::StrFormat("%d %s, %.1f %s/s", done, unit, rate, unit);
  }
  line += " elapsed " + FormatDuration(elapsed_s);
  return line;
}

void ProgressReporter::Add(int64_t n) {
  MutexLock lock(&mu_);
  done_ += n;
  const absl::Time now = absl::Now();
  const absl::Duration interval = tty_ ? absl::Milliseconds(200) : log_interval_;
  if (now - last_report_ >= interval) {
    last_report_ = now;
    Report(false);
  }
}

int64_t ProgressReporter::done() const {
  MutexLock lock(&mu_);
  return done_;
}

void ProgressReporter::Finish() {
  MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  Report(true);
}

void ProgressReporter::Report(bool final_line) {
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start_);
  const std::string line = FormatLine(done_, total_, elapsed, unit_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s: %s%s", label_.c_str(), line.c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    GEOLOC_LOG(INFO) << label_ << ": " << line << (final_line ? " (done)" : "");
  }
}

}  // namespace geoloc
