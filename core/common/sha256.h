// SHA-256 digests (lower-case hex) of byte strings and files, via OpenSSL.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::string hex, Sha256File(shard_path));
#ifndef GEOLOC_CORE_COMMON_SHA256_H_
#define GEOLOC_CORE_COMMON_SHA256_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc {

std::string Sha256Hex(absl::string_view bytes);
// Streams the file in 1 MiB blocks, so any size hashes in constant memory.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_SHA256_H_
