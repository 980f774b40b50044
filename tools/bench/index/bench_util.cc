#include "tools/bench/index/bench_util.h"

#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace geoloc::index {

double MsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

ProcessRss ReadProcessRss() {
  ProcessRss rss;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char* key, double* out) {
      if (line.rfind(key, 0) != 0) return;
      double kb = 0;
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2 && absl::SimpleAtod(parts[1], &kb)) *out = kb / 1024.0;
    };
    value("VmRSS:", &rss.total);
    value("RssAnon:", &rss.anon);
    value("RssFile:", &rss.file);
  }
  return rss;
}

}  // namespace geoloc::index
