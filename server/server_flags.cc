#include "server/server_flags.h"

#include <limits.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/common/status_macros.h"
#include "core/geo/estimator_options.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC listen address host:port (port 0: any)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9090",
          "Prometheus metrics HTTP address host:port; empty disables the endpoint");
ABSL_FLAG(std::string, http_address, "",
          "HTTP/JSON API and console address host:port (port 0: any; docs/HTTP_API.md); empty: "
          "no HTTP API");
ABSL_FLAG(std::string, console_dir, "",
          "serve the operator console's static files from this directory at / of --http_address");
ABSL_FLAG(int32_t, http_threads, 32, "HTTP connections served at once (the others wait)");
ABSL_FLAG(int32_t, http_io_timeout_seconds, 10,
          "HTTP: each read or write of a connection times out after this (slow clients)");
ABSL_FLAG(int32_t, http_head_deadline_seconds, 10,
          "HTTP: a request's line and headers must arrive within this from its first byte (each "
          "keep-alive request anew), and a TLS handshake within this; else the connection is "
          "closed (trickling clients)");
ABSL_FLAG(int32_t, http_body_deadline_seconds, 60,
          "HTTP: a request's body must arrive within this from the end of its headers; else the "
          "connection is closed");
ABSL_FLAG(int32_t, http_response_deadline_seconds, 60,
          "HTTP: a response must be written within this from its first byte; else the connection "
          "is closed (clients that read slowly)");
ABSL_FLAG(std::string, port_file, "",
          "write '<grpc port> <metrics port> <http port>' to this file once listening (scripts, "
          "tests; 0 for a listener that is off)");
ABSL_FLAG(std::string, model, "", "TorchScript model archive (docs/MODEL.md); required");
ABSL_FLAG(std::string, bundle, "", "index bundle directory loaded at start and on SIGHUP; required");
ABSL_FLAG(std::string, index_root, "",
          "SwapIndex accepts only bundles under this directory; empty: the bundle's parent");
ABSL_FLAG(bool, watch_bundle, false,
          "reload when --bundle (e.g. a symlink Kubernetes flips) points somewhere new");
ABSL_FLAG(int32_t, watch_interval_ms, 2000, "how often --watch_bundle checks the path");
ABSL_FLAG(std::string, gazetteer, "",
          "gazetteer file naming places in answers (tools/gazetteer/build_gazetteer.sh; "
          "docs/PLACES.md); empty: answers carry no place names");
ABSL_FLAG(bool, verify_checksums, true, "verify every bundle file's SHA-256 when loading");
ABSL_FLAG(std::string, precision, "auto", "encoder precision: auto, fp32 or bf16");
ABSL_FLAG(std::string, index_device, "cpu",
          "where the index lives: cpu, gpu (shards spread over GPUs) or gpu_replicate (a copy per "
          "GPU); GPU needs a Faiss built with GPU support, else the CPU is used with a log line");
ABSL_FLAG(std::vector<std::string>, index_gpu_devices, {},
          "with --index_device gpu*: GPU ordinals, comma-separated (empty: every visible GPU)");
ABSL_FLAG(int32_t, intra_op_threads, 0,
          "LibTorch threads per forward pass (0: every CPU this process may run on)");
ABSL_FLAG(bool, enable_explain, true, "load the Grad-CAM model and serve Explain");
ABSL_FLAG(int32_t, max_batch, 16, "images per encoder forward pass at most");
ABSL_FLAG(double, max_batch_wait_ms, 2.0,
          "how long the batcher waits for a fuller batch after the first image arrives");
ABSL_FLAG(int32_t, queue_capacity, 64,
          "Locate images admitted and waiting for a batch; beyond it RESOURCE_EXHAUSTED");
ABSL_FLAG(int32_t, decode_threads, 2, "threads decoding and preprocessing images");
ABSL_FLAG(int32_t, batch_workers, 0,
          "batches encoded and searched at once: under load each further batch runs beside the "
          "first on one thread (0: 2 when the forward pass has 2 threads, else 1)");
