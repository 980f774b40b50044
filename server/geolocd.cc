#include "server/geolocd.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/index/bundle.h"
#include "core/model/encoder.h"
#include "core/model/grad_cam.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/response_mapping.h"

namespace geoloc::server {
namespace {

// How long a drain refuses new calls itself before gRPC stops accepting (at most half the grace).
constexpr absl::Duration kDrainRefuseWindow = absl::Seconds(1);

// --intra_op_threads, with 0 resolved to the CPUs this process may run on (its affinity mask:
// a container's cpuset, taskset). LibTorch's own default is half the logical CPUs on x86 (it
// assumes hyper-threading), which on a 2-vCPU VM leaves one core idle and halves throughput
// (docs/BENCHMARKS.md "Locate under load").
int ForwardThreads(int flag) {
  if (flag > 0) return flag;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// --batch_workers 0 resolved: two when the forward pass has two threads, the case measured on the
// 2-core machines (docs/SERVER.md "Batch workers"); one otherwise, as before it existed.
ServerConfig WithResolvedBatchWorkers(ServerConfig config) {
  if (config.batch_workers == 0) {
    config.batch_workers = ForwardThreads(config.intra_op_threads) == 2 ? 2 : 1;
  }
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerConfig& config) {
  if (config.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  GEOLOC_ASSIGN_OR_RETURN(pair.cert_chain, ReadFileToString(config.tls_cert));
  GEOLOC_ASSIGN_OR_RETURN(pair.private_key, ReadFileToString(config.tls_key));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!config.tls_client_ca.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(options.pem_root_certs, ReadFileToString(config.tls_client_ca));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

std::string CanonicalOrSelf(const std::string& path) {
  std::error_code ec;
  auto canonical = std::filesystem::canonical(path, ec);
  return ec ? path : canonical.string();
}

}  // namespace

Geolocd::Geolocd(ServerConfig config)
    : config_(WithResolvedBatchWorkers(std::move(config))),
      auth_(config_.token_file, "GEOLOC_TOKEN", config_.admin_token_file, "GEOLOC_ADMIN_TOKEN"),
      snapshots_([this](const std::string& path) { return LoadSnapshot(path); }),
      pipeline_(config_, &snapshots_, &metrics_),
      explainer_(config_, &snapshots_, &metrics_) {}

Geolocd::~Geolocd() {
  StopWatching();
  if (http_) http_->Stop();
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
  pipeline_.Stop();
  explainer_.Stop();
  if (audit_log_ != nullptr) audit_log_->Close();
}

absl::StatusOr<std::shared_ptr<const engine::Locator>> Geolocd::LoadSnapshot(
    const std::string& path) const {
  engine::SnapshotOptions options;
  options.encoder = encoder();
  options.grad_cam = grad_cam();
  options.gazetteer = gazetteer();
  options.bundle.verify_checksums = config_.verify_checksums;
  options.bundle.gpu = config_.index_device == "gpu" ? index::GpuPlacement::kShardPerDevice
                       : config_.index_device == "gpu_replicate" ? index::GpuPlacement::kReplicate
                                                                 : index::GpuPlacement::kCpu;
  options.bundle.gpu_devices = config_.index_gpu_devices;
  return engine::Locator::Load(path, options);
}

void Geolocd::FillStatus(geoloc::v1::GetStatusResponse* response) const {
  ServerState state;
  state.serving = serving_.load();
  state.uptime_seconds = absl::ToDoubleSeconds(absl::Now() - started_);
  state.encoder = encoder();
  state.snapshot = snapshots_.Current();
  state.gazetteer = gazetteer();
  state.last_swap = snapshots_.last_swap();
  state.config = &config_;
  state.queue_depth = pipeline_.queue_depth();
  state.in_flight = metrics_.in_flight();
  ToStatusResponse(state, response);
}

void Geolocd::StopWatching() {
  {
    MutexLock lock(&watch_mu_);
    stop_watch_ = true;
  }
  watch_cv_.SignalAll();
  if (watcher_.joinable()) watcher_.join();
}

absl::Status Geolocd::Start() {
  GEOLOC_RETURN_IF_ERROR(auth_.Reload());
  if (!auth_.client()->enabled()) {
    GEOLOC_LOG(WARNING) << "no client token configured (--token_file / $GEOLOC_TOKEN): "
                           "Geolocator is open to anyone who can reach the port";
  }
  if (!auth_.admin()->enabled()) {
    GEOLOC_LOG(WARNING) << (auth_.client()->enabled()
                                ? "no admin token configured: IndexAdmin is disabled"
                                : "no admin token configured: IndexAdmin is open");
  }
  if (!config_.metrics_address.empty()) {
    GEOLOC_RETURN_IF_ERROR(metrics_.Expose(config_.metrics_address));
    GEOLOC_LOG(INFO) << "metrics on http://" << config_.metrics_address << "/metrics (port "
                     << metrics_.port() << ")";
  }
  metrics_.SetServing(false);
  if (!config_.audit_log.empty()) {
    AuditLogOptions audit;
    audit.path = config_.audit_log;
    audit.max_bytes = static_cast<int64_t>(config_.audit_log_max_mb * (1 << 20));
    audit.keep_files = config_.audit_log_keep;
    audit.fsync_interval = absl::Milliseconds(config_.audit_fsync_ms);
    audit.queue_capacity = config_.audit_queue;
    audit.store_images_dir = config_.audit_store_images;
    GEOLOC_ASSIGN_OR_RETURN(audit_log_, AuditLog::Open(audit, metrics_.registry().get()));
    GEOLOC_LOG(INFO) << "audit log " << config_.audit_log
                     << (audit.store_images_dir.empty()
                             ? " (photos not stored)"
                             : absl::StrCat(" (photos stored in ", audit.store_images_dir, ")"));
  }

  calls_ = std::make_unique<GeolocatorCalls>(config_, &pipeline_, &explainer_, &auth_, &metrics_,
                                             audit_log_.get());
  geolocator_ = std::make_unique<GeolocatorService>(calls_.get());
  admin_ = std::make_unique<IndexAdminService>(
      config_,
      [this](const std::string& path, geoloc::v1::SwapIndexResponse* response) {
        return SwapTo(path, "rpc", response);
      },
      [this](geoloc::v1::GetStatusResponse* response) { FillStatus(response); }, &auth_, &metrics_,
      audit_log_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  GEOLOC_ASSIGN_OR_RETURN(auto credentials, ServerCredentials(config_));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen_address, credentials, &port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(geolocator_.get());
  builder.RegisterService(admin_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config_.listen_address,
                                               " (in use, or not a valid address?)"));
  }
  if (!config_.http_address.empty()) {
    HttpApi::Hooks hooks;
    hooks.status = [this](geoloc::v1::GetStatusResponse* response) { FillStatus(response); };
    hooks.serving = [this] { return serving_.load(); };
    GEOLOC_ASSIGN_OR_RETURN(http_, HttpApi::Start(config_, calls_.get(), std::move(hooks)));
    GEOLOC_LOG(INFO) << "HTTP/JSON API on " << (config_.tls_cert.empty() ? "http://" : "https://")
                     << config_.http_address << " (port " << http_->port() << ")"
                     << (config_.console_dir.empty() ? ""
                                                     : ", console from " + config_.console_dir);
  }
  SetServing(false);
  if (!config_.port_file.empty()) {
    GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(
        config_.port_file, absl::StrCat(port_, " ", metrics_.port(), " ", http_port(), "\n")));
  }
  GEOLOC_LOG(INFO) << kServerVersion << " listening on port " << port_
                   << (config_.tls_cert.empty() ? " (plaintext)"
                                                : config_.tls_client_ca.empty() ? " (TLS)"
                                                                                : " (mTLS)");
  return absl::OkStatus();
}

absl::Status Geolocd::Load() {
  if (!config_.gazetteer_path.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const places::Gazetteer> places,
                            places::Gazetteer::Load(config_.gazetteer_path));
    GEOLOC_LOG(INFO) << "gazetteer " << config_.gazetteer_path << ": " << places->size()
                     << " places (" << places->source() << ")";
    MutexLock lock(&model_mu_);
    gazetteer_ = std::move(places);
  } else {
    GEOLOC_LOG(INFO) << "no --gazetteer: answers carry no place names";
  }
  const absl::Time start = absl::Now();
  model::EncoderOptions options;
  GEOLOC_ASSIGN_OR_RETURN(options.precision, model::ParsePrecision(config_.precision));
  options.intra_op_threads = ForwardThreads(config_.intra_op_threads);
  GEOLOC_LOG(INFO) << "LibTorch intra-op threads: " << options.intra_op_threads
                   << "; batch workers: " << config_.batch_workers;
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const model::Encoder> encoder,
                          model::Encoder::Load(config_.model_path, options));
  std::shared_ptr<const model::GradCam> cam;
  if (config_.enable_explain) {
    model::GradCamOptions cam_options;
    cam_options.intra_op_threads = options.intra_op_threads;
    GEOLOC_ASSIGN_OR_RETURN(cam, model::GradCam::Load(config_.model_path, cam_options));
  }
  {
    MutexLock lock(&model_mu_);
    encoder_ = encoder;
    grad_cam_ = cam;
  }
  const model::ModelInfo& info = encoder->info();
  const std::string precision(model::PrecisionName(encoder->precision()));
  metrics_.SetModel(info.name, info.fingerprint, precision, encoder->device());
  GEOLOC_LOG(INFO) << "model " << info.name << " (" << info.dim << "-d, " << precision << ", "
                   << encoder->device() << ") loaded in "
                   << absl::ToDoubleSeconds(absl::Now() - start) << " s";
  GEOLOC_RETURN_IF_ERROR(SwapTo(CanonicalOrSelf(config_.bundle_path), "startup", nullptr));
  SetServing(true);
  if (config_.watch_bundle) watcher_ = std::thread([this] { WatchLoop(); });
  return absl::OkStatus();
}

