// The Locate pipeline behind every Geolocator call: the server's threads, batching and admission
// around the engine's Locate.
//
//   Submit ─► decode pool (Snapshot::PrepareImage; parallel) ─► DynamicBatcher ─► workers:
//   Snapshot::LocateBatch per batch (one forward pass + one batched search) ─► estimate pool
//   (each image's finish; parallel) ─► job.done(result)
//
// Batch workers and forward threads (config.batch_workers = W; batcher.h says which worker takes
// a batch: the primary, worker 0, whenever it is free):
//   W = 1                                       -> one batch at a time, with every forward thread
//   W > 1, the primary's batch, no other batch   -> every forward thread (a lone call's shortest
//     in flight and no image admitted behind it     path)
//   W > 1, any other batch                      -> one thread for its forward pass and search
//                                                  (model::OpenMpThreadCap), beside the others
// With W > 1 a batch holds at most ceil(max_batch / W) images, so the images being encoded at once
// stay within max_batch and a one-thread batch is no slower than a full batch on every thread
// (fp32 at c = 16: p99 511 ms with whole batches, 367 ms with halves, 333 ms with one worker).
// On two cores, two one-thread passes beside the decoding threads do more than one two-thread
// pass, whose barriers wait for a team member the decoders descheduled (docs/SERVER.md
// "Batch workers"); only the primary ever forms a team, so libgomp's count of managed threads
// stays at the forward threads and its waits keep spinning (docs/MODEL.md "Threads").
//
//   EngineLocatePipeline pipeline(config, &snapshots, &metrics);  // geolocator_service.h
//   pipeline.Submit(std::move(job));  // job.done is called exactly once, on some pool thread
//
// Admission and overload (case table):
//   not serving (no snapshot loaded)          -> done(UNAVAILABLE) at once
//   queue_capacity jobs admitted, not batched -> done(RESOURCE_EXHAUSTED) at once (no queueing)
//   deadline passed / caller cancelled before -> done(DEADLINE_EXCEEDED / CANCELLED) without
//     the batch was formed                       spending inference on it
//   bad image / bad size                      -> done(INVALID_ARGUMENT / RESOURCE_EXHAUSTED)
//   the batch cannot be encoded or searched   -> done(INTERNAL) for each of its jobs
//   one image's finish fails                  -> done(that error) for that job only
//   BeginDrain()                              -> new jobs: done(UNAVAILABLE "draining") at once;
//                                                admitted ones go on
//   Stop()                                    -> finishes every admitted job, rejects new ones
//
// Snapshots: a job takes the current snapshot when it is admitted and uses only that one, so a
// hot swap never changes the bundle under a request. A batch may mix snapshots (during a swap);
// each snapshot's part is located with its own LocateBatch, in arrival order.
//
// The pipeline is a template so that its tests run it with fake stages, without a model
// (tests/server/locate_pipeline_test.cc). Snapshot requirements (engine::Locator meets them):
//   absl::StatusOr<std::vector<float>> PrepareImage(absl::string_view bytes,
//                                                   int64_t max_pixels) const;
//   absl::Status LocateBatch(absl::Span<const float> images,
//                            std::vector<engine::LocateParams> params,
//                            const std::function<void(const T&)>& searched,
//                            const std::function<void(std::function<void()>)>& run_finish,
//                            std::function<void(size_t, absl::StatusOr<Result>)> done) const;
//     with T having encode_ms and search_ms, and Result having encode_ms, search_ms, estimate_ms,
//     classify_ms, `classifier`, calibrate_ms, `calibration` and `abstained` (the meanings of
//     engine::BatchTimes and engine::LocateResult, core/engine/locator.h).
//
// Threading: Submit() is thread-safe and never blocks on inference. `done` runs on a pool thread;
// it must not block for long.
#ifndef GEOLOC_SERVER_LOCATE_PIPELINE_H_
#define GEOLOC_SERVER_LOCATE_PIPELINE_H_

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/common/mutex.h"
#include "core/common/thread_pool.h"
#include "core/engine/locate_params.h"
#include "core/model/openmp_threads.h"
#include "server/batcher.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/snapshot_manager.h"

