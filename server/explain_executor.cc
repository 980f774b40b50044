#include "server/explain_executor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace geoloc::server {

ExplainExecutor::ExplainExecutor(const ServerConfig& config,
                                 SnapshotManager<engine::Locator>* snapshots,
                                 ServerMetrics* metrics)
    : config_(config),
      snapshots_(snapshots),
      metrics_(metrics),
      pool_(std::make_unique<ThreadPool>(config.explain_threads)) {}

ExplainExecutor::~ExplainExecutor() { Stop(); }

void ExplainExecutor::Stop() {
  if (stopping_.exchange(true)) return;
  pool_.reset();  // runs what was admitted
}

void ExplainExecutor::Submit(ExplainJob job) {
  if (stopping_.load() || draining_.load()) {
    job.done(absl::UnavailableError(kDrainingMessage), nullptr, 0);
    return;
  }
  std::shared_ptr<const engine::Locator> snapshot = snapshots_->Current();
  if (snapshot == nullptr) {
    job.done(absl::UnavailableError("the server is still loading its model and index"), nullptr,
             0);
    return;
  }
  if (!snapshot->can_explain()) {
    job.done(absl::FailedPreconditionError(
                 "Explain is disabled on this server (started with --enable_explain=false)"),
             snapshot, 0);
    return;
  }
  const int limit = config_.explain_threads + config_.explain_queue_capacity;
  if (admitted_.fetch_add(1) >= limit) {
    admitted_.fetch_sub(1);
    job.done(absl::ResourceExhaustedError(absl::StrCat(
                 "too many Explain calls in progress (", limit, "); retry with backoff")),
             snapshot, 0);
    return;
  }
  auto shared = std::make_shared<ExplainJob>(std::move(job));
  pool_->Schedule([this, shared, snapshot] { Run(shared, snapshot); });
}

void ExplainExecutor::Run(std::shared_ptr<ExplainJob> job,
                          std::shared_ptr<const engine::Locator> snapshot) {
  auto finish = [&](absl::StatusOr<engine::ExplainResult> result, double decode_ms) {
    admitted_.fetch_sub(1);
    job->done(std::move(result), snapshot, decode_ms);
  };
  const absl::Time start = absl::Now();
  // The deadline first: gRPC cancels a call whose deadline passes, and that is an expiry.
  if (job->deadline <= start) {
    return finish(absl::DeadlineExceededError("deadline passed while Explain waited"), 0);
  }
  if (job->cancelled && job->cancelled()) {
    return finish(absl::CancelledError("the caller cancelled the request"), 0);
  }
  absl::StatusOr<cv::Mat> bgr = snapshot->DecodeImage(job->image, config_.max_image_pixels);
  const double decode_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  metrics_->RecordStage("decode", decode_ms / 1000.0);
  if (!bgr.ok()) return finish(bgr.status(), decode_ms);
  absl::StatusOr<engine::ExplainResult> result =
      snapshot->Explain(*bgr, job->target, job->params, job->render_overlay);
  if (result.ok()) metrics_->RecordStage("explain", result->explain_ms / 1000.0);
  finish(std::move(result), decode_ms);
}

}  // namespace geoloc::server
