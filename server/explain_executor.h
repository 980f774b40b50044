// Runs Explain calls (Grad-CAM: a forward and a backward pass, several times a Locate's cost) on
// their own small pool, so explanations never starve Locate's batcher, and refuses work beyond a
// bounded queue instead of letting memory grow.
//
//   ExplainExecutor explainer(config, &snapshots, &metrics);
//   explainer.Submit(std::move(job));  // job.done runs exactly once, on a pool thread
//
// Admission (case table):
//   no snapshot loaded                        -> done(UNAVAILABLE)
//   threads + queue capacity calls running    -> done(RESOURCE_EXHAUSTED) at once
//   deadline passed / cancelled before start  -> done(DEADLINE_EXCEEDED / CANCELLED)
//   Stop()                                    -> finishes admitted calls, rejects new ones
// Thread-safe.
#ifndef GEOLOC_SERVER_EXPLAIN_EXECUTOR_H_
#define GEOLOC_SERVER_EXPLAIN_EXECUTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/common/thread_pool.h"
#include "core/engine/locator.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/snapshot_manager.h"

namespace geoloc::server {

struct ExplainJob {
  std::string image;
  engine::ExplainTarget target;
  engine::LocateParams params;
  bool render_overlay = true;
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty
  std::function<void(absl::StatusOr<engine::ExplainResult> result,
                     std::shared_ptr<const engine::Locator> snapshot, double decode_ms)>
      done;
};

class ExplainExecutor {
 public:
  ExplainExecutor(const ServerConfig& config, SnapshotManager<engine::Locator>* snapshots,
                  ServerMetrics* metrics);
  ~ExplainExecutor();
  void Submit(ExplainJob job);
  // Refuses new calls with UNAVAILABLE from now on (SIGTERM's drain); admitted ones go on.
  void BeginDrain() { draining_.store(true); }
  void Stop();

 private:
  void Run(std::shared_ptr<ExplainJob> job, std::shared_ptr<const engine::Locator> snapshot);

  const ServerConfig config_;
  SnapshotManager<engine::Locator>* const snapshots_;
  ServerMetrics* const metrics_;
  std::atomic<int> admitted_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_EXPLAIN_EXECUTOR_H_
