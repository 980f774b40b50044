#include "core/common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

namespace geoloc {
namespace fs = std::filesystem;
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const int err = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  if (err == ENOSPC) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

std::string RandomSuffix() {
  std::random_device rd;
  return absl::StrCat(::getpid(), "-", rd() & 0xffffff);
}

absl::Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot fsync", path);
  return absl::OkStatus();
}

std::string ParentOf(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status st_err = ErrnoError("cannot read", path);
      ::close(fd);
      return st_err;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status SyncDirectory(const std::string& dir) { return SyncFile(dir); }

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string tmp = absl::StrCat(path, ".tmp-", RandomSuffix());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status st = ErrnoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status st = ErrnoError("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st = ErrnoError("cannot rename into", path);
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDirectory(ParentOf(path));
}

StagingDirectory::StagingDirectory(std::string staging_path, std::string final_path,
                                   bool replace_existing)
    : staging_path_(std::move(staging_path)),
      final_path_(std::move(final_path)),
      replace_existing_(replace_existing) {}

absl::StatusOr<StagingDirectory> StagingDirectory::Create(const std::string& final_path,
                                                          bool replace_existing) {
  fs::path target = fs::path(final_path).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  if (fs::exists(target, ec) && !replace_existing) {
    return absl::AlreadyExistsError(
        absl::StrCat(target.string(), " already exists (choose another path or remove it)"));
  }
  const std::string parent = ParentOf(target.string());
  fs::create_directories(parent, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", parent, ": ", ec.message()));
  }
  const std::string staging = (fs::path(parent) / absl::StrCat(".", target.filename().string(),
                                                               ".staging-", RandomSuffix()))
                                  .string();
  if (::mkdir(staging.c_str(), 0755) != 0) return ErrnoError("cannot create", staging);
  return StagingDirectory(staging, target.string(), replace_existing);
}

StagingDirectory::StagingDirectory(StagingDirectory&& other) noexcept
    : staging_path_(std::move(other.staging_path_)),
      final_path_(std::move(other.final_path_)),
      replace_existing_(other.replace_existing_),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object must not delete anything
}

StagingDirectory& StagingDirectory::operator=(StagingDirectory&& other) noexcept {
  if (this != &other) {
    if (!committed_ && !staging_path_.empty()) {
      std::error_code ec;
      fs::remove_all(staging_path_, ec);
    }
    staging_path_ = std::move(other.staging_path_);
    final_path_ = std::move(other.final_path_);
    replace_existing_ = other.replace_existing_;
    committed_ = other.committed_;
    other.committed_ = true;
  }
  return *this;
}

StagingDirectory::~StagingDirectory() {
  if (!committed_ && !staging_path_.empty()) {
    std::error_code ec;
    fs::remove_all(staging_path_, ec);
  }
}

absl::Status StagingDirectory::Commit() {
  if (committed_) return absl::FailedPreconditionError("staging directory already committed");
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(staging_path_, ec)) {
    if (entry.is_regular_file()) GEOLOC_RETURN_IF_ERROR(SyncFile(entry.path().string()));
    if (entry.is_directory()) GEOLOC_RETURN_IF_ERROR(SyncDirectory(entry.path().string()));
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", staging_path_, ": ", ec.message()));
  GEOLOC_RETURN_IF_ERROR(SyncDirectory(staging_path_));

  std::string displaced;
  if (fs::exists(final_path_, ec)) {
    if (!replace_existing_) {
      return absl::AlreadyExistsError(absl::StrCat(final_path_, " appeared while building"));
    }
    displaced = absl::StrCat(staging_path_, ".old");
    if (::rename(final_path_.c_str(), displaced.c_str()) != 0) {
      return ErrnoError("cannot move aside", final_path_);
    }
  }
  if (::rename(staging_path_.c_str(), final_path_.c_str()) != 0) {
    absl::Status st = ErrnoError("cannot rename into", final_path_);
    if (!displaced.empty()) ::rename(displaced.c_str(), final_path_.c_str());
    return st;
  }
  committed_ = true;
  GEOLOC_RETURN_IF_ERROR(SyncDirectory(ParentOf(final_path_)));
  if (!displaced.empty()) fs::remove_all(displaced, ec);
  return absl::OkStatus();
}

}  // namespace geoloc
