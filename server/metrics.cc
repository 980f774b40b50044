#include "server/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"
#include "prometheus/metric_family.h"

namespace geoloc::server {
namespace {

using prometheus::Histogram;

// Latency buckets from 1 ms to about 30 s.
Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

Histogram::BucketBoundaries BatchBuckets() { return {1, 2, 4, 8, 12, 16, 24, 32, 48, 64}; }

prometheus::MetricFamily GaugeFamily(const std::string& name, const std::string& help,
                                     double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(metric);
  return family;
}

prometheus::MetricFamily CounterFamily(const std::string& name, const std::string& help,
                                       double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric metric;
  metric.counter.value = value;
  family.metric.push_back(metric);
  return family;
}

// Reads process CPU time, memory and open file descriptors from /proc at scrape time (the
// standard process_* series other exporters publish).
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command name "(...)": state is field 3; utime 14, stime 15, starttime 22,
    // vsize 23, rss 24 (1-based, proc(5)).
    const size_t close = stat.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(stat.substr(close + 2));
      std::vector<std::string> f;
      std::string token;
      while (fields >> token) f.push_back(token);
      auto field = [&](int n) -> double {  // n: 1-based proc(5) field number
        const size_t i = static_cast<size_t>(n - 3);
        return i < f.size() ? std::strtod(f[i].c_str(), nullptr) : 0.0;
      };
      out.push_back(CounterFamily("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds.",
                                  (field(14) + field(15)) / ticks));
      out.push_back(GaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                field(23)));
      out.push_back(GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                                field(24) * page));
      double boot_time = 0;
      std::ifstream proc_stat("/proc/stat");
      std::string key;
      while (proc_stat >> key) {
        if (key == "btime") {
          proc_stat >> boot_time;
          break;
        }
      }
      out.push_back(GaugeFamily("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                boot_time + field(22) / ticks));
    }
    int fds = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
      while (::readdir(dir) != nullptr) ++fds;
      ::closedir(dir);
      fds -= 3;  // ".", ".." and the directory's own descriptor
    }
    out.push_back(GaugeFamily("process_open_fds", "Number of open file descriptors.", fds));
    return out;
  }
};

}  // namespace

// The sq8 counters at scrape time, labelled with the bundle's version (a new series from 0 after
// each swap, as after a restart).
class Sq8Collector : public prometheus::Collectable {
 public:
  void SetSource(std::function<std::optional<Sq8Series>()> source) {
    MutexLock lock(&mu_);
    source_ = std::move(source);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::function<std::optional<Sq8Series>()> source;
    {
      MutexLock lock(&mu_);
      source = source_;
    }
    const std::optional<Sq8Series> series = source ? source() : std::nullopt;
    if (!series.has_value()) return {};
    auto family = [&](const std::string& name, const std::string& help, int64_t value) {
      prometheus::MetricFamily f = CounterFamily(name, help, static_cast<double>(value));
      f.metric[0].label.push_back({"bundle", series->bundle_version});
      return f;
    };
    return {family("geoloc_sq8_queries_total",
                   "Queries the serving bundle's sq8 flat store searched (once per shard).",
                   series->queries),
            family("geoloc_sq8_second_scans_total",
                   "Of those, queries the short list could not prove: the codes scanned again.",
                   series->second_scans),
            family("geoloc_sq8_rows_reranked_total",
                   "Float32 vectors the sq8 flat store scored exactly (short lists and bands).",
                   series->rows_reranked)};
  }

 private:
  mutable Mutex mu_;
  std::function<std::optional<Sq8Series>()> source_ ABSL_GUARDED_BY(mu_);
};

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      process_collector_(std::make_shared<ProcessCollector>()),
      sq8_collector_(std::make_shared<Sq8Collector>()),
      requests_(prometheus::BuildCounter()
                    .Name("geoloc_requests_total")
                    .Help("Calls handled, by method, gRPC status code and transport (grpc, http).")
                    .Register(*registry_)),
      request_duration_(prometheus::BuildHistogram()
                            .Name("geoloc_request_duration_seconds")
                            .Help("Call latency from receipt to response, by method and transport.")
                            .Register(*registry_)),
      stage_duration_(prometheus::BuildHistogram()
                          .Name("geoloc_stage_duration_seconds")
                          .Help("Time per pipeline stage (decode, queue, encode, search, "
                                "estimate, classify, calibrate, explain).")
                          .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("geoloc_batch_size")
                      .Help("Images per encoder forward pass.")
                      .Register(*registry_)
                      .Add({}, BatchBuckets())),
      queue_depth_(prometheus::BuildGauge()
                       .Name("geoloc_queue_depth")
                       .Help("Requests waiting for a batch.")
                       .Register(*registry_)
                       .Add({})),
      in_flight_(prometheus::BuildGauge()
                     .Name("geoloc_in_flight_requests")
                     .Help("RPCs being handled.")
                     .Register(*registry_)
                     .Add({})),
      serving_(prometheus::BuildGauge()
                   .Name("geoloc_serving")
                   .Help("1 when the server answers queries, 0 while loading or draining.")
                   .Register(*registry_)
                   .Add({})),
      bundle_vectors_(prometheus::BuildGauge()
                          .Name("geoloc_bundle_vectors")
                          .Help("Vectors in the served index bundle.")
                          .Register(*registry_)
                          .Add({})),
      bundle_info_(prometheus::BuildGauge()
                       .Name("geoloc_bundle_info")
                       .Help("The served index bundle (value 1).")
                       .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("geoloc_model_info")
                      .Help("The served model (value 1).")
                      .Register(*registry_)),
      swaps_(prometheus::BuildCounter()
                 .Name("geoloc_swaps_total")
                 .Help("Index bundle swaps, by result and trigger.")
                 .Register(*registry_)),
      answers_(prometheus::BuildCounter()
                   .Name("geoloc_locate_answers_total")
                   .Help("Locate answers, by whether the bundle's calibration applied and "
                         "whether the answer abstained (P(localizable) below --abstain_below).")
                   .Register(*registry_)),
      http_cuts_(prometheus::BuildCounter()
                     .Name("geoloc_http_connections_cut_total")
                     .Help("HTTP connections closed by a whole-request limit, by listener (api, "
                           "metrics) and reason (handshake_deadline, head_deadline, "
                           "body_deadline, response_deadline, head_too_large).")
                     .Register(*registry_)),
      last_swap_time_(prometheus::BuildGauge()
                          .Name("geoloc_last_swap_timestamp_seconds")
                          .Help("Unix time of the last swap attempt.")
                          .Register(*registry_)
                          .Add({})),
      last_swap_success_(prometheus::BuildGauge()
                             .Name("geoloc_last_swap_success")
                             .Help("1 if the last swap attempt succeeded, 0 if it failed.")
                             .Register(*registry_)
                             .Add({})) {
  last_swap_success_.Set(1);
}

