// Leveled logging to stderr, one line per message, safe from any thread.
//
//   GEOLOC_LOG(INFO) << "loaded bundle " << path << " (" << n << " vectors)";
//   geoloc::SetMinLogLevel(geoloc::LogLevel::kWarning);  // e.g. from --log_level
//
// Abseil 20220623 has no absl/log yet; this is the small subset geoloc needs. A line is written
// with a single write(2) so lines from concurrent threads never interleave.
#ifndef GEOLOC_CORE_COMMON_LOGGING_H_
#define GEOLOC_CORE_COMMON_LOGGING_H_

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
// Parses "debug", "info", "warning" or "error" (case-insensitive).
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Swallows the stream when the level is disabled (see GEOLOC_LOG).
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace geoloc

#define GEOLOC_LOG_LEVEL_DEBUG ::geoloc::LogLevel::kDebug
#define GEOLOC_LOG_LEVEL_INFO ::geoloc::LogLevel::kInfo
#define GEOLOC_LOG_LEVEL_WARNING ::geoloc::LogLevel::kWarning
#define GEOLOC_LOG_LEVEL_ERROR ::geoloc::LogLevel::kError

#define GEOLOC_LOG(severity)                                                  \
  (GEOLOC_LOG_LEVEL_##severity < ::geoloc::MinLogLevel())                    \
      ? (void)0                                                               \
      : ::geoloc::internal::LogVoidify() &                                    \
            ::geoloc::internal::LogMessage(GEOLOC_LOG_LEVEL_##severity, __FILE__, __LINE__) \
                .stream()

#endif  // GEOLOC_CORE_COMMON_LOGGING_H_
