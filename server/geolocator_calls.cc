#include "server/geolocator_calls.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "server/call_support.h"
#include "server/request_options.h"
#include "server/response_mapping.h"

namespace geoloc::server {
namespace {

using geoloc::v1::ExplainRequest;
using geoloc::v1::ExplainResponse;
using geoloc::v1::LocateRequest;
using geoloc::v1::LocateResponse;

double MsSince(absl::Time t) { return absl::ToDoubleMilliseconds(absl::Now() - t); }

// The checks every call makes before any work, in this order: the caller's token, the options,
// the image bytes. Returns the call's resolved parameters. `audit` (may be null) receives the
// request and the caller's name.
absl::StatusOr<engine::LocateParams> AdmitCall(const GeolocatorCalls& calls,
                                               const CallContext& call,
                                               const geoloc::v1::LocateOptions& options,
                                               const std::string& image, AuditRecord* audit) {
  AuditRequest(calls.audit_log(), audit, image, options);
  GEOLOC_RETURN_IF_ERROR(AuthorizeClient(calls.auth(), call.authorization,
                                         audit != nullptr ? &audit->caller : nullptr));
  GEOLOC_ASSIGN_OR_RETURN(engine::LocateParams params,
                          ToLocateParams(options, calls.config().defaults, calls.config().max_k));
  if (image.empty()) return absl::InvalidArgumentError("image is empty");
  return params;
}

// The call's record and its reply, shared by the admission path and the pipeline's callback.
struct PendingCall {
  PendingCall(const GeolocatorCalls& calls, const char* method, const CallContext& call,
              GeolocatorCalls::Done done)
      : record(calls.metrics(), calls.audit_log(), method, call), done(std::move(done)) {}
  void Reply(const absl::Status& status) {
    record.Record(status);
    done(status);
  }
  CallRecord record;
  GeolocatorCalls::Done done;
};

}  // namespace

CallRecord::CallRecord(ServerMetrics* metrics, AuditLog* audit_log, const char* method,
                       const CallContext& call)
    : metrics_(metrics),
      audit_log_(audit_log),
      method_(method),
      transport_(call.transport),
      start_(absl::Now()) {
  metrics_->AddInFlight(1);
  if (audit_log_ != nullptr) {
    audit_ = AuditRecord::Begin(method, call.transport);
    audit_.start = start_;
    audit_.peer = call.peer;
  }
}

CallRecord::~CallRecord() {  // only if never replied
  Record(absl::CancelledError("the call ended without a reply"));
}

void CallRecord::Record(const absl::Status& status) {
  if (recorded_) return;
  recorded_ = true;
  metrics_->AddInFlight(-1);
  metrics_->RecordRequest(method_, StatusCodeName(status.code()),
                          absl::ToDoubleSeconds(absl::Now() - start_), transport_);
  if (audit_log_ != nullptr) {
    // A caller refused at the token check never gets a photo kept on the server's disk (its hash
    // is still logged): an unauthenticated client must not be able to fill the audit store.
    if (status.code() == absl::StatusCode::kUnauthenticated ||
        status.code() == absl::StatusCode::kPermissionDenied) {
      audit_.images_to_store.clear();
    }
    audit_.Finish(status);
    audit_log_->Record(std::move(audit_));
  }
}

void AuditRequest(AuditLog* log, AuditRecord* audit, const std::string& image,
                  const geoloc::v1::LocateOptions& options) {
  if (audit == nullptr) return;
  audit->image_sha256 = {Sha256Hex(image)};
  if (log->store_images() && !image.empty()) audit->images_to_store = {image};
  audit->options = options;
}

GeolocatorCalls::GeolocatorCalls(const ServerConfig& config, EngineLocatePipeline* pipeline,
                                 ExplainExecutor* explainer, const AuthState* auth,
                                 ServerMetrics* metrics, AuditLog* audit_log)
    : config_(config),
      pipeline_(pipeline),
      explainer_(explainer),
      auth_(auth),
      metrics_(metrics),
      audit_log_(audit_log) {}

void GeolocatorCalls::Locate(CallContext call, const LocateRequest& request,
                             LocateResponse* response, Done done) {
  auto pending = std::make_shared<PendingCall>(*this, "Locate", call, std::move(done));
  absl::StatusOr<engine::LocateParams> params =
      AdmitCall(*this, call, request.options(), request.image(), pending->record.audit());
  if (!params.ok()) {
    pending->Reply(params.status());
    return;
  }
  const bool return_neighbors = request.options().return_neighbors();
  EngineLocatePipeline::Job job;
  job.image = request.image();
  job.params = *params;
  job.deadline = call.deadline;
  job.cancelled = std::move(call.cancelled);
  job.done = [pending, response, return_neighbors, params = *params](
                 absl::StatusOr<engine::LocateResult> result,
                 std::shared_ptr<const engine::Locator> snapshot, const StageTimes& times) {
    if (result.ok()) {
      ToLocateResponse(*result, params, return_neighbors, *snapshot, times,
                       MsSince(pending->record.start()), response);
      if (AuditRecord* audit = pending->record.audit()) audit->SetAnswer(*response);
    }
    pending->Reply(result.status());
  };
  pipeline_->Submit(std::move(job));
}

void GeolocatorCalls::Explain(CallContext call, const ExplainRequest& request,
                              ExplainResponse* response, Done done) {
  auto pending = std::make_shared<PendingCall>(*this, "Explain", call, std::move(done));
  absl::StatusOr<engine::LocateParams> params =
      AdmitCall(*this, call, request.options(), request.image(), pending->record.audit());
  if (!params.ok()) {
    pending->Reply(params.status());
    return;
  }
  ExplainJob job;
  switch (request.target_case()) {
    case ExplainRequest::kPeakIndex:
      job.target.kind = engine::ExplainTarget::Kind::kPeak;
      // Locate keeps peak_index + 1 peaks for it, at most the most any Locate returns.
      if (request.peak_index() >= static_cast<uint32_t>(engine::kMaxPeaksRange.max)) {
        pending->Reply(absl::InvalidArgumentError(
            absl::StrCat("peak_index ", request.peak_index(), " is out of range (allowed: 0 to ",
                         engine::kMaxPeaksRange.max - 1, ")")));
        return;
      }
      job.target.peak_index = static_cast<int>(request.peak_index());
      break;
    case ExplainRequest::kNeighborId:
      job.target.kind = engine::ExplainTarget::Kind::kNeighbor;
      job.target.neighbor_id = request.neighbor_id();
      break;
    case ExplainRequest::kCellToken:
      job.target.kind = engine::ExplainTarget::Kind::kCell;
      job.target.cell_token = request.cell_token();
      break;
    case ExplainRequest::TARGET_NOT_SET:
      job.target.kind = engine::ExplainTarget::Kind::kPeak;
      job.target.peak_index = 0;
      break;
  }
  // The peaks a peak target refers to must exist: keep every peak Locate finds.
  job.params = *params;
  job.params.max_peaks = std::max(job.params.max_peaks, job.target.peak_index + 1);
  job.image = request.image();
  job.render_overlay = !request.has_return_overlay() || request.return_overlay();
  job.deadline = call.deadline;
  job.cancelled = std::move(call.cancelled);
  job.done = [pending, response](absl::StatusOr<engine::ExplainResult> result,
                                 std::shared_ptr<const engine::Locator> snapshot,
                                 double decode_ms) {
    if (result.ok()) {
      ToExplainResponse(*result, *snapshot, decode_ms, MsSince(pending->record.start()), response);
      if (AuditRecord* audit = pending->record.audit()) {
        audit->detail = response->target_description();
        audit->model_version = response->model_version();
        audit->bundle_version = response->bundle_version();
      }
    }
    pending->Reply(result.status());
  };
  explainer_->Submit(std::move(job));
}

}  // namespace geoloc::server
