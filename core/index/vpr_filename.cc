#include "core/index/vpr_filename.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/status_macros.h"

namespace geoloc::index {

absl::StatusOr<geo::LatLon> ParseVprFilename(absl::string_view path) {
  const size_t slash = path.find_last_of('/');
  const absl::string_view name = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  if (name.empty() || name[0] != '@') {
    return absl::InvalidArgumentError(
        absl::StrCat("not a VPR file name (must start with '@'): ", name));
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(name.substr(1), '@');
  if (fields.size() < 6) {
    return absl::InvalidArgumentError(absl::StrCat("VPR file name has ", fields.size(),
                                                   " '@' fields, at least 6 are needed: ", name));
  }
  geo::LatLon p;
  if (!absl::SimpleAtod(fields[4], &p.lat)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VPR file name field 5 (latitude) is not a number: '", fields[4], "'"));
  }
  if (!absl::SimpleAtod(fields[5], &p.lon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VPR file name field 6 (longitude) is not a number: '", fields[5], "'"));
  }
  absl::Status valid = geo::ValidateLatLon(p);
  if (!valid.ok()) return Annotate(valid, absl::StrCat("VPR file name ", name));
  return p;
}

}  // namespace geoloc::index
