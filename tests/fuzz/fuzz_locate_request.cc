// libFuzzer target: untrusted bytes as a gRPC request body. The bytes are parsed as each of
// LocateRequest, LocateStreamRequest and ExplainRequest (what the server's handlers receive);
// every message that parses has its options mapped (ToLocateParams, against the server's default
// parameters), its image decoded (DecodeAndCheck) and, for Explain, its cell token parsed.
// Findings: crashes, sanitizer reports, and broken contracts:
//   - ToLocateParams returns OK or INVALID_ARGUMENT only, and what it accepts passes
//     engine::ValidateLocateParams and keeps k <= max_k;
//   - ToLocateOptions(params) maps back to the same params (GetStatus reports what is used);
//   - a cell token that parses formats back to a token that parses to the same cell.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/cells/s2_cells.h"
#include "core/engine/locate_params.h"
#include "geoloc/v1/geoloc.pb.h"
#include "server/request_options.h"
#include "tests/fuzz/decode_checks.h"

namespace {

using geoloc::fuzz::Fail;

constexpr int kMaxK = 500;  // geolocd's default --max_k

void CheckOptions(const geoloc::v1::LocateOptions& options) {
  const geoloc::engine::LocateParams defaults;  // the engine's defaults, as geolocd's flags
  absl::StatusOr<geoloc::engine::LocateParams> params =
      geoloc::server::ToLocateParams(options, defaults, kMaxK);
  if (!params.ok()) {
    if (params.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail(absl::StrCat("ToLocateParams returned ", params.status().ToString()));
    }
    return;
  }
  if (absl::Status st = geoloc::engine::ValidateLocateParams(*params, kMaxK); !st.ok()) {
    Fail(absl::StrCat("ToLocateParams accepted invalid parameters: ", st.ToString()));
  }
  // What GetStatus would report for these parameters maps back onto them.
  absl::StatusOr<geoloc::engine::LocateParams> again =
      geoloc::server::ToLocateParams(geoloc::server::ToLocateOptions(*params), defaults, kMaxK);
  if (!again.ok()) Fail(absl::StrCat("ToLocateOptions round trip: ", again.status().ToString()));
  if (again->k != params->k || again->estimator.kind != params->estimator.kind ||
      again->max_peaks != params->max_peaks || again->cell_levels != params->cell_levels ||
      again->max_cells_per_level != params->max_cells_per_level ||
      again->max_classifier_cells != params->max_classifier_cells) {
    Fail("ToLocateOptions round trip changed the parameters");
  }
}

void CheckCellToken(const std::string& token) {
  absl::StatusOr<geoloc::cells::CellId> cell = geoloc::cells::CellFromToken(token);
  if (!cell.ok()) return;
  // s2_cells.h: only the canonical token of a valid cell is accepted, in either letter case.
  const std::string formatted = geoloc::cells::CellToken(*cell);
  if (!geoloc::cells::IsValidCell(*cell) || formatted != absl::AsciiStrToLower(token)) {
    Fail(absl::StrCat("cell token '", token, "' was accepted as ", *cell, " whose token is '",
                      formatted, "'"));
  }
  // What the Explain path does with the cell (engine::DescribeCell).
  const geoloc::geo::LatLon center = geoloc::cells::CellCenter(*cell);
  if (!std::isfinite(center.lat) || !std::isfinite(center.lon)) Fail("cell centre not finite");
  if (geoloc::cells::CellVertices(*cell, 8).empty()) Fail("a valid cell has no outline");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > static_cast<size_t>(INT32_MAX)) return 0;
  const int length = static_cast<int>(size);

  geoloc::v1::LocateRequest locate;
  const bool is_locate = locate.ParseFromArray(data, length);
  if (is_locate) {
    CheckOptions(locate.options());
    geoloc::fuzz::DecodeAndCheck(locate.image());
  }
  geoloc::v1::LocateStreamRequest stream;
  if (stream.ParseFromArray(data, length)) {
    CheckOptions(stream.options());
    // Its image is field 2, where LocateRequest has its options: when the bytes also parsed as a
    // LocateRequest, field 2 is a valid LocateOptions encoding, not worth decoding again.
    if (!is_locate) geoloc::fuzz::DecodeAndCheck(stream.image());
  }
  geoloc::v1::ExplainRequest explain;
  if (explain.ParseFromArray(data, length)) {
    CheckOptions(explain.options());
    if (explain.target_case() == geoloc::v1::ExplainRequest::kCellToken) {
      CheckCellToken(explain.cell_token());
    }
  }
  return 0;
}
