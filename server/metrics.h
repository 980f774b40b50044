// Prometheus metrics of geolocd: prometheus-cpp's registry, served over HTTP by MetricsHttpServer
// (metrics_http.h).
//
//   ServerMetrics metrics;                       // families registered, nothing exposed yet
//   GEOLOC_RETURN_IF_ERROR(metrics.Expose("0.0.0.0:9090"));
//   metrics.RecordRequest("Locate", "OK", /*seconds=*/0.012);  // code: StatusCodeName(status)
//
// Series (names are stable; deploy/prometheus alerts and the Grafana dashboard use them):
//   geoloc_requests_total{method,code,transport}       counter (transport: grpc | http)
//   geoloc_request_duration_seconds{method,transport}  histogram
//   geoloc_stage_duration_seconds{stage}               histogram (decode, queue, encode, search,
//                                                      estimate, classify, calibrate, explain)
//   geoloc_locate_answers_total{calibrated,abstained}  counter (every Locate answer: was it
//                                                      calibrated, was it abstained)
//   geoloc_batch_size                                  histogram (images per forward pass)
//   geoloc_queue_depth                                 gauge
//   geoloc_in_flight_requests                          gauge
//   geoloc_serving                                     gauge (1 serving, 0 loading or draining)
//   geoloc_bundle_vectors                              gauge
//   geoloc_bundle_info{version,path,index_type}        gauge = 1
//   geoloc_model_info{name,fingerprint,precision,device} gauge = 1
//   geoloc_swaps_total{result,trigger}                 counter
//   geoloc_last_swap_timestamp_seconds                 gauge
//   geoloc_last_swap_success                           gauge (1 ok, 0 failed)
//   geoloc_sq8_queries_total{bundle}                   counter; with the next two, the serving
//   geoloc_sq8_second_scans_total{bundle}              bundle's sq8 flat store (Bundle::
//   geoloc_sq8_rows_reranked_total{bundle}             sq8_counters), read at scrape time, from 0
//                                                      at each load; absent without an sq8 store
//   geoloc_http_connections_cut_total{listener,reason} counter (HTTP connections closed by a
//                                                      whole-request limit: http_transport.h)
//   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_start_time_seconds, process_open_fds     (read from /proc at scrape time)
//
// Thread-safe: every method may be called from any thread.
#ifndef GEOLOC_SERVER_METRICS_H_
#define GEOLOC_SERVER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/common/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/metrics_http.h"

namespace geoloc::server {

class Sq8Collector;  // metrics.cc

// The serving bundle's sq8 flat store counters (core/index/bundle.h Sq8Counters), as /metrics
// reports them.
struct Sq8Series {
  std::string bundle_version;
  int64_t queries = 0;
  int64_t second_scans = 0;
  int64_t rows_reranked = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Starts the HTTP endpoint (path /metrics) on `address` ("host:port"; port 0 picks one).
  absl::Status Expose(const std::string& address);
  // The bound port after Expose(), else 0.
  int port() const;

  // `code` is the gRPC status code name, e.g. "OK", "INVALID_ARGUMENT"; `transport` "grpc" or
  // "http" (geolocator_calls.h).
  void RecordRequest(absl::string_view method, absl::string_view code, double seconds,
                     absl::string_view transport = "grpc");
  // An HTTP connection closed by a whole-request limit (http_transport.h). `listener`: "api" or
  // "metrics"; `reason`: HttpGuard's ("head_deadline", ...).
  void RecordHttpCut(absl::string_view listener, absl::string_view reason);
  void RecordStage(absl::string_view stage, double seconds);
  void RecordBatch(int size);
  // One Locate answer (docs/CALIBRATION.md): abstained implies calibrated.
  void RecordAnswer(bool calibrated, bool abstained);
  void SetQueueDepth(int depth);
  void AddInFlight(int delta);
  int in_flight() const { return in_flight_count_.load(); }
  void SetServing(bool serving);
  void SetBundle(const std::string& version, const std::string& path,
                 const std::string& index_type, int64_t vectors);
  void SetModel(const std::string& name, const std::string& fingerprint,
                const std::string& precision, const std::string& device);
  void RecordSwap(bool ok, absl::string_view trigger, double unix_time);
  // Where /metrics reads the sq8 counters at each scrape (nullopt: no series); replaced at each
  // swap. Called on the scraping thread: it must be thread-safe and must not keep a swapped-out
  // bundle alive.
  void SetSq8Source(std::function<std::optional<Sq8Series>()> source);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_collector_;
  std::shared_ptr<Sq8Collector> sq8_collector_;

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& stage_duration_;
  prometheus::Histogram& batch_size_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& serving_;
  prometheus::Gauge& bundle_vectors_;
  prometheus::Family<prometheus::Gauge>& bundle_info_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  prometheus::Family<prometheus::Counter>& swaps_;
  prometheus::Family<prometheus::Counter>& answers_;
  prometheus::Family<prometheus::Counter>& http_cuts_;
  prometheus::Gauge& last_swap_time_;
  prometheus::Gauge& last_swap_success_;

  std::atomic<int> in_flight_count_{0};
  Mutex info_mu_;  // keeps a single live bundle_info / model_info series
  prometheus::Gauge* bundle_info_series_ ABSL_GUARDED_BY(info_mu_) = nullptr;
  prometheus::Gauge* model_info_series_ ABSL_GUARDED_BY(info_mu_) = nullptr;
  std::unique_ptr<MetricsHttpServer> http_;  // last: stopped before the families it renders
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_METRICS_H_
