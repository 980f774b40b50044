// The audit log (geolocd --audit_log; docs/OPERATIONS.md, "Audit log"): one JSON line per call,
// written off the request path by one writer thread, rotated by size, fsync'd on a schedule.
//
//   GEOLOC_ASSIGN_OR_RETURN(auto audit, AuditLog::Open(options, metrics.registry().get()));
//   audit->Record(std::move(record));  // never blocks on I/O; any transport may call it
//   audit->Close();                    // on shutdown, after the last call: drains and syncs
//
// What happens to a record (case table):
//   queue has room               queued; the writer appends it (geoloc_audit_records_total
//                                {result="written"}), then fsyncs within --audit_fsync_ms
//   queue full (--audit_queue)   dropped at once, never waited for: the request is not delayed.
//                                Counted ({result="dropped"}), and the writer puts an
//                                {"event":"audit_records_dropped","count":N} line where the gap
//                                is, so the log itself shows it; logged as a warning
//   the write fails (disk full)  counted ({result="failed"}), logged; the writer goes on
//   after Close()                dropped and counted as above (a call that outlives the drain)
// Close() returns once every record queued before it is written and synced: geolocd calls it
// after the drain, when no call can still be recording, so SIGTERM loses nothing.
//
// Rotation: before a line would take the file past max_bytes, PATH is synced and renamed
// PATH.1 (PATH.1 -> PATH.2, ... up to PATH.<keep_files>; the oldest is deleted), and a new PATH
// is started. A line is never split across files.
//
// Thread-safe: Record from any thread; Close from one (idempotent). The sink is used only by the
// writer thread.
#ifndef GEOLOC_SERVER_AUDIT_LOG_H_
#define GEOLOC_SERVER_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/common/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "server/audit_record.h"

namespace geoloc::server {

// Where the writer puts lines (a rotating file in production).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual absl::Status AppendLine(absl::string_view line) = 0;  // `line` has no newline
  virtual absl::Status Sync() = 0;
};

// PATH, PATH.1 ... PATH.<keep_files>, as the case table above says.
class RotatingAuditFile final : public AuditSink {
 public:
  static absl::StatusOr<std::unique_ptr<RotatingAuditFile>> Open(std::string path,
                                                                 int64_t max_bytes,
                                                                 int keep_files);
  ~RotatingAuditFile() override;
  absl::Status AppendLine(absl::string_view line) override;
  absl::Status Sync() override;

 private:
  RotatingAuditFile(std::string path, int64_t max_bytes, int keep_files);
  absl::Status OpenCurrent();
  absl::Status Rotate();

  const std::string path_;
  const int64_t max_bytes_;
  const int keep_files_;
  int fd_ = -1;
  int64_t size_ = 0;
};

struct AuditLogOptions {
  std::string path;
  int64_t max_bytes = 100 << 20;
  int keep_files = 10;
  absl::Duration fsync_interval = absl::Seconds(1);
  int queue_capacity = 10000;
  // Non-empty: the writer stores each record's images_to_store as DIR/<sha256> (written once).
  std::string store_images_dir;
};

class AuditLog {
 public:
  // Opens (appends to) options.path. `registry` (may be null) receives the metrics.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const AuditLogOptions& options,
                                                        prometheus::Registry* registry);
  // Writes to `sink` (tests use a sink that blocks); options.path is not used.
  AuditLog(std::unique_ptr<AuditSink> sink, const AuditLogOptions& options,
           prometheus::Registry* registry);
  ~AuditLog();  // Close()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the record; false when it was dropped (queue full, or closed). Never blocks on I/O.
  bool Record(AuditRecord record);
  void Close();

  // Whether transports should keep the photos (--audit_store_images).
  bool store_images() const { return !options_.store_images_dir.empty(); }
  int64_t written() const;
  int64_t dropped() const;
  int64_t failed() const;

 private:
  void WriterLoop();
  void WriteBatch(std::deque<AuditRecord>& batch, int64_t gap, absl::Time gap_time);
  void StoreImages(const AuditRecord& record);

  const AuditLogOptions options_;
  std::unique_ptr<AuditSink> sink_;  // writer thread only
  prometheus::Counter* written_metric_ = nullptr;
  prometheus::Counter* dropped_metric_ = nullptr;
  prometheus::Counter* failed_metric_ = nullptr;
  prometheus::Gauge* depth_metric_ = nullptr;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t gap_ ABSL_GUARDED_BY(mu_) = 0;  // dropped since the last gap line
  absl::Time gap_time_ ABSL_GUARDED_BY(mu_);
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread writer_;
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_AUDIT_LOG_H_
