// Hot-swap of immutable snapshots, the way model servers do it (TensorFlow Serving's
// servable/loader/manager split in miniature).
//
//   SnapshotManager<Locator> manager(loader);
//   GEOLOC_RETURN_IF_ERROR(manager.Swap("/bundles/v2", "rpc").status());
//   std::shared_ptr<const Locator> snapshot = manager.Current();  // hold it for the whole request
//
// Lifetime and threading:
//   - A request calls Current() once at its start and uses only that snapshot; holding the
//     shared_ptr keeps the snapshot alive, so a swap never pulls a bundle out from under a request.
//     The old snapshot is destroyed (its memory freed) when the last request holding it ends.
//   - Swap() runs the loader on the caller's thread, off the serving path, without holding the
//     lock readers take; only the final pointer exchange is under the lock. Swaps are serialised:
//     a second Swap() waits for the first. geolocd's loader is engine::Locator::Load
//     (core/engine/locator.h): the one place that loads and verifies a bundle and checks it
//     against the served model; its case table answers "why was this bundle rejected?".
//   - A failed load changes nothing: the current snapshot keeps serving, the error is returned
//     and recorded in last_swap().
//   - Current() and last_swap() are safe from any thread and never wait for a load.
#ifndef GEOLOC_SERVER_SNAPSHOT_MANAGER_H_
#define GEOLOC_SERVER_SNAPSHOT_MANAGER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/common/mutex.h"

namespace geoloc::server {

struct SwapRecord {
  bool attempted = false;
  std::string path;
  std::string trigger;  // "startup", "rpc", "sighup", "watch"
  absl::Status status;
  absl::Time time;
  double load_seconds = 0;
};

template <typename Servable>
class SnapshotManager {
 public:
  using Loader =
      std::function<absl::StatusOr<std::shared_ptr<const Servable>>(const std::string& path)>;

  struct SwapResult {
    std::shared_ptr<const Servable> previous;  // may be null (first load)
    std::shared_ptr<const Servable> current;
    double load_seconds = 0;
  };

  explicit SnapshotManager(Loader loader) : loader_(std::move(loader)) {}
  SnapshotManager(const SnapshotManager&) = delete;
  SnapshotManager& operator=(const SnapshotManager&) = delete;

  // Null until the first successful Swap().
  std::shared_ptr<const Servable> Current() const {
    MutexLock lock(&mu_);
    return current_;
  }

  absl::StatusOr<SwapResult> Swap(const std::string& path, const std::string& trigger) {
    MutexLock swap_lock(&swap_mu_);
    const absl::Time start = absl::Now();
    absl::StatusOr<std::shared_ptr<const Servable>> loaded = loader_(path);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (loaded.ok() && *loaded == nullptr) {
      loaded = absl::InternalError("loader returned no snapshot");
    }
    SwapRecord record{true, path, trigger, loaded.status(), absl::Now(), seconds};
    SwapResult result;
    {
      MutexLock lock(&mu_);
      last_swap_ = record;
      if (!loaded.ok()) return loaded.status();
      result.previous = std::exchange(current_, *loaded);
      result.current = current_;
    }
    result.load_seconds = seconds;
    return result;
  }

  SwapRecord last_swap() const {
    MutexLock lock(&mu_);
    return last_swap_;
  }

 private:
  const Loader loader_;
  // Serialises swaps (held while the loader runs).
  Mutex swap_mu_;
  // Held only for pointer copies, never while the loader runs.
  mutable Mutex mu_;
  std::shared_ptr<const Servable> current_ ABSL_GUARDED_BY(mu_);
  SwapRecord last_swap_ ABSL_GUARDED_BY(mu_);
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_SNAPSHOT_MANAGER_H_
