// geoloc-loadgen's report: ghz's summary (count, total, requests/s, average, fastest, slowest),
// response-time histogram, latency percentiles, status-code histogram and error examples, as text
// or as JSON with ghz's field names.
//
//   Report report = BuildReport(result);
//   std::cout << FormatReportText(report, options);
//
// Percentiles use the nearest-rank method: p% is the smallest latency with at least p% of the
// calls at or below it (so p50 of 1..100 ms is 50 ms). Every finished call counts, failed ones
// included, as in ghz. Plain values; thread-compatible.
#ifndef GEOLOC_TOOLS_LOADGEN_LOAD_REPORT_H_
#define GEOLOC_TOOLS_LOADGEN_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/loadgen/load_runner.h"

namespace geoloc::loadgen {

struct HistogramBucket {
  absl::Duration mark;  // upper bound of the bucket
  int64_t count = 0;
};

struct Report {
  int64_t count = 0;
  absl::Duration total;
  double rps = 0;  // count / total
  absl::Duration average;
  absl::Duration fastest;
  absl::Duration slowest;
  std::vector<std::pair<int, absl::Duration>> percentiles;  // 10 25 50 75 90 95 99
  std::vector<HistogramBucket> histogram;                   // 11 marks, fastest to slowest
  std::map<std::string, int64_t> status_codes;              // "OK" -> count (non-zero only)
  std::vector<std::pair<std::string, int64_t>> errors;      // most frequent first, at most 10
  std::string end_reason;
};

Report BuildReport(const LoadResult& result);

// Nearest-rank percentile of `sorted` (ascending); zero for an empty vector.
absl::Duration Percentile(const std::vector<absl::Duration>& sorted, double percent);

// What ran, for the report's header (text) or `options` object (JSON).
struct ReportOptions {
  std::string server;
  std::string call;  // "geoloc.v1.Geolocator.Locate"
  int concurrency = 0;
  int64_t total = 0;
  absl::Duration duration;
  double rps = 0;
  int64_t images = 0;
};

std::string FormatReportText(const Report& report, const ReportOptions& options);

// ghz's JSON layout: count; total, average, fastest, slowest and latencyDistribution[].latency in
// nanoseconds; rps; histogram[] {mark (seconds), count, frequency}; statusCodeDistribution;
// errorDistribution; endReason; plus `options`.
absl::StatusOr<std::string> FormatReportJson(const Report& report, const ReportOptions& options);

}  // namespace geoloc::loadgen

#endif  // GEOLOC_TOOLS_LOADGEN_LOAD_REPORT_H_
