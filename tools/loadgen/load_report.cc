#include "tools/loadgen/load_report.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace geoloc::loadgen {
namespace {

constexpr int kPercentiles[] = {10, 25, 50, 75, 90, 95, 99};
constexpr int kHistogramIntervals = 10;
constexpr int kMaxErrorExamples = 10;
constexpr int kBarWidth = 40;

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.2f ms", absl::ToDoubleMilliseconds(d));
}

std::string Human(absl::Duration d) {
  return d >= absl::Seconds(1) ? absl::StrFormat("%.2f s", absl::ToDoubleSeconds(d)) : Ms(d);
}

google::protobuf::Value Number(double value) {
  google::protobuf::Value out;
  out.set_number_value(std::isfinite(value) ? value : 0.0);
  return out;
}

google::protobuf::Value Text(absl::string_view text) {
  google::protobuf::Value out;
  out.set_string_value(std::string(text));
  return out;
}

double Nanos(absl::Duration d) { return std::round(absl::ToDoubleNanoseconds(d)); }

}  // namespace

absl::Duration Percentile(const std::vector<absl::Duration>& sorted, double percent) {
  if (sorted.empty()) return absl::ZeroDuration();
  const double rank = std::ceil(percent / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(sorted.size()))) - 1;
  return sorted[index];
}