ServerMetrics::~ServerMetrics() = default;  // stops the HTTP endpoint first (declared last)

absl::Status ServerMetrics::Expose(const std::string& address) {
  auto http = MetricsHttpServer::Start(
      address,
      [this] {
        std::vector<prometheus::MetricFamily> families = registry_->Collect();
        for (const prometheus::Collectable* collector :
             {static_cast<const prometheus::Collectable*>(process_collector_.get()),
              static_cast<const prometheus::Collectable*>(sq8_collector_.get())}) {
          std::vector<prometheus::MetricFamily> more = collector->Collect();
          families.insert(families.end(), more.begin(), more.end());
        }
        return prometheus::TextSerializer().Serialize(families);
      },
      [this](absl::string_view reason) { RecordHttpCut("metrics", reason); });
  if (!http.ok()) return http.status();
  http_ = *std::move(http);
  return absl::OkStatus();
}

int ServerMetrics::port() const { return http_ ? http_->port() : 0; }

void ServerMetrics::RecordRequest(absl::string_view method, absl::string_view code, double seconds,
                                  absl::string_view transport) {
  requests_
      .Add({{"method", std::string(method)},
            {"code", std::string(code)},
            {"transport", std::string(transport)}})
      .Increment();
  request_duration_
      .Add({{"method", std::string(method)}, {"transport", std::string(transport)}},
           LatencyBuckets())
      .Observe(seconds);
}

void ServerMetrics::RecordHttpCut(absl::string_view listener, absl::string_view reason) {
  http_cuts_.Add({{"listener", std::string(listener)}, {"reason", std::string(reason)}})
      .Increment();
}

void ServerMetrics::RecordStage(absl::string_view stage, double seconds) {
  stage_duration_.Add({{"stage", std::string(stage)}}, LatencyBuckets()).Observe(seconds);
}

void ServerMetrics::RecordBatch(int size) { batch_size_.Observe(size); }

void ServerMetrics::RecordAnswer(bool calibrated, bool abstained) {
  answers_.Add({{"calibrated", calibrated ? "true" : "false"},
                {"abstained", abstained ? "true" : "false"}})
      .Increment();
}
void ServerMetrics::SetQueueDepth(int depth) { queue_depth_.Set(depth); }
void ServerMetrics::AddInFlight(int delta) {
  in_flight_count_.fetch_add(delta);
  in_flight_.Increment(delta);
}
void ServerMetrics::SetServing(bool serving) { serving_.Set(serving ? 1 : 0); }

void ServerMetrics::SetBundle(const std::string& version, const std::string& path,
                              const std::string& index_type, int64_t vectors) {
  MutexLock lock(&info_mu_);
  if (bundle_info_series_ != nullptr) bundle_info_.Remove(bundle_info_series_);
  bundle_info_series_ =
      &bundle_info_.Add({{"version", version}, {"path", path}, {"index_type", index_type}});
  bundle_info_series_->Set(1);
  bundle_vectors_.Set(static_cast<double>(vectors));
}

void ServerMetrics::SetModel(const std::string& name, const std::string& fingerprint,
                             const std::string& precision, const std::string& device) {
  MutexLock lock(&info_mu_);
  if (model_info_series_ != nullptr) model_info_.Remove(model_info_series_);
  model_info_series_ = &model_info_.Add({{"name", name},
                                         {"fingerprint", fingerprint},
                                         {"precision", precision},
                                         {"device", device}});
  model_info_series_->Set(1);
}

void ServerMetrics::SetSq8Source(std::function<std::optional<Sq8Series>()> source) {
  sq8_collector_->SetSource(std::move(source));
}

void ServerMetrics::RecordSwap(bool ok, absl::string_view trigger, double unix_time) {
  swaps_.Add({{"result", ok ? "ok" : "failed"}, {"trigger", std::string(trigger)}}).Increment();
  last_swap_time_.Set(unix_time);
  last_swap_success_.Set(ok ? 1 : 0);
}

}  // namespace geoloc::server
