#include "server/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/status_macros.h"

namespace geoloc::server {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

std::string Parent(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

// ---- RotatingAuditFile ----

RotatingAuditFile::RotatingAuditFile(std::string path, int64_t max_bytes, int keep_files)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_files_(keep_files) {}

RotatingAuditFile::~RotatingAuditFile() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

absl::StatusOr<std::unique_ptr<RotatingAuditFile>> RotatingAuditFile::Open(std::string path,
                                                                           int64_t max_bytes,
                                                                           int keep_files) {
  if (max_bytes < 1) return absl::InvalidArgumentError("audit log max size must be positive");
  if (keep_files < 1) return absl::InvalidArgumentError("audit log must keep at least 1 file");
  std::unique_ptr<RotatingAuditFile> file(
      new RotatingAuditFile(std::move(path), max_bytes, keep_files));
  GEOLOC_RETURN_IF_ERROR(file->OpenCurrent());
  return file;
}

absl::Status RotatingAuditFile::OpenCurrent() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return Errno("cannot open the audit log", path_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Errno("cannot stat the audit log", path_);
  size_ = st.st_size;
  return absl::OkStatus();
}

absl::Status RotatingAuditFile::Rotate() {
  GEOLOC_RETURN_IF_ERROR(Sync());
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  std::filesystem::remove(absl::StrCat(path_, ".", keep_files_), ec);
  for (int i = keep_files_ - 1; i >= 1; --i) {
    const std::string from = absl::StrCat(path_, ".", i);
    if (std::filesystem::exists(from, ec)) {
      std::filesystem::rename(from, absl::StrCat(path_, ".", i + 1), ec);
      if (ec) return absl::InternalError(absl::StrCat("cannot rotate ", from, ": ", ec.message()));
    }
  }
  std::filesystem::rename(path_, path_ + ".1", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rotate ", path_, ": ", ec.message()));
  GEOLOC_RETURN_IF_ERROR(OpenCurrent());
  return SyncDirectory(Parent(path_));  // the renames and the new file survive a crash
}

absl::Status RotatingAuditFile::AppendLine(absl::string_view line) {
  if (fd_ < 0) GEOLOC_RETURN_IF_ERROR(OpenCurrent());  // after a failed rotation
  const int64_t bytes = static_cast<int64_t>(line.size()) + 1;
  if (size_ > 0 && size_ + bytes > max_bytes_) GEOLOC_RETURN_IF_ERROR(Rotate());
  std::string text = absl::StrCat(line, "\n");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write the audit log", path_);
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes;
  return absl::OkStatus();
}

absl::Status RotatingAuditFile::Sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) return Errno("cannot sync the audit log", path_);
  return absl::OkStatus();
}

// ---- AuditLog ----

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditLogOptions& options,
                                                         prometheus::Registry* registry) {
  GEOLOC_ASSIGN_OR_RETURN(
      auto file, RotatingAuditFile::Open(options.path, options.max_bytes, options.keep_files));
  if (!options.store_images_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.store_images_dir, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create the audit image directory ", options.store_images_dir, ": ",
          ec.message()));
    }
  }
  return std::make_unique<AuditLog>(std::move(file), options, registry);
}

