// The Locate pipeline behind every Geolocator call:
//
//   Submit ─► decode pool (decode, preprocess; parallel) ─► DynamicBatcher ─► worker: one encoder
//   forward pass + one batched index search per batch ─► estimate pool (estimator, peaks, cells;
//   parallel) ─► job.done(result)
//
//   LocatePipeline pipeline(config, &snapshots, &metrics);
//   pipeline.Submit(std::move(job));  // job.done is called exactly once, on some pool thread
//
// Admission and overload (case table):
//   not serving (no snapshot loaded)          -> done(UNAVAILABLE) at once
//   queue_capacity jobs admitted, not batched -> done(RESOURCE_EXHAUSTED) at once (no queueing)
//   deadline passed / caller cancelled before -> done(DEADLINE_EXCEEDED / CANCELLED) without
//     the batch was formed                       spending inference on it
//   bad image / bad size                      -> done(INVALID_ARGUMENT / RESOURCE_EXHAUSTED)
//   BeginDrain()                              -> new jobs: done(UNAVAILABLE "draining") at once;
//                                                admitted ones go on
//   Stop()                                    -> finishes every admitted job, rejects new ones
//
// Snapshots: a job takes the current snapshot when it is admitted and uses only that one, so a
// hot swap never changes the bundle under a request. A batch may mix snapshots (during a swap);
// each snapshot's part is searched with its own bundle (the encoder is shared).
//
// Threading: Submit() is thread-safe and never blocks on inference. `done` runs on a pool thread;
// it must not block for long.
#ifndef GEOLOC_SERVER_LOCATE_PIPELINE_H_
#define GEOLOC_SERVER_LOCATE_PIPELINE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/common/thread_pool.h"
#include "core/engine/locator.h"
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
  int batch_size = 0;
};

struct LocateJob {
  std::string image;  // encoded bytes
  engine::LocateParams params;
  absl::Time deadline = absl::InfiniteFuture();
  // Polled before inference; may be empty. Must stay callable until `done` has run.
  std::function<bool()> cancelled;
  std::function<void(absl::StatusOr<engine::LocateResult> result,
                     std::shared_ptr<const engine::Locator> snapshot, const StageTimes& times)>
      done;
};

class LocatePipeline {
 public:
  LocatePipeline(const ServerConfig& config, SnapshotManager<engine::Locator>* snapshots,
                 ServerMetrics* metrics);
  ~LocatePipeline();
  LocatePipeline(const LocatePipeline&) = delete;
  LocatePipeline& operator=(const LocatePipeline&) = delete;

  void Submit(LocateJob job);
  // Refuses new jobs with UNAVAILABLE from now on (SIGTERM's drain); admitted ones go on.
  void BeginDrain() { draining_.store(true); }
  // Stops admitting; finishes what was admitted; joins the threads. Idempotent.
  void Stop();
  int queue_depth() const { return admitted_.load(); }

 private:
  struct Work;  // a decoded job waiting for its batch
  class WorkItem;

  void Decode(std::shared_ptr<Work> work);
  void RunBatch(std::vector<WorkItem>& batch);
  void Fail(Work& work, absl::Status status);
  void Release();
  void PublishQueueDepth();

  const ServerConfig config_;
  SnapshotManager<engine::Locator>* const snapshots_;
  ServerMetrics* const metrics_;
  std::atomic<int> admitted_{0};  // admitted and not yet taken into a batch; <= queue_capacity
  std::mutex depth_mu_;           // orders the geoloc_queue_depth updates (PublishQueueDepth)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::unique_ptr<ThreadPool> decode_pool_;
  std::unique_ptr<ThreadPool> estimate_pool_;
  std::unique_ptr<DynamicBatcher<WorkItem>> batcher_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_LOCATE_PIPELINE_H_