absl::Status Geolocd::SwapTo(const std::string& path, const std::string& trigger,
                             geoloc::v1::SwapIndexResponse* response) {
  MutexLock lock(&swap_mu_);
  if (encoder() == nullptr) return absl::UnavailableError("the model is still loading");
  auto result = snapshots_.Swap(path, trigger);
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  metrics_.RecordSwap(result.ok(), trigger, now);
  if (!result.ok()) {
    GEOLOC_LOG(ERROR) << "swap to " << path << " (" << trigger << ") failed, still serving "
                      << (loaded_path_.empty() ? "nothing" : loaded_path_) << ": "
                      << result.status();
    absl::Status st = result.status();
    // A bundle that cannot be loaded is the caller's precondition problem, not ours.
    if (st.code() != absl::StatusCode::kPermissionDenied &&
        st.code() != absl::StatusCode::kUnavailable) {
      st = absl::FailedPreconditionError(absl::StrCat("bundle ", path, " rejected: ", st.message()));
    }
    return st;
  }
  const engine::Locator& current = *result->current;
  loaded_path_ = path;
  metrics_.SetBundle(current.bundle_version(), path, current.bundle().manifest().index().type(),
                     current.bundle().size());
  metrics_.SetSq8Source([bundle = std::weak_ptr<const index::Bundle>(current.shared_bundle())]()
                            -> std::optional<Sq8Series> {
    const std::shared_ptr<const index::Bundle> held = bundle.lock();
    if (held == nullptr) return std::nullopt;
    const std::optional<index::Sq8Counters> c = held->sq8_counters();
    if (!c.has_value()) return std::nullopt;
    return Sq8Series{held->version(), c->queries, c->second_scans, c->rows_reranked};
  });
  GEOLOC_LOG(INFO) << "serving bundle " << current.bundle_version() << " (" << path << ", "
                   << current.bundle().size() << " vectors) after " << trigger << ", loaded in "
                   << result->load_seconds << " s";
  if (response != nullptr) ToSwapIndexResponse(*result, response);
  return absl::OkStatus();
}

