// Everything geolocd is configured with (flags map onto it one to one: server_flags.h).
// Plain value type.
#ifndef GEOLOC_SERVER_SERVER_CONFIG_H_
#define GEOLOC_SERVER_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/locate_params.h"

namespace geoloc::server {

inline constexpr char kServerVersion[] = "geolocd 0.1.0";

// The message of UNAVAILABLE for calls that arrive while geolocd drains (SIGTERM): retriable.
inline constexpr char kDrainingMessage[] =
    "geolocd is draining (shutting down); retry on another replica";

// --batch_workers' upper bound: each worker holds a batch's images and descriptors.
inline constexpr int kMaxBatchWorkers = 16;

struct ServerConfig {
  // Listening
  std::string listen_address = "0.0.0.0:50051";
  std::string metrics_address = "0.0.0.0:9090";  // empty: no metrics endpoint
  std::string http_address;       // the HTTP/JSON API (http_api.h); empty: off
  std::string console_dir;        // the console's static files, served at / of http_address
  int http_threads = 32;          // HTTP connections served at once
  int http_io_timeout_seconds = 10;  // each HTTP read/write (slow clients)
  int http_head_deadline_seconds = 10;  // TLS handshake; a request's line + headers, in all
  int http_body_deadline_seconds = 60;  // a request's body, in all
  int http_response_deadline_seconds = 60;  // writing a response, in all
  // When set, "<grpc port> <metrics port> <http port>" is written here once listening.
  std::string port_file;
  // Model and bundle
  std::string model_path;
  std::string bundle_path;        // loaded at start; reloaded on SIGHUP
  std::string index_root;         // SwapIndex only accepts bundles under it
  bool watch_bundle = false;      // reload when bundle_path (e.g. a symlink) changes target
  int watch_interval_ms = 2000;
  // Names places in answers (docs/PLACES.md); empty: answers carry no names.
  std::string gazetteer_path;
  bool verify_checksums = true;
  std::string precision = "auto";  // auto | fp32 | bf16
  // Where the Faiss index lives: cpu | gpu (shard i on device i mod n) | gpu_replicate (a copy
  // per device). GPU needs a Faiss with GPU support; without it the bundle loads on the CPU with
  // a log line (core/index/bundle.h).
  std::string index_device = "cpu";
  std::vector<int> index_gpu_devices;  // empty: every visible device
  int intra_op_threads = 0;
  bool enable_explain = true;
  // Batching and concurrency
  int max_batch = 16;
  double max_batch_wait_ms = 2.0;
  int queue_capacity = 64;        // Locate images admitted and not yet in a batch
  int decode_threads = 2;
  // Batches encoded and searched at once (server/locate_pipeline.h); 0: two when the forward
  // pass has two threads (the measured case, docs/SERVER.md "Batch workers"), else one.
  int batch_workers = 0;  // at most kMaxBatchWorkers
  int estimate_threads = 2;
  int explain_threads = 1;
  int explain_queue_capacity = 4;
  // Limits
  int64_t max_message_bytes = 16 << 20;
  int64_t max_image_pixels = 50'000'000;
  int max_k = 500;
  int max_stream_images = 100000;  // per LocateStream call; 0: unlimited
  int max_stream_in_flight = 32;   // images of one stream being processed at once
  // Defaults for LocateOptions fields the caller leaves unset
  engine::LocateParams defaults;
  // Access
  std::string token_file;          // else $GEOLOC_TOKEN
  std::string admin_token_file;    // else $GEOLOC_ADMIN_TOKEN
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;       // set: mutual TLS, clients must present a certificate
  // Audit log (server/audit_log.h, docs/OPERATIONS.md "Audit log"); empty path: off
  std::string audit_log;
  double audit_log_max_mb = 100;   // rotate before the file would pass this size
  int audit_log_keep = 10;         // rotated files kept: PATH.1 ... PATH.<keep>
  int audit_fsync_ms = 1000;       // written lines reach the disk within this (0: every batch)
  int audit_queue = 10000;         // records waiting for the writer; beyond it dropped, counted
  std::string audit_store_images;  // non-empty: keep every photo here, named by its SHA-256
  // Lifecycle
  double drain_grace_seconds = 20;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_SERVER_CONFIG_H_