ABSL_FLAG(int32_t, estimate_threads, 2, "threads running estimators and cell confidences");
ABSL_FLAG(int32_t, explain_threads, 1, "Explain calls computed at once (Grad-CAM is heavy)");
ABSL_FLAG(int32_t, explain_queue_capacity, 4, "Explain calls waiting; beyond it RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_message_bytes, 16 << 20, "largest request message accepted");
ABSL_FLAG(int64_t, max_image_pixels, 50'000'000,
          "largest image (width x height, from its header) accepted; bigger: RESOURCE_EXHAUSTED");
ABSL_FLAG(int32_t, max_k, 500, "largest k a request may ask for");
ABSL_FLAG(int32_t, max_stream_images, 100000, "images per LocateStream call (0: unlimited)");
ABSL_FLAG(int32_t, max_stream_in_flight, 32, "images of one stream processed at once");
ABSL_FLAG(int32_t, default_k, 60, "neighbours retrieved when a request leaves k unset");
ABSL_FLAG(std::string, estimator, "kde",
          absl::StrCat("default estimator: ", geoloc::geo::EstimatorNameList()));
ABSL_FLAG(double, weight_exponent, 5.0, "default weight exponent m");
ABSL_FLAG(double, bandwidth_km, 0.5, "default spherical KDE bandwidth, km");
ABSL_FLAG(double, sigma_deg, 0.0025, "default grid KDE sigma, degrees");
ABSL_FLAG(double, merge_radius_km, 0, "default peak merge radius, km (0: the bandwidth)");
ABSL_FLAG(int32_t, max_peaks, 5, "default number of peaks returned");
ABSL_FLAG(std::string, cell_levels, "6,10,13", "default S2 levels for cell confidences");
ABSL_FLAG(int32_t, max_cells_per_level, 5, "default cells returned per level");
ABSL_FLAG(int32_t, max_classifier_cells, 10, "default classifier cells returned");
ABSL_FLAG(std::string, region_levels, "0.5,0.68,0.9,0.95",
          absl::StrCat("default nominal levels of a calibrated answer's confidence regions, "
                       "comma-separated, increasing, at most ",
                       geoloc::engine::kMaxRegionLevels, ", each ",
                       geoloc::DescribeRange(geoloc::engine::kRegionLevelRange)));
ABSL_FLAG(int32_t, region_cells_per_level, geoloc::engine::kDefaultRegionCellsPerLevel,
          absl::StrCat("cells each confidence region may evaluate (",
                       geoloc::DescribeRange(geoloc::engine::kRegionCellsPerLevelRange),
                       "): fewer is faster with coarser, larger regions, the coverage guarantee "
                       "kept (docs/CALIBRATION.md \"Cost\")"));
ABSL_FLAG(double, abstain_below, 0,
          absl::StrCat("mark a calibrated answer abstained when its P(localizable) is below this (",
                       geoloc::DescribeRange(geoloc::engine::kAbstainBelowRange),
                       "; 0: never; docs/CALIBRATION.md has the risk-coverage curve)"));
ABSL_FLAG(int32_t, nprobe, 0, "IVF lists probed per search (0: the bundle's default)");
ABSL_FLAG(int32_t, ef_search, 0, "HNSW search depth (0: the bundle's default)");
ABSL_FLAG(std::string, token_file, "",
          "file of bearer tokens for Geolocator (one per line); else $GEOLOC_TOKEN; none: open");
ABSL_FLAG(std::string, admin_token_file, "",
          "file of bearer tokens for IndexAdmin; else $GEOLOC_ADMIN_TOKEN");
ABSL_FLAG(std::string, tls_cert, "", "server certificate chain (PEM); with --tls_key enables TLS");
ABSL_FLAG(std::string, tls_key, "", "server private key (PEM)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "CA bundle (PEM) for client certificates; set: mutual TLS required");
ABSL_FLAG(std::string, audit_log, "",
          "append one JSON line per call to this file (caller, image SHA-256, options, answer; "
          "docs/OPERATIONS.md); {hostname} in it becomes the host's name (in Kubernetes the "
          "pod's, so replicas sharing a volume write files of their own); empty: no audit log");
ABSL_FLAG(double, audit_log_max_mb, 100, "rotate the audit log before it passes this size (MiB)");
ABSL_FLAG(int32_t, audit_log_keep, 10, "rotated audit log files kept (PATH.1 ... PATH.N)");
ABSL_FLAG(int32_t, audit_fsync_ms, 1000,
          "audit lines reach the disk (fdatasync) within this many ms (0: after every batch)");
ABSL_FLAG(int32_t, audit_queue, 10000,
          "audit records waiting for the writer; when full, records are dropped and counted "
          "(geoloc_audit_records_total{result=\"dropped\"}), never waited for");
ABSL_FLAG(std::string, audit_store_images, "",
          "with --audit_log: also keep every photo in this directory, named by its SHA-256 "
          "(personal data: see docs/OPERATIONS.md); empty: photos are never stored");
ABSL_FLAG(double, drain_grace_seconds, 20,
          "on SIGTERM, how long in-flight calls may take before they are cancelled");

namespace geoloc::server {
namespace {

// Replaced by gethostname() in --audit_log.
constexpr absl::string_view kHostnameMarker = "{hostname}";

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<std::vector<int>> ParseLevels(const std::string& text) {
  std::vector<int> levels;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int level;
    if (!absl::SimpleAtoi(part, &level)) {
      return Bad("cell_levels", absl::StrCat("'", part, "' is not an integer"));
    }
    levels.push_back(level);
  }
  return levels;
}

absl::StatusOr<std::vector<double>> ParseRegionLevels(const std::string& text) {
  std::vector<double> levels;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    double level;
    if (!absl::SimpleAtod(part, &level)) {
      return Bad("region_levels", absl::StrCat("'", part, "' is not a number"));
    }
    levels.push_back(level);
  }
  return levels;
}

}  // namespace

absl::Status ValidateServerConfig(const ServerConfig& c) {
  if (c.model_path.empty()) return Bad("model", "required");
  if (c.bundle_path.empty()) return Bad("bundle", "required");
  if (c.precision != "auto" && c.precision != "fp32" && c.precision != "bf16") {
    return Bad("precision", "must be auto, fp32 or bf16");
  }
  if (c.index_device != "cpu" && c.index_device != "gpu" && c.index_device != "gpu_replicate") {
    return Bad("index_device", "must be cpu, gpu or gpu_replicate");
  }
  for (int d : c.index_gpu_devices) {
    if (d < 0) return Bad("index_gpu_devices", "GPU ordinals must be >= 0");
  }
  if (c.max_batch < 1 || c.max_batch > 256) return Bad("max_batch", "must be in [1, 256]");
  if (c.max_batch_wait_ms < 0 || c.max_batch_wait_ms > 1000) {
    return Bad("max_batch_wait_ms", "must be in [0, 1000]");
  }
  if (c.queue_capacity < 1) return Bad("queue_capacity", "must be >= 1");
  if (c.batch_workers < 0 || c.batch_workers > kMaxBatchWorkers) {
    return Bad("batch_workers", absl::StrCat("must be in [0, ", kMaxBatchWorkers, "] (0: automatic)"));
  }
  if (c.decode_threads < 1 || c.estimate_threads < 1 || c.explain_threads < 1) {
    return Bad("*_threads", "thread counts must be >= 1");
  }
  if (c.explain_queue_capacity < 0) return Bad("explain_queue_capacity", "must be >= 0");
  if (c.max_message_bytes < 1024) return Bad("max_message_bytes", "must be >= 1024");
  if (c.max_image_pixels < 1) return Bad("max_image_pixels", "must be >= 1");
  if (c.max_k < 1 || c.max_k > engine::kMaxK) {
    return Bad("max_k", absl::StrCat("must be in [1, ", engine::kMaxK, "]"));
  }
  if (c.max_stream_images < 0) return Bad("max_stream_images", "must be >= 0");
  if (c.max_stream_in_flight < 1) return Bad("max_stream_in_flight", "must be >= 1");
  if (c.watch_interval_ms < 10) return Bad("watch_interval_ms", "must be >= 10");
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Bad("tls_cert", "--tls_cert and --tls_key go together");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return Bad("tls_client_ca", "mutual TLS needs --tls_cert and --tls_key");
  }
  if (c.drain_grace_seconds < 0) return Bad("drain_grace_seconds", "must be >= 0");
  if (!(c.audit_log_max_mb > 0)) return Bad("audit_log_max_mb", "must be > 0");
  if (c.audit_log_keep < 1) return Bad("audit_log_keep", "must be >= 1");
  if (c.audit_fsync_ms < 0) return Bad("audit_fsync_ms", "must be >= 0");
  if (c.audit_queue < 1) return Bad("audit_queue", "must be >= 1");
  if (!c.audit_store_images.empty() && c.audit_log.empty()) {
    return Bad("audit_store_images", "needs --audit_log");
  }
  if (c.http_threads < 1 || c.http_threads > 1024)
    return Bad("http_threads", "must be in [1, 1024]");
  if (c.http_io_timeout_seconds < 1 || c.http_io_timeout_seconds > 3600) {
    return Bad("http_io_timeout_seconds", "must be in [1, 3600]");
  }
  if (c.http_head_deadline_seconds < 1 || c.http_head_deadline_seconds > 3600) {
    return Bad("http_head_deadline_seconds", "must be in [1, 3600]");
  }
  if (c.http_body_deadline_seconds < 1 || c.http_body_deadline_seconds > 3600) {
    return Bad("http_body_deadline_seconds", "must be in [1, 3600]");
  }
  if (c.http_response_deadline_seconds < 1 || c.http_response_deadline_seconds > 3600) {
    return Bad("http_response_deadline_seconds", "must be in [1, 3600]");
  }
  if (!c.console_dir.empty()) {
    if (c.http_address.empty()) return Bad("console_dir", "needs --http_address");
    std::error_code ec;
    if (!std::filesystem::is_directory(c.console_dir, ec)) {
      return Bad("console_dir", absl::StrCat(c.console_dir, " is not a directory"));
    }
  }
  return Annotate(engine::ValidateLocateParams(c.defaults, c.max_k), "default LocateOptions");
}

