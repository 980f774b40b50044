#include "server/geolocd.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/file_util.h"
#include "core/common/json_proto.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"
#include "core/model/encoder.h"
#include "core/model/grad_cam.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/request_options.h"

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
    : config_(std::move(config)),
      auth_(config_.token_file, "GEOLOC_TOKEN", config_.admin_token_file, "GEOLOC_ADMIN_TOKEN"),
      snapshots_([this](const std::string& path)
                     -> absl::StatusOr<std::shared_ptr<const engine::Locator>> {
        index::BundleLoadOptions options;
        options.verify_checksums = config_.verify_checksums;
        options.gpu = config_.index_device == "gpu"             ? index::GpuPlacement::kShardPerDevice
                      : config_.index_device == "gpu_replicate" ? index::GpuPlacement::kReplicate
                                                                : index::GpuPlacement::kCpu;
        options.gpu_devices = config_.index_gpu_devices;
        return engine::Locator::Load(encoder(), grad_cam(), path, options);
      }),
      pipeline_(config_, &snapshots_, &metrics_),
      explainer_(config_, &snapshots_, &metrics_) {}

Geolocd::~Geolocd() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stop_watch_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
  pipeline_.Stop();
  explainer_.Stop();
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

  geolocator_ = std::make_unique<GeolocatorService>(config_, &pipeline_, &explainer_, &auth_,
                                                    &metrics_);
  admin_ = std::make_unique<IndexAdminService>(
      config_,
      [this](const std::string& path, geoloc::v1::SwapIndexResponse* response) {
        return SwapTo(path, "rpc", response);
      },
      [this](geoloc::v1::GetStatusResponse* response) { FillStatus(response); }, &auth_,
      &metrics_);

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
  SetServing(false);
  if (!config_.port_file.empty()) {
    GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(
        config_.port_file, absl::StrCat(port_, " ", metrics_.port(), "\n")));
  }
  GEOLOC_LOG(INFO) << kServerVersion << " listening on port " << port_
                   << (config_.tls_cert.empty() ? " (plaintext)"
                                                : config_.tls_client_ca.empty() ? " (TLS)"
                                                                                : " (mTLS)");
  return absl::OkStatus();
}

absl::Status Geolocd::Load() {
  const absl::Time start = absl::Now();
  model::EncoderOptions options;
  GEOLOC_ASSIGN_OR_RETURN(options.precision, model::ParsePrecision(config_.precision));
  options.intra_op_threads = ForwardThreads(config_.intra_op_threads);
  GEOLOC_LOG(INFO) << "LibTorch intra-op threads: " << options.intra_op_threads;
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const model::Encoder> encoder,
                          model::Encoder::Load(config_.model_path, options));
  std::shared_ptr<const model::GradCam> cam;
  if (config_.enable_explain) {
    model::GradCamOptions cam_options;
    cam_options.intra_op_threads = options.intra_op_threads;
    GEOLOC_ASSIGN_OR_RETURN(cam, model::GradCam::Load(config_.model_path, cam_options));
  }
  {
    std::lock_guard<std::mutex> lock(model_mu_);
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
  std::lock_guard<std::mutex> lock(swap_mu_);
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
  GEOLOC_LOG(INFO) << "serving bundle " << current.bundle_version() << " (" << path << ", "
                   << current.bundle().size() << " vectors) after " << trigger << ", loaded in "
                   << result->load_seconds << " s";
  if (response != nullptr) {
    response->set_bundle_version(current.bundle_version());
    if (result->previous) response->set_previous_bundle_version(result->previous->bundle_version());
    response->set_vector_count(current.bundle().size());
    response->set_load_seconds(result->load_seconds);
  }
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
  std::unique_lock<std::mutex> lock(watch_mu_);
  while (!watch_cv_.wait_for(lock, std::chrono::milliseconds(config_.watch_interval_ms),
                             [this] { return stop_watch_; })) {
    const std::string target = CanonicalOrSelf(config_.bundle_path);
    if (target == last_target) continue;
    last_target = target;
    lock.unlock();
    GEOLOC_LOG(INFO) << config_.bundle_path << " now points to " << target << ": swapping";
    SwapTo(target, "watch", nullptr).IgnoreError();  // logged and recorded by SwapTo
    lock.lock();
  }
}