AuditLog::AuditLog(std::unique_ptr<AuditSink> sink, const AuditLogOptions& options,
                   prometheus::Registry* registry)
    : options_(options), sink_(std::move(sink)) {
  if (registry != nullptr) {
    auto& records = prometheus::BuildCounter()
                        .Name("geoloc_audit_records_total")
                        .Help("Audit log records by outcome: written, dropped (queue full), "
                              "failed (write error)")
                        .Register(*registry);
    written_metric_ = &records.Add({{"result", "written"}});
    dropped_metric_ = &records.Add({{"result", "dropped"}});
    failed_metric_ = &records.Add({{"result", "failed"}});
    depth_metric_ = &prometheus::BuildGauge()
                         .Name("geoloc_audit_queue_depth")
                         .Help("Audit records waiting for the writer")
                         .Register(*registry)
                         .Add({});
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

AuditLog::~AuditLog() { Close(); }

bool AuditLog::Record(AuditRecord record) {
  MutexLock lock(&mu_);
  if (closing_ || static_cast<int>(queue_.size()) >= options_.queue_capacity) {
    ++dropped_;
    if (gap_++ == 0) gap_time_ = absl::Now();
    if (dropped_metric_ != nullptr) dropped_metric_->Increment();
    return false;
  }
  queue_.push_back(std::move(record));
  if (depth_metric_ != nullptr) depth_metric_->Set(static_cast<double>(queue_.size()));
  cv_.Signal();
  return true;
}

void AuditLog::Close() {
  {
    MutexLock lock(&mu_);
    closing_ = true;
  }
  cv_.SignalAll();
  if (writer_.joinable()) writer_.join();
}

int64_t AuditLog::written() const {
  MutexLock lock(&mu_);
  return written_;
}
int64_t AuditLog::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}
int64_t AuditLog::failed() const {
  MutexLock lock(&mu_);
  return failed_;
}

void AuditLog::WriterLoop() {
  bool unsynced = false;
  absl::Time last_sync = absl::Now();
  for (;;) {
    std::deque<AuditRecord> batch;
    int64_t gap = 0;
    absl::Time gap_time;
    bool closing = false;
    {
      MutexLock lock(&mu_);
      // Wake for records, for Close(), or when unsynced lines are due for their fsync.
      while (queue_.empty() && gap_ == 0 && !closing_) {
        if (!unsynced) {
          cv_.Wait(&mu_);
        } else {
          const absl::Duration left = last_sync + options_.fsync_interval - absl::Now();
          if (left <= absl::ZeroDuration()) break;
          cv_.WaitWithTimeout(&mu_, left);
        }
      }
      batch.swap(queue_);
      gap = gap_;
      gap_time = gap_time_;
      gap_ = 0;
      closing = closing_;
      if (depth_metric_ != nullptr) depth_metric_->Set(0);
    }
    if (!batch.empty() || gap > 0) {
      WriteBatch(batch, gap, gap_time);
      unsynced = true;
    }
    if (unsynced && (closing || absl::Now() - last_sync >= options_.fsync_interval)) {
      if (absl::Status st = sink_->Sync(); !st.ok()) GEOLOC_LOG(ERROR) << "audit log: " << st;
      unsynced = false;
      last_sync = absl::Now();
    }
    if (closing) {
      MutexLock lock(&mu_);
      if (queue_.empty() && gap_ == 0) return;  // everything queued before Close() is written
    }
  }
}

void AuditLog::WriteBatch(std::deque<AuditRecord>& batch, int64_t gap, absl::Time gap_time) {
  int64_t written = 0, failed = 0;
  if (gap > 0) {
    GEOLOC_LOG(WARNING) << "audit log: " << gap
                        << " record(s) dropped, the queue was full (--audit_queue "
                        << options_.queue_capacity << ")";
    if (absl::Status st = sink_->AppendLine(AuditGapLine(gap_time, gap)); !st.ok()) {
      GEOLOC_LOG(ERROR) << "audit log: " << st;
    }
  }
  for (const AuditRecord& record : batch) {
    if (!record.images_to_store.empty()) StoreImages(record);
    if (absl::Status st = sink_->AppendLine(AuditJsonLine(record)); st.ok()) {
      ++written;
    } else {
      ++failed;
      GEOLOC_LOG(ERROR) << "audit log: record of a " << record.method << " call lost: " << st;
    }
  }
  if (written_metric_ != nullptr) written_metric_->Increment(static_cast<double>(written));
  if (failed_metric_ != nullptr && failed > 0) failed_metric_->Increment(static_cast<double>(failed));
  MutexLock lock(&mu_);
  written_ += written;
  failed_ += failed;
}

void AuditLog::StoreImages(const AuditRecord& record) {
  for (size_t i = 0; i < record.images_to_store.size() && i < record.image_sha256.size(); ++i) {
    const std::string path = absl::StrCat(options_.store_images_dir, "/", record.image_sha256[i]);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) continue;  // content-addressed: stored once
    if (absl::Status st = WriteFileAtomically(path, record.images_to_store[i]); !st.ok()) {
      GEOLOC_LOG(ERROR) << "audit log: cannot store an image: " << st;
    }
  }
}

}  // namespace geoloc::server
