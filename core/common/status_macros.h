// Early-return helpers for absl::Status and absl::StatusOr (Abseil 20220623 does not export its own).
//
//   GEOLOC_RETURN_IF_ERROR(WriteHeader(out));
//   GEOLOC_ASSIGN_OR_RETURN(auto bytes, ReadFileToString(path));
#ifndef GEOLOC_CORE_COMMON_STATUS_MACROS_H_
#define GEOLOC_CORE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GEOLOC_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::absl::Status geoloc_status_ = (expr);           \
    if (!geoloc_status_.ok()) return geoloc_status_;  \
  } while (false)

#define GEOLOC_STATUS_CONCAT_INNER_(a, b) a##b
#define GEOLOC_STATUS_CONCAT_(a, b) GEOLOC_STATUS_CONCAT_INNER_(a, b)

#define GEOLOC_ASSIGN_OR_RETURN(lhs, rexpr) \
  GEOLOC_ASSIGN_OR_RETURN_IMPL_(GEOLOC_STATUS_CONCAT_(geoloc_statusor_, __LINE__), lhs, rexpr)

#define GEOLOC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace geoloc {

// Returns `status` with `context: ` prepended to its message (same code); OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace geoloc

#endif  // GEOLOC_CORE_COMMON_STATUS_MACROS_H_