Report BuildReport(const LoadResult& result) {
  Report report;
  std::vector<absl::Duration> sorted = result.latencies;
  std::sort(sorted.begin(), sorted.end());
  report.count = static_cast<int64_t>(sorted.size());
  report.total = result.elapsed;
  report.end_reason = result.end_reason;
  const double seconds = absl::ToDoubleSeconds(result.elapsed);
  report.rps = seconds > 0 ? static_cast<double>(report.count) / seconds : 0;
  for (int code = 0; code < kNumStatusCodes; ++code) {
    if (result.code_counts[code] > 0) {
      report.status_codes[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] =
          result.code_counts[code];
    }
  }
  report.errors.assign(result.errors.begin(), result.errors.end());
  std::stable_sort(report.errors.begin(), report.errors.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (report.errors.size() > kMaxErrorExamples) report.errors.resize(kMaxErrorExamples);
  if (sorted.empty()) return report;

  absl::Duration sum;
  for (absl::Duration d : sorted) sum += d;
  report.average = sum / report.count;
  report.fastest = sorted.front();
  report.slowest = sorted.back();
  for (int p : kPercentiles) report.percentiles.emplace_back(p, Percentile(sorted, p));

  // Like ghz: marks at fastest + i * width, the last at slowest; a latency falls in the first
  // bucket whose mark is at or above it.
  const absl::Duration width = (report.slowest - report.fastest) / kHistogramIntervals;
  for (int i = 0; i <= kHistogramIntervals; ++i) {
    report.histogram.push_back(
        {i == kHistogramIntervals ? report.slowest : report.fastest + width * i, 0});
  }
  size_t bucket = 0;
  for (absl::Duration d : sorted) {
    while (d > report.histogram[bucket].mark && bucket + 1 < report.histogram.size()) ++bucket;
    ++report.histogram[bucket].count;
  }
  return report;
}

std::string FormatReportText(const Report& report, const ReportOptions& options) {
  std::string out = absl::StrFormat("%s on %s: concurrency %d, ", options.call, options.server,
                                    options.concurrency);
  if (options.total > 0) absl::StrAppend(&out, "total ", options.total, ", ");
  if (options.duration > absl::ZeroDuration()) {
    absl::StrAppend(&out, "duration ", absl::FormatDuration(options.duration), ", ");
  }
  if (options.rps > 0) absl::StrAppend(&out, "rate limit ", options.rps, "/s, ");
  absl::StrAppend(&out, options.images, " image", options.images == 1 ? "" : "s", "\n\n");

  absl::StrAppendFormat(&out,
                        "Summary:\n  Count:        %d\n  Total:        %s\n  Slowest:      %s\n"
                        "  Fastest:      %s\n  Average:      %s\n  Requests/sec: %.2f\n",
                        report.count, Human(report.total), Ms(report.slowest), Ms(report.fastest),
                        Ms(report.average), report.rps);
  if (report.end_reason != "normal")
    absl::StrAppend(&out, "  Ended by:     ", report.end_reason, "\n");
  if (!report.histogram.empty()) {
    int64_t max_count = 1;
    for (const HistogramBucket& b : report.histogram) max_count = std::max(max_count, b.count);
    absl::StrAppend(&out, "\nResponse time histogram:\n");
    for (const HistogramBucket& b : report.histogram) {
      std::string bar;
      const int64_t bars = b.count * kBarWidth / max_count;
      for (int64_t i = 0; i < bars; ++i) absl::StrAppend(&bar, "∎");
      absl::StrAppendFormat(&out, "  %10.3f ms %-8s |%s\n", absl::ToDoubleMilliseconds(b.mark),
                            absl::StrCat("[", b.count, "]"), bar);
    }
    absl::StrAppend(&out, "\nLatency distribution:\n");
    for (const auto& [percent, latency] : report.percentiles) {
      absl::StrAppendFormat(&out, "  %d %% in %s\n", percent, Ms(latency));
    }
  }
  absl::StrAppend(&out, "\nStatus code distribution:\n");
  for (const auto& [code, count] : report.status_codes) {
    absl::StrAppendFormat(&out, "  %-22s %d responses\n", absl::StrCat("[", code, "]"), count);
  }
  if (!report.errors.empty()) {
    absl::StrAppend(&out, "\nError distribution:\n");
    for (const auto& [message, count] : report.errors) {
      absl::StrAppendFormat(&out, "  %-8s %s\n", absl::StrCat("[", count, "]"), message);
    }
  }
  return out;
}

absl::StatusOr<std::string> FormatReportJson(const Report& report, const ReportOptions& options) {
  google::protobuf::Struct json;
  auto& fields = *json.mutable_fields();
  auto& opts = *fields["options"].mutable_struct_value()->mutable_fields();
  opts["host"] = Text(options.server);
  opts["call"] = Text(options.call);
  opts["concurrency"] = Number(options.concurrency);
  opts["total"] = Number(static_cast<double>(options.total));
  opts["duration"] = Number(Nanos(options.duration));
  opts["rps"] = Number(options.rps);
  opts["images"] = Number(static_cast<double>(options.images));

  fields["endReason"] = Text(report.end_reason);
  fields["count"] = Number(static_cast<double>(report.count));
  fields["total"] = Number(Nanos(report.total));
  fields["average"] = Number(Nanos(report.average));
  fields["fastest"] = Number(Nanos(report.fastest));
  fields["slowest"] = Number(Nanos(report.slowest));
  fields["rps"] = Number(report.rps);

  google::protobuf::ListValue* latencies = fields["latencyDistribution"].mutable_list_value();
  for (const auto& [percent, latency] : report.percentiles) {
    auto& entry = *latencies->add_values()->mutable_struct_value()->mutable_fields();
    entry["percentage"] = Number(percent);
    entry["latency"] = Number(Nanos(latency));
  }
  google::protobuf::ListValue* histogram = fields["histogram"].mutable_list_value();
  for (const HistogramBucket& bucket : report.histogram) {
    auto& entry = *histogram->add_values()->mutable_struct_value()->mutable_fields();
    entry["mark"] = Number(absl::ToDoubleSeconds(bucket.mark));
    entry["count"] = Number(static_cast<double>(bucket.count));
    entry["frequency"] = Number(report.count > 0 ? static_cast<double>(bucket.count) /
                                                       static_cast<double>(report.count)
                                                 : 0.0);
  }
  auto& codes = *fields["statusCodeDistribution"].mutable_struct_value()->mutable_fields();
  for (const auto& [code, count] : report.status_codes) {
    codes[code] = Number(static_cast<double>(count));
  }
  auto& errors = *fields["errorDistribution"].mutable_struct_value()->mutable_fields();
  for (const auto& [message, count] : report.errors) {
    errors[message] = Number(static_cast<double>(count));
  }

  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(json, &out, print);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print the report as JSON: ", status.message().as_string()));
  }
  return out;
}

}  // namespace geoloc::loadgen
