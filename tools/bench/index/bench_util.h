// Small helpers the index benchmarks share: elapsed milliseconds, medians, resident memory.
//
//   const auto start = std::chrono::steady_clock::now();
//   ...; const double ms = MsSince(start);
//   const ProcessRss rss = ReadProcessRss();   // MiB: total, anonymous, file-backed
//
// Pure functions (ReadProcessRss reads /proc/self/status): safe from any thread.
#ifndef GEOLOC_TOOLS_BENCH_INDEX_BENCH_UTIL_H_
#define GEOLOC_TOOLS_BENCH_INDEX_BENCH_UTIL_H_

#include <chrono>
#include <vector>

namespace geoloc::index {

double MsSince(std::chrono::steady_clock::time_point since);

// The middle element (the upper one of an even count); 0 for none.
double Median(std::vector<double> values);

// This process's resident memory in MiB, from /proc/self/status (VmRSS, RssAnon, RssFile).
struct ProcessRss {
  double total = 0, anon = 0, file = 0;
};
ProcessRss ReadProcessRss();

}  // namespace geoloc::index

#endif  // GEOLOC_TOOLS_BENCH_INDEX_BENCH_UTIL_H_