std::shared_ptr<const model::Encoder> Geolocd::encoder() const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return encoder_;
}

std::shared_ptr<const model::GradCam> Geolocd::grad_cam() const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return grad_cam_;
}

void Geolocd::SetServing(bool serving) {
  serving_.store(serving);
  metrics_.SetServing(serving);
  if (server_) server_->GetHealthCheckService()->SetServingStatus(serving);
}

bool Geolocd::Drain(absl::Duration grace) {
  SetServing(false);
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stop_watch_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
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
  const bool clean = absl::Now() < deadline;
  pipeline_.Stop();
  explainer_.Stop();
  GEOLOC_LOG(INFO) << "drained in " << absl::ToDoubleSeconds(absl::Now() - start) << " s"
                   << (clean ? "" : " (grace period ran out; remaining calls were cancelled)");
  return clean;
}

void Geolocd::FillStatus(geoloc::v1::GetStatusResponse* out) const {
  out->set_serving(serving_.load());
  out->set_server_version(kServerVersion);
  out->set_uptime_seconds(absl::ToDoubleSeconds(absl::Now() - started_));
  if (auto encoder = this->encoder()) {
    const model::ModelInfo& info = encoder->info();
    auto* m = out->mutable_model();
    m->set_name(info.name);
    m->set_backbone(info.backbone);
    m->set_head(info.head);
    m->set_dim(static_cast<uint32_t>(info.dim));
    m->set_metric(std::string(model::MetricName(info.metric)));
    m->set_fingerprint(info.fingerprint);
    m->set_input_height(static_cast<uint32_t>(info.input_height));
    m->set_input_width(static_cast<uint32_t>(info.input_width));
    m->set_precision(std::string(model::PrecisionName(encoder->precision())));
    m->set_device(encoder->device());
  }
  if (auto snapshot = snapshots_.Current()) {
    const index::Bundle& bundle = snapshot->bundle();
    auto* b = out->mutable_bundle();
    b->set_path(bundle.path());
    b->set_version(bundle.version());
    b->set_vector_count(bundle.size());
    b->set_shard_count(static_cast<uint32_t>(bundle.num_shards()));
    b->set_index_type(bundle.manifest().index().type());
    b->set_created_at(bundle.manifest().created_at());
    b->set_has_cells(bundle.HasExtra("cells"));
    b->set_has_classifier(bundle.HasExtra("head"));
    if (auto json = ToJsonString(bundle.manifest()); json.ok()) b->set_manifest_json(*json);
  }
  const SwapRecord swap = snapshots_.last_swap();
  if (swap.attempted) {
    auto* s = out->mutable_last_swap();
    s->set_bundle_path(swap.path);
    s->set_ok(swap.status.ok());
    s->set_message(swap.status.ok() ? "ok" : std::string(swap.status.message()));
    s->set_unix_time(absl::ToDoubleSeconds(swap.time - absl::UnixEpoch()));
    s->set_load_seconds(swap.load_seconds);
    s->set_trigger(swap.trigger);
  }
  *out->mutable_defaults() = ToLocateOptions(config_.defaults);
  out->set_max_batch(static_cast<uint32_t>(config_.max_batch));
  out->set_max_batch_wait_ms(config_.max_batch_wait_ms);
  out->set_queue_capacity(static_cast<uint32_t>(config_.queue_capacity));
  out->set_queue_depth(static_cast<uint32_t>(pipeline_.queue_depth()));
  out->set_in_flight(static_cast<uint32_t>(metrics_.in_flight()));
}

}  // namespace geoloc::server
