// Which bundle paths an IndexAdmin caller may name: only directories under --index_root.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::string dir, ResolveBundlePath("/bundles", request.bundle_path()));
//
// Case table (root = /bundles):
//   "v2" or "/bundles/v2"                 -> /bundles/v2 (canonical)
//   "../etc" or "/etc/x"                  -> PERMISSION_DENIED (outside, checked lexically first,
//                                            before touching the file system)
//   "v2" where v2 -> /elsewhere (symlink) -> PERMISSION_DENIED (checked again after resolving links)
//   "current" where current -> v2         -> /bundles/v2 (links inside the root are fine)
//   "missing"                             -> FAILED_PRECONDITION (no such bundle)
//   ""                                    -> INVALID_ARGUMENT
//   root empty                            -> any existing path is allowed (no policy configured)
// Stateless; safe from any thread.
#ifndef GEOLOC_SERVER_BUNDLE_PATH_POLICY_H_
#define GEOLOC_SERVER_BUNDLE_PATH_POLICY_H_

#include <string>

#include "absl/status/statusor.h"

namespace geoloc::server {

absl::StatusOr<std::string> ResolveBundlePath(const std::string& index_root,
                                              const std::string& requested);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_BUNDLE_PATH_POLICY_H_