namespace geoloc::server {

struct StageTimes {
  double decode_ms = 0;
  double queue_ms = 0;
  double encode_ms = 0;
  double search_ms = 0;
  double estimate_ms = 0;
  double classify_ms = 0;  // the cell classifier head (0 without one)
  double calibrate_ms = 0;  // regions and calibrated probabilities (0 when uncalibrated)
  int batch_size = 0;
};

template <typename Snapshot, typename Result>
struct LocateJob {
  std::string image;  // encoded bytes
  engine::LocateParams params;  // validated (request_options.h)
  absl::Time deadline = absl::InfiniteFuture();
  // Polled before inference; may be empty. Must stay callable until `done` has run.
  std::function<bool()> cancelled;
  std::function<void(absl::StatusOr<Result> result, std::shared_ptr<const Snapshot> snapshot,
                     const StageTimes& times)>
      done;
};

template <typename Snapshot, typename Result>
class LocatePipeline {
 public:
  using Job = LocateJob<Snapshot, Result>;

  LocatePipeline(const ServerConfig& config, SnapshotManager<Snapshot>* snapshots,
                 ServerMetrics* metrics)
      : config_(config), snapshots_(snapshots), metrics_(metrics) {
    decode_pool_ = std::make_unique<ThreadPool>(config_.decode_threads);
    estimate_pool_ = std::make_unique<ThreadPool>(config_.estimate_threads);
    BatcherOptions options;
    // max_batch bounds the images in forward passes at once: with several workers each batch holds
    // its share, so a one-thread batch takes no longer than a full one on every thread.
    const int workers = std::max(1, config_.batch_workers);
    options.max_batch = (config_.max_batch + workers - 1) / workers;
    options.max_wait = absl::Microseconds(static_cast<int64_t>(config_.max_batch_wait_ms * 1000));
    // Admission (admitted_) already bounds what can reach the batcher; this is a second guard.
    options.queue_capacity = config_.queue_capacity;
    options.num_workers = config_.batch_workers;
    batcher_ = std::make_unique<DynamicBatcher<WorkItem>>(
        options, [this](std::vector<WorkItem>& batch, int worker) { RunBatch(batch, worker); },
        [this](WorkItem& item, absl::Status reason) { Fail(*item.work(), std::move(reason)); });
  }
  ~LocatePipeline() { Stop(); }
  LocatePipeline(const LocatePipeline&) = delete;
  LocatePipeline& operator=(const LocatePipeline&) = delete;

  void Submit(Job job);
  // Refuses new jobs with UNAVAILABLE from now on (SIGTERM's drain); admitted ones go on.
  void BeginDrain() { draining_.store(true); }
  // Stops admitting; finishes what was admitted; joins the threads. Idempotent.
  void Stop() {
    if (stopping_.exchange(true)) return;
    decode_pool_.reset();    // runs the decodes already scheduled; they feed the batcher
    batcher_->Stop();        // processes every queued item
    estimate_pool_.reset();  // finishes every estimate
  }
  // Jobs admitted and not yet taken into a batch (at most queue_capacity).
  int queue_depth() const { return admitted_.load(); }
  // Batch workers processing a batch now (0 once every batch has fully returned).
  int busy_batch_workers() const { return batcher_->busy_workers(); }

 private:
  // A job between admission and its answer.
  struct Work {
    Job job;
    std::shared_ptr<const Snapshot> snapshot;
    std::vector<float> pixels;  // the prepared image
    absl::Time enqueued;        // handed to the batcher
    StageTimes times;
    bool counted = true;  // still counted in admitted_
  };

  // What the batcher queues: a handle on the Work with the batcher's item requirements.
  class WorkItem {
   public:
    WorkItem() = default;
    explicit WorkItem(std::shared_ptr<Work> work) : work_(std::move(work)) {}
    absl::Time deadline() const { return work_->job.deadline; }
    bool cancelled() const { return work_->job.cancelled && work_->job.cancelled(); }
    const std::shared_ptr<Work>& work() const { return work_; }