absl::Status Geolocd::Reload(const std::string& trigger) {
  absl::Status tokens = auth_.Reload();
  if (!tokens.ok()) GEOLOC_LOG(ERROR) << "token reload failed, keeping the old tokens: " << tokens;
  absl::Status swap = SwapTo(CanonicalOrSelf(config_.bundle_path), trigger, nullptr);
  return tokens.ok() ? swap : tokens;
}

void Geolocd::WatchLoop() {
  // React to changes of the link's target only, so that a SwapIndex to another bundle is not
  // undone by the watcher, and a broken target is tried once, not every interval.
  std::string last_target = CanonicalOrSelf(config_.bundle_path);
  const absl::Duration interval = absl::Milliseconds(config_.watch_interval_ms);
  for (;;) {
    {
      MutexLock lock(&watch_mu_);
      // Wait one interval, or less when told to stop.
      const absl::Time until = absl::Now() + interval;
      while (!stop_watch_ && absl::Now() < until) {
        watch_cv_.WaitWithTimeout(&watch_mu_, until - absl::Now());
      }
      if (stop_watch_) return;
    }
    const std::string target = CanonicalOrSelf(config_.bundle_path);
    if (target == last_target) continue;
    last_target = target;
    GEOLOC_LOG(INFO) << config_.bundle_path << " now points to " << target << ": swapping";
    SwapTo(target, "watch", nullptr).IgnoreError();  // logged and recorded by SwapTo
  }
}

