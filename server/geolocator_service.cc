#include "server/geolocator_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/mutex.h"
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
using geoloc::v1::LocateStreamRequest;
using geoloc::v1::LocateStreamResponse;

// The call as GeolocatorCalls sees it: its token, deadline and cancellation flag.
CallContext GrpcCall(const grpc::CallbackServerContext& ctx, const std::atomic<bool>* cancelled) {
  CallContext call;
  call.transport = kGrpcTransport;
  call.authorization = AuthorizationOf(ctx);
  call.deadline = CallDeadline(ctx);
  call.cancelled = [cancelled] { return cancelled->load(); };
  return call;
}

// A unary call: handed to GeolocatorCalls, finished from its `done`.
class UnaryReactor : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override { cancelled_.store(true); }
  void OnDone() override { delete this; }

  GeolocatorCalls::Done Finisher() {
    return [this](const absl::Status& status) { Finish(ToGrpcStatus(status)); };
  }
  const std::atomic<bool>* cancelled() const { return &cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

// Reads items, feeds them to the pipeline with bounded concurrency and writes answers as they
// complete (out of order). Finishes once the client has half-closed and every item is answered.
class LocateStreamReactor
    : public grpc::ServerBidiReactor<LocateStreamRequest, LocateStreamResponse> {
 public:
  LocateStreamReactor(GeolocatorCalls* service, grpc::CallbackServerContext* ctx)
      : service_(service), record_(service->metrics(), "LocateStream", kGrpcTransport), ctx_(ctx) {
    if (absl::Status st = AuthorizeClient(service->auth(), AuthorizationOf(*ctx)); !st.ok()) {
      MutexLock lock(&mu_);
      finish_status_ = st;
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    LocateStreamRequest item;
    {
      MutexLock lock(&mu_);
      if (!ok || reads_done_) {  // half-closed, broken, or cancelled meanwhile
        reads_done_ = true;
        MaybeFinishLocked();
        return;
      }
      ++items_read_;
      const int max_images = service_->config().max_stream_images;
      if (max_images > 0 && items_read_ > max_images) {
        finish_status_ = absl::ResourceExhaustedError(absl::StrCat(
            "more than ", max_images, " images in one stream; open a new stream"));
        reads_done_ = true;
        MaybeFinishLocked();
        return;
      }
      item = std::move(request_);
      request_.Clear();
      ++in_flight_;
    }
    // Outside the lock: the answer may come back synchronously (e.g. an invalid item).
    SubmitItem(std::move(item));
    MutexLock lock(&mu_);
    if (in_flight_ < service_->config().max_stream_in_flight && !write_failed_) {
      StartRead(&request_);
    } else {
      read_paused_ = true;  // resumes when an answer has been written
    }
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    writing_ = false;
    pending_writes_.pop_front();
    --in_flight_;
    if (!ok) {  // the client went away: stop reading, drain the rest silently
      write_failed_ = true;
      reads_done_ = true;
    }
    if (read_paused_ && !reads_done_ && !write_failed_) {
      read_paused_ = false;
      StartRead(&request_);
    }
    WriteNextLocked();
    MaybeFinishLocked();
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    cancelled_.store(true);
    reads_done_ = true;  // an outstanding read completes with ok=false; nothing new is read
    WriteNextLocked();   // drops answers nobody will read
    MaybeFinishLocked();
  }
  void OnDone() override { delete this; }

 private:
  void SubmitItem(LocateStreamRequest item) {
    EngineLocatePipeline::Job job;
    const std::string item_id = item.item_id();
    const bool return_neighbors = item.options().return_neighbors();
    absl::StatusOr<engine::LocateParams> params = ToLocateParams(
        item.options(), service_->config().defaults, service_->config().max_k);
    absl::Status invalid = !params.ok()           ? params.status()
                           : item.image().empty() ? absl::InvalidArgumentError("image is empty")
                                                  : absl::OkStatus();
    auto deliver = [this, item_id, start = absl::Now()](LocateStreamResponse response,
                                                        absl::Status status) {
      response.set_item_id(item_id);
      SetItemStatus(status, &response);
      MutexLock lock(&mu_);
      pending_writes_.push_back(std::move(response));
      WriteNextLocked();
      MaybeFinishLocked();
    };
    if (!invalid.ok()) {
      deliver(LocateStreamResponse(), invalid);
      return;
    }
    job.image = std::move(*item.mutable_image());
    job.params = *params;
    job.deadline = CallDeadline(*ctx_);
    job.cancelled = [this] { return cancelled_.load(); };
    job.done = [this, deliver, return_neighbors, params = *params](
                   absl::StatusOr<engine::LocateResult> result,
                   std::shared_ptr<const engine::Locator> snapshot, const StageTimes& times) {
      LocateStreamResponse response;
      if (result.ok()) {
        ToLocateResponse(*result, params, return_neighbors, *snapshot, times, /*total_ms=*/0,
                         response.mutable_result());
      }
      deliver(std::move(response), result.status());
    };
    service_->pipeline()->Submit(std::move(job));
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || pending_writes_.empty()) return;
    if (write_failed_ || cancelled_.load()) {
      // Nobody is listening: account for the answers without writing them.
      while (!pending_writes_.empty()) {
        pending_writes_.pop_front();
        --in_flight_;
      }
      return;
    }
    writing_ = true;
    StartWrite(&pending_writes_.front());
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !reads_done_ || in_flight_ > 0 || writing_) return;
    finished_ = true;
    absl::Status status = finish_status_;
    if (status.ok() && cancelled_.load()) status = absl::CancelledError("the caller cancelled");
    record_.Record(status.code());
    Finish(ToGrpcStatus(status));
  }

  GeolocatorCalls* const service_;
  CallRecord record_;
  grpc::CallbackServerContext* const ctx_;
  std::atomic<bool> cancelled_{false};
  Mutex mu_;
  LocateStreamRequest request_ ABSL_GUARDED_BY(mu_);  // the read in progress
  // front() is being written when writing_.
  std::deque<LocateStreamResponse> pending_writes_ ABSL_GUARDED_BY(mu_);
  int items_read_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // read and not yet written (or dropped)
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

GeolocatorService::GeolocatorService(GeolocatorCalls* calls) : calls_(calls) {}

grpc::ServerUnaryReactor* GeolocatorService::Locate(grpc::CallbackServerContext* ctx,
                                                    const LocateRequest* request,
                                                    LocateResponse* response) {
  auto* reactor = new UnaryReactor();
  calls_->Locate(GrpcCall(*ctx, reactor->cancelled()), *request, response, reactor->Finisher());
  return reactor;
}

grpc::ServerUnaryReactor* GeolocatorService::Explain(grpc::CallbackServerContext* ctx,
                                                     const ExplainRequest* request,
                                                     ExplainResponse* response) {
  auto* reactor = new UnaryReactor();
  calls_->Explain(GrpcCall(*ctx, reactor->cancelled()), *request, response, reactor->Finisher());
  return reactor;
}

grpc::ServerBidiReactor<LocateStreamRequest, LocateStreamResponse>*
GeolocatorService::LocateStream(grpc::CallbackServerContext* ctx) {
  return new LocateStreamReactor(calls_, ctx);
}

}  // namespace geoloc::server