absl::StatusOr<ServerConfig> ConfigFromFlags() {
  ServerConfig c;
  c.listen_address = absl::GetFlag(FLAGS_listen);
  c.metrics_address = absl::GetFlag(FLAGS_metrics_listen);
  c.port_file = absl::GetFlag(FLAGS_port_file);
  c.http_address = absl::GetFlag(FLAGS_http_address);
  c.console_dir = absl::GetFlag(FLAGS_console_dir);
  c.http_threads = absl::GetFlag(FLAGS_http_threads);
  c.http_io_timeout_seconds = absl::GetFlag(FLAGS_http_io_timeout_seconds);
  c.http_head_deadline_seconds = absl::GetFlag(FLAGS_http_head_deadline_seconds);
  c.http_body_deadline_seconds = absl::GetFlag(FLAGS_http_body_deadline_seconds);
  c.http_response_deadline_seconds = absl::GetFlag(FLAGS_http_response_deadline_seconds);
  c.model_path = absl::GetFlag(FLAGS_model);
  c.bundle_path = absl::GetFlag(FLAGS_bundle);
  c.index_root = absl::GetFlag(FLAGS_index_root);
  c.watch_bundle = absl::GetFlag(FLAGS_watch_bundle);
  c.gazetteer_path = absl::GetFlag(FLAGS_gazetteer);
  c.watch_interval_ms = absl::GetFlag(FLAGS_watch_interval_ms);
  c.verify_checksums = absl::GetFlag(FLAGS_verify_checksums);
  c.precision = absl::GetFlag(FLAGS_precision);
  c.index_device = absl::GetFlag(FLAGS_index_device);
  for (const std::string& d : absl::GetFlag(FLAGS_index_gpu_devices)) {
    int ordinal = -1;
    if (!absl::SimpleAtoi(d, &ordinal)) ordinal = -1;  // rejected by ValidateServerConfig
    c.index_gpu_devices.push_back(ordinal);
  }
  c.intra_op_threads = absl::GetFlag(FLAGS_intra_op_threads);
  c.enable_explain = absl::GetFlag(FLAGS_enable_explain);
  c.max_batch = absl::GetFlag(FLAGS_max_batch);
  c.max_batch_wait_ms = absl::GetFlag(FLAGS_max_batch_wait_ms);
  c.queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  c.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  c.batch_workers = absl::GetFlag(FLAGS_batch_workers);
  c.estimate_threads = absl::GetFlag(FLAGS_estimate_threads);
  c.explain_threads = absl::GetFlag(FLAGS_explain_threads);
  c.explain_queue_capacity = absl::GetFlag(FLAGS_explain_queue_capacity);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.max_image_pixels = absl::GetFlag(FLAGS_max_image_pixels);
  c.max_k = absl::GetFlag(FLAGS_max_k);
  c.max_stream_images = absl::GetFlag(FLAGS_max_stream_images);
  c.max_stream_in_flight = absl::GetFlag(FLAGS_max_stream_in_flight);
  c.token_file = absl::GetFlag(FLAGS_token_file);
  c.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  c.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  c.drain_grace_seconds = absl::GetFlag(FLAGS_drain_grace_seconds);
  c.audit_log = absl::GetFlag(FLAGS_audit_log);
  if (absl::StrContains(c.audit_log, kHostnameMarker)) {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
      return Bad("audit_log", "{hostname} given, but the host has no name");
    }
    c.audit_log = absl::StrReplaceAll(c.audit_log, {{kHostnameMarker, host}});
  }
  c.audit_log_max_mb = absl::GetFlag(FLAGS_audit_log_max_mb);
  c.audit_log_keep = absl::GetFlag(FLAGS_audit_log_keep);
  c.audit_fsync_ms = absl::GetFlag(FLAGS_audit_fsync_ms);
  c.audit_queue = absl::GetFlag(FLAGS_audit_queue);
  c.audit_store_images = absl::GetFlag(FLAGS_audit_store_images);

  engine::LocateParams& d = c.defaults;
  d.k = absl::GetFlag(FLAGS_default_k);
  auto kind = geo::ParseEstimatorKind(absl::GetFlag(FLAGS_estimator));
  if (!kind.ok()) return Bad("estimator", kind.status().message());
  d.estimator.kind = *kind;
  d.estimator.weight_exponent_m = absl::GetFlag(FLAGS_weight_exponent);
  d.estimator.bandwidth_km = absl::GetFlag(FLAGS_bandwidth_km);
  d.estimator.sigma_deg = absl::GetFlag(FLAGS_sigma_deg);
  d.estimator.merge_radius_km = absl::GetFlag(FLAGS_merge_radius_km);
  d.max_peaks = absl::GetFlag(FLAGS_max_peaks);
  GEOLOC_ASSIGN_OR_RETURN(d.cell_levels, ParseLevels(absl::GetFlag(FLAGS_cell_levels)));
  d.max_cells_per_level = absl::GetFlag(FLAGS_max_cells_per_level);
  d.max_classifier_cells = absl::GetFlag(FLAGS_max_classifier_cells);
  GEOLOC_ASSIGN_OR_RETURN(d.region_levels,
                          ParseRegionLevels(absl::GetFlag(FLAGS_region_levels)));
  d.region_cells_per_level = absl::GetFlag(FLAGS_region_cells_per_level);
  d.abstain_below = absl::GetFlag(FLAGS_abstain_below);
  d.nprobe = absl::GetFlag(FLAGS_nprobe);
  d.ef_search = absl::GetFlag(FLAGS_ef_search);
  GEOLOC_RETURN_IF_ERROR(ValidateServerConfig(c));
  return c;
}

}  // namespace geoloc::server