std::shared_ptr<const model::Encoder> Geolocd::encoder() const {
  MutexLock lock(&model_mu_);
  return encoder_;
}

std::shared_ptr<const model::GradCam> Geolocd::grad_cam() const {
  MutexLock lock(&model_mu_);
  return grad_cam_;
}

std::shared_ptr<const places::Gazetteer> Geolocd::gazetteer() const {
  MutexLock lock(&model_mu_);
  return gazetteer_;
}

void Geolocd::SetServing(bool serving) {
  serving_.store(serving);
  metrics_.SetServing(serving);
  if (server_) server_->GetHealthCheckService()->SetServingStatus(serving);
}

bool Geolocd::Drain(absl::Duration grace) {
  SetServing(false);
  StopWatching();
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + grace;
  GEOLOC_LOG(INFO) << "draining: " << metrics_.in_flight() << " call(s) in flight, grace "
                   << absl::FormatDuration(grace);
  // First refuse new work ourselves, with a retriable UNAVAILABLE that says why, while clients
  // and load balancers see NOT_SERVING; only then stop gRPC from accepting. (A call that reaches
  // gRPC exactly as it shuts down can otherwise end CANCELLED, which clients do not retry.)
  pipeline_.BeginDrain();
  explainer_.BeginDrain();
  absl::SleepFor(std::min(kDrainRefuseWindow, grace / 2));
  // Stops accepting at once; waits for in-flight calls until the deadline, then cancels them.
  server_->Shutdown(absl::ToChronoTime(deadline));
  // HTTP handlers wait for their calls, which the pipeline still finishes.
  if (http_) http_->Stop();
  const bool clean = absl::Now() < deadline;
  pipeline_.Stop();
  explainer_.Stop();
  // Every call has replied (or was cancelled) and recorded its line: write them all and sync.
  if (audit_log_ != nullptr) {
    audit_log_->Close();
    GEOLOC_LOG(INFO) << "audit log closed: " << audit_log_->written() << " line(s) written, "
                     << audit_log_->dropped() << " dropped, " << audit_log_->failed()
                     << " failed";
  }
  GEOLOC_LOG(INFO) << "drained in " << absl::ToDoubleSeconds(absl::Now() - start) << " s"
                   << (clean ? "" : " (grace period ran out; remaining calls were cancelled)");
  return clean;
}

}  // namespace geoloc::server