   private:
    std::shared_ptr<Work> work_;
  };

  void Decode(std::shared_ptr<Work> work);
  void RunBatch(std::vector<WorkItem>& batch, int worker);
  void Deliver(Work& work, absl::StatusOr<Result> result);
  void Fail(Work& work, absl::Status status);
  void Release(Work& work);

  static double MsBetween(absl::Time a, absl::Time b) { return absl::ToDoubleMilliseconds(b - a); }

  const ServerConfig config_;
  SnapshotManager<Snapshot>* const snapshots_;
  ServerMetrics* const metrics_;
  std::atomic<int> admitted_{0};  // admitted and not yet taken into a batch; <= queue_capacity
  // Orders the geoloc_queue_depth updates: admitted_ changes on many threads at once, and
  // publishing the value each thread computed could leave the gauge stale when two updates land
  // out of order (e.g. 1 after 0 with the queue empty); re-reading the counter under this lock
  // makes the last publication see the last change. It guards no member.
  Mutex depth_mu_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::unique_ptr<ThreadPool> decode_pool_;
  std::unique_ptr<ThreadPool> estimate_pool_;
  std::unique_ptr<DynamicBatcher<WorkItem>> batcher_;
};

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::Submit(Job job) {
  if (stopping_.load() || draining_.load()) {
    job.done(absl::UnavailableError(kDrainingMessage), nullptr, StageTimes{});
    return;
  }
  std::shared_ptr<const Snapshot> snapshot = snapshots_->Current();
  if (snapshot == nullptr) {
    job.done(absl::UnavailableError("the server is still loading its model and index"), nullptr,
             StageTimes{});
    return;
  }
  // Take a slot only if one is free: the count never exceeds the capacity, not even for a moment
  // (a refused call would otherwise show up briefly in the depth others read and publish).
  int before = admitted_.load();
  do {
    if (before >= config_.queue_capacity) {
      job.done(absl::ResourceExhaustedError(
                   absl::StrCat("the server is at capacity (", config_.queue_capacity,
                                " images waiting for the encoder); retry with backoff")),
               snapshot, StageTimes{});
      return;
    }
  } while (!admitted_.compare_exchange_weak(before, before + 1));
  {
    MutexLock lock(&depth_mu_);
    metrics_->SetQueueDepth(admitted_.load());
  }
  auto work = std::make_shared<Work>();
  work->job = std::move(job);
  work->snapshot = std::move(snapshot);
  decode_pool_->Schedule([this, work] { Decode(work); });
}

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::Release(Work& work) {
  if (!work.counted) return;
  work.counted = false;
  admitted_.fetch_sub(1);
  MutexLock lock(&depth_mu_);
  metrics_->SetQueueDepth(admitted_.load());
}

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::Fail(Work& work, absl::Status status) {
  Release(work);
  work.job.done(std::move(status), work.snapshot, work.times);
}

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::Decode(std::shared_ptr<Work> work) {
  const absl::Time start = absl::Now();
  // The deadline first: gRPC cancels a call whose deadline passes, and that is an expiry.
  if (work->job.deadline <= start) {
    Fail(*work, absl::DeadlineExceededError("deadline passed before the image was decoded"));
    return;
  }
  if (work->job.cancelled && work->job.cancelled()) {
    Fail(*work, absl::CancelledError("the caller cancelled the request"));
    return;
  }
  absl::StatusOr<std::vector<float>> pixels =
      work->snapshot->PrepareImage(work->job.image, config_.max_image_pixels);
  if (!pixels.ok()) {
    Fail(*work, pixels.status());
    return;
  }
  work->pixels = *std::move(pixels);
  std::string().swap(work->job.image);  // the bytes are no longer needed: free them now
  const absl::Time end = absl::Now();
  work->times.decode_ms = MsBetween(start, end);
  metrics_->RecordStage("decode", work->times.decode_ms / 1000.0);
  work->enqueued = end;
  WorkItem rejected;
  if (absl::Status st = batcher_->Submit(WorkItem(work), &rejected); !st.ok()) {
    Fail(*work, st);
  }
}

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::RunBatch(std::vector<WorkItem>& batch, int worker) {
  const absl::Time formed = absl::Now();
  for (auto& item : batch) {
    Work& w = *item.work();
    Release(w);
    w.times.queue_ms = MsBetween(w.enqueued, formed);
    w.times.batch_size = static_cast<int>(batch.size());
    metrics_->RecordStage("queue", w.times.queue_ms / 1000.0);
  }
  metrics_->RecordBatch(static_cast<int>(batch.size()));
  // Forward threads (the case table above); the cap also holds the batch's search to one thread.
  // The batcher counts this worker among its busy ones, so more than one means another batch.
  std::optional<model::OpenMpThreadCap> one_thread;
  if (config_.batch_workers > 1 &&
      (worker != 0 || batcher_->busy_workers() > 1 || admitted_.load() > 0)) {
    one_thread.emplace(1);
  }

  // Group by snapshot (more than one only while a swap is happening), keeping arrival order.
  std::vector<std::vector<std::shared_ptr<Work>>> groups;
  for (auto& item : batch) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.front()->snapshot == item.work()->snapshot;
    });
    if (it == groups.end()) {
      groups.push_back({item.work()});
    } else {
      it->push_back(item.work());
    }
  }

  for (auto& group : groups) {
    const size_t image_floats = group.front()->pixels.size();
    // Every float is copied in below, so the few MB per batch are not zero-filled first (a vector
    // would: 0.7% of geolocd's CPU at c = 16 in int8, by perf).
    const size_t batch_floats = image_floats * group.size();
    std::unique_ptr<float[]> images(new float[batch_floats]);
    std::vector<engine::LocateParams> params;
    params.reserve(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      std::memcpy(images.get() + i * image_floats, group[i]->pixels.data(),
                  image_floats * sizeof(float));
      std::vector<float>().swap(group[i]->pixels);
      params.push_back(group[i]->job.params);
    }
    // Encode and search metrics are recorded before any image is finished, so a scrape that
    // follows an answer sees them.
    absl::Status st = group.front()->snapshot->LocateBatch(
        absl::MakeConstSpan(images.get(), batch_floats), std::move(params),
        [this](const auto& times) {
          metrics_->RecordStage("encode", times.encode_ms / 1000.0);
          metrics_->RecordStage("search", times.search_ms / 1000.0);
        },
        [this](std::function<void()> finish) { estimate_pool_->Schedule(std::move(finish)); },
        [this, group](size_t i, absl::StatusOr<Result> result) {
          Deliver(*group[i], std::move(result));
        });
    if (!st.ok()) {
      for (auto& w : group) Fail(*w, st);
    }
  }
}

template <typename Snapshot, typename Result>
void LocatePipeline<Snapshot, Result>::Deliver(Work& work, absl::StatusOr<Result> result) {
  if (result.ok()) {
    work.times.encode_ms = result->encode_ms;
    work.times.search_ms = result->search_ms;
    work.times.estimate_ms = result->estimate_ms;
    metrics_->RecordStage("estimate", result->estimate_ms / 1000.0);
    if (result->classifier.has_value()) {
      work.times.classify_ms = result->classify_ms;
      metrics_->RecordStage("classify", result->classify_ms / 1000.0);
    }
    if (result->calibration.has_value()) {
      work.times.calibrate_ms = result->calibrate_ms;
      metrics_->RecordStage("calibrate", result->calibrate_ms / 1000.0);
    }
    metrics_->RecordAnswer(result->calibration.has_value(), result->abstained);
  }
  work.job.done(std::move(result), work.snapshot, work.times);
}

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_LOCATE_PIPELINE_H_
