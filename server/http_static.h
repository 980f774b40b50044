// The operator console's static files, served by geolocd's HTTP listener at `/` (--console_dir).
//
//   StaticFiles files("/usr/share/geoloc/console");
//   absl::StatusOr<StaticFile> file = files.Lookup(request_path);  // "/", "/app.js", ...
//
// Lookup (case table):
//   "/" or a path ending in "/"              -> that directory's index.html (no listings)
//   a regular file under the root            -> its bytes and content type (by extension)
//   a directory without the trailing "/"     -> NOT_FOUND (no listings, no redirects)
//   ".." segments, a NUL, a relative path,   -> NOT_FOUND: nothing outside the root is ever
//   a symlink leading outside the root          read, and the answer does not say why
//   a file larger than kMaxStaticFileBytes   -> NOT_FOUND
// `path` is the request's decoded path (no query). Files are read per request (the console is
// small and may be updated in place). Thread-safe; immutable after construction.
#ifndef GEOLOC_SERVER_HTTP_STATIC_H_
#define GEOLOC_SERVER_HTTP_STATIC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::server {

inline constexpr int64_t kMaxStaticFileBytes = 64 << 20;

struct StaticFile {
  std::string content;
  std::string content_type;
};

// "text/html; charset=utf-8" for "index.html"; application/octet-stream when unknown.
std::string ContentTypeForPath(absl::string_view path);

class StaticFiles {
 public:
  // `root` must be an existing directory (checked by the server flags).
  explicit StaticFiles(std::string root);
  absl::StatusOr<StaticFile> Lookup(absl::string_view path) const;

 private:
  std::string root_;  // canonical
};

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_HTTP_STATIC_H_
