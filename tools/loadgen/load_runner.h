// The engine of geoloc-loadgen: runs one call many times from a fixed number of workers, with an
// optional global rate limit, and records each call's latency and status.
//
//   LoadOptions options;
//   options.concurrency = 8;
//   options.total = 1000;
//   LoadResult result = RunLoad(options, [&](int64_t i) { return CallOnce(i); });
//
// Stopping rule, as ghz's -n / -z:
//
//   | total | duration | stops starting new calls when                          |
//   |-------|----------|--------------------------------------------------------|
//   | N > 0 | 0        | N calls have been started                              |
//   | 0     | D > 0    | D has passed since the start                           |
//   | N > 0 | D > 0    | whichever comes first                                  |
//   | any   | any      | RequestStop() was called (Ctrl-C); end reason "cancel" |
//
// Calls already started always finish (their deadline bounds them) and are counted. With rps > 0
// call i starts no earlier than start + i/rps: an open-loop schedule shared by all workers, so a
// slow server shows up as latency, not as a silently lower rate (as long as workers are free).
//
// Threading: `call` runs on `concurrency` threads at once and must be thread-safe. RunLoad
// blocks until every worker is done. RequestStop() is async-signal-safe.
#ifndef GEOLOC_TOOLS_LOADGEN_LOAD_RUNNER_H_
#define GEOLOC_TOOLS_LOADGEN_LOAD_RUNNER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace geoloc::loadgen {

struct LoadOptions {
  int concurrency = 10;
  int64_t total = 200;
  absl::Duration duration = absl::ZeroDuration();
  double rps = 0;  // overall requests per second; 0: as fast as the workers go
};

// Distinct error messages kept per run; later new messages are only counted under their code.
inline constexpr int kMaxDistinctErrors = 100;
inline constexpr int kNumStatusCodes = 17;  // google.rpc.Code 0..16

struct LoadResult {
  std::vector<absl::Duration> latencies;  // one per finished call, in no particular order
  std::array<int64_t, kNumStatusCodes> code_counts{};
  std::map<std::string, int64_t> errors;  // "CODE: message" -> count
  absl::Duration elapsed;                 // from the start to the last call's end
  std::string end_reason;                 // "normal", "timeout" (duration reached) or "cancel"
};

// One call; `index` counts calls from 0 (use it to cycle through inputs).
using CallFn = std::function<absl::Status(int64_t index)>;

// Options are not validated here (the caller rejects bad flags): concurrency < 1 runs one
// worker, and neither total nor duration runs one call.
LoadResult RunLoad(const LoadOptions& options, const CallFn& call);

// Makes a running RunLoad stop starting calls. Safe from a signal handler.
void RequestStop();
// Clears a previous RequestStop() (for a process that runs several loads).
void ResetStop();

}  // namespace geoloc::loadgen

#endif  // GEOLOC_TOOLS_LOADGEN_LOAD_RUNNER_H_
