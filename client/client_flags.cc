#include "client/client_flags.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/common/option_range.h"
#include "core/common/status_macros.h"
#include "core/engine/locate_params.h"
#include "core/geo/estimator_options.h"
#include "core/geo/search_area.h"
#include "proto/estimator_mapping.h"
#include "proto/search_area_mapping.h"

ABSL_FLAG(std::string, server, "localhost:50051", "geolocd address, host:port (any gRPC target)");
ABSL_FLAG(bool, tls, false, "Connect with TLS (system roots unless --ca_cert)");
ABSL_FLAG(std::string, ca_cert, "", "PEM file of the CA that signed the server's certificate");
ABSL_FLAG(std::string, client_cert, "", "PEM client certificate chain for mutual TLS");
ABSL_FLAG(std::string, client_key, "", "PEM private key of --client_cert");
ABSL_FLAG(std::string, server_name, "",
          "Name to verify the server certificate against (when --server is an IP or a tunnel)");
ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token for Locate/Explain/stream (else $GEOLOC_TOKEN)");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the admin bearer token for status/swap-index (else $GEOLOC_ADMIN_TOKEN)");
ABSL_FLAG(int64_t, deadline_ms, 30000, "Deadline of each call, milliseconds");

ABSL_FLAG(uint32_t, k, 0, "Neighbours to retrieve (0: server default)");
ABSL_FLAG(std::string, estimator, "",
          absl::StrCat("Estimator: ", geoloc::geo::EstimatorNameList(),
                       " (empty: the server's default)"));
ABSL_FLAG(std::optional<double>, bandwidth_km, std::nullopt, "Spherical KDE bandwidth, km");
ABSL_FLAG(std::optional<double>, weight_exponent, std::nullopt,
          "Weight exponent m in (cos+1)^m or (1/d)^m");
ABSL_FLAG(std::optional<double>, sigma_deg, std::nullopt, "Grid KDE sigma, degrees");
ABSL_FLAG(std::optional<double>, merge_radius_km, std::nullopt,
          "Spherical KDE: merge peaks closer than this, km");
ABSL_FLAG(uint32_t, peaks, 0, "Peaks to return (0: server default)");
ABSL_FLAG(std::vector<std::string>, levels, {},
          "S2 levels for cell confidences, comma-separated, e.g. 10,13 (empty: server default)");
ABSL_FLAG(uint32_t, cells_per_level, 0, "Cells per level to return (0: server default)");
ABSL_FLAG(uint32_t, classifier_cells, 0, "Classifier cells to return (0: server default)");
ABSL_FLAG(bool, neighbors, false, "Return and print the retrieved neighbours");
ABSL_FLAG(std::string, area_circle, "",
          "Search area: a circle 'lat,lng,radius_km' (docs/SERVER.md, Search areas)");
ABSL_FLAG(std::string, area_polygon, "",
          "Search area: a polygon 'lat,lng;lat,lng;lat,lng;...' (at least 3 vertices, not closed, "
          "either orientation: the smaller region is meant)");
ABSL_FLAG(std::vector<std::string>, area_cells, {},
          "Search area: S2 cell tokens, comma-separated (their union)");
ABSL_FLAG(std::string, area_mode, "hard",
          "hard (search only database photos inside the area) or soft (a prior: 95% of it "
          "within the circle's radius; circles only)");

namespace geoloc::client {
namespace {

// Sets an option from a flag the user set (a value), checked against the limit the engine
// declares for it; an unset flag leaves the server's default.
template <typename T, typename Range>
absl::Status SetChecked(absl::string_view flag, std::optional<T> value, const Range& range,
                        void (v1::LocateOptions::*set)(T), v1::LocateOptions* options) {
  if (!value.has_value()) return absl::OkStatus();
  if (absl::Status st = CheckRange(range, *value); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", st.message()));
  }
  (options->*set)(*value);
  return absl::OkStatus();
}

// `count` comma-separated numbers ("lat,lng" or "lat,lng,km") into `out`; `flag` names the flag.
absl::Status ParseNumbers(absl::string_view flag, absl::string_view text, size_t count,
                          std::vector<double>* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  out->clear();
  for (absl::string_view part : parts) {
    double v = 0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(part), &v)) {
      out->clear();
      break;
    }
    out->push_back(v);
  }
  if (out->size() != count) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", text, "' is not ", count, " comma-separated numbers"));
  }
  return absl::OkStatus();
}

// The --area_* flags as a search area (no shape: no flag set); INVALID_ARGUMENT for a malformed
// flag, two shapes, or a value outside geo::ValidateSearchAreaValues' limits.
absl::StatusOr<geo::SearchArea> AreaFromFlags() {
  geo::SearchArea area;
  const std::string circle = absl::GetFlag(FLAGS_area_circle);
  const std::string polygon = absl::GetFlag(FLAGS_area_polygon);
  const std::vector<std::string> cells = absl::GetFlag(FLAGS_area_cells);
  const int shapes = !circle.empty() + !polygon.empty() + !cells.empty();
  if (shapes > 1) {
    return absl::InvalidArgumentError(
        "--area_circle, --area_polygon and --area_cells: give at most one");
  }
  std::vector<double> numbers;
  if (!circle.empty()) {
    GEOLOC_RETURN_IF_ERROR(ParseNumbers("area_circle", circle, 3, &numbers));
    area.shape = geo::SearchArea::Shape::kCircle;
    area.center = {numbers[0], numbers[1]};
    area.radius_km = numbers[2];
  } else if (!polygon.empty()) {
    area.shape = geo::SearchArea::Shape::kPolygon;
    for (absl::string_view vertex : absl::StrSplit(polygon, ';', absl::SkipWhitespace())) {
      GEOLOC_RETURN_IF_ERROR(ParseNumbers("area_polygon", vertex, 2, &numbers));
      area.polygon.push_back({numbers[0], numbers[1]});
    }
  } else if (!cells.empty()) {
    area.shape = geo::SearchArea::Shape::kCells;
    area.cell_tokens = cells;
  }
  const std::string mode = absl::GetFlag(FLAGS_area_mode);
  if (mode == "soft") {
    area.mode = geo::AreaMode::kSoft;
  } else if (mode != "hard") {
    return absl::InvalidArgumentError(
        absl::StrCat("--area_mode: '", mode, "' is not hard or soft"));
  }
  if (absl::Status st = geo::ValidateSearchAreaValues(area); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--area_*: ", st.message()));
  }
  return area;
}

// Count flags: 0 means "the server's default".
std::optional<uint32_t> Count(uint32_t value) {
  return value == 0 ? std::nullopt : std::optional<uint32_t>(value);
}

}  // namespace

absl::StatusOr<ClientOptions> ClientOptionsFromFlags() {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.use_tls = absl::GetFlag(FLAGS_tls);
  options.ca_cert_file = absl::GetFlag(FLAGS_ca_cert);
  options.client_cert_file = absl::GetFlag(FLAGS_client_cert);
  options.client_key_file = absl::GetFlag(FLAGS_client_key);
  options.server_name_override = absl::GetFlag(FLAGS_server_name);
  const int64_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (deadline_ms <= 0) return absl::InvalidArgumentError("--deadline_ms must be positive");
  options.default_deadline = absl::Milliseconds(deadline_ms);
  GEOLOC_ASSIGN_OR_RETURN(options.token, LoadToken(absl::GetFlag(FLAGS_token_file), kTokenEnvVar));
  GEOLOC_ASSIGN_OR_RETURN(options.admin_token,
                          LoadToken(absl::GetFlag(FLAGS_admin_token_file), kAdminTokenEnvVar));
  return options;
}

absl::StatusOr<v1::Estimator> ParseEstimatorName(absl::string_view name) {
  if (name.empty() || name == "default") return v1::ESTIMATOR_UNSPECIFIED;
  GEOLOC_ASSIGN_OR_RETURN(geo::EstimatorKind kind, geo::ParseEstimatorKind(name));
  return api::EstimatorToProto(kind);
}

absl::StatusOr<v1::LocateOptions> LocateOptionsFromFlags() {
  using O = v1::LocateOptions;
  O options;
  GEOLOC_RETURN_IF_ERROR(SetChecked("k", Count(absl::GetFlag(FLAGS_k)),
                                    IntRange{"k", 1, engine::kMaxK}, &O::set_k, &options));
  GEOLOC_ASSIGN_OR_RETURN(v1::Estimator estimator,
                          ParseEstimatorName(absl::GetFlag(FLAGS_estimator)));
  options.set_estimator(estimator);
  GEOLOC_RETURN_IF_ERROR(SetChecked("bandwidth_km", absl::GetFlag(FLAGS_bandwidth_km),
                                    geo::kBandwidthKmRange, &O::set_bandwidth_km, &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked("sigma_deg", absl::GetFlag(FLAGS_sigma_deg),
                                    geo::kSigmaDegRange, &O::set_sigma_deg, &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked("merge_radius_km", absl::GetFlag(FLAGS_merge_radius_km),
                                    geo::kMergeRadiusKmRange, &O::set_merge_radius_km, &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked("weight_exponent", absl::GetFlag(FLAGS_weight_exponent),
                                    geo::kWeightExponentRange, &O::set_weight_exponent, &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked("peaks", Count(absl::GetFlag(FLAGS_peaks)),
                                    engine::kMaxPeaksRange, &O::set_max_peaks, &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked("cells_per_level", Count(absl::GetFlag(FLAGS_cells_per_level)),
                                    engine::kMaxCellsPerLevelRange, &O::set_max_cells_per_level,
                                    &options));
  GEOLOC_RETURN_IF_ERROR(SetChecked(
      "classifier_cells", Count(absl::GetFlag(FLAGS_classifier_cells)),
      engine::kMaxClassifierCellsRange, &O::set_max_classifier_cells, &options));

  const std::vector<std::string> levels = absl::GetFlag(FLAGS_levels);
  if (levels.size() > static_cast<size_t>(engine::kMaxCellLevels)) {
    return absl::InvalidArgumentError(absl::StrCat("--levels: ", levels.size(), " levels (at most ",
                                                   engine::kMaxCellLevels, ")"));
  }
  for (const std::string& text : levels) {
    int level = -1;
    if (!absl::SimpleAtoi(text, &level) || !InRange(engine::kCellLevelRange, level)) {
      return absl::InvalidArgumentError(absl::StrCat("--levels: '", text,
                                                     "' is not an S2 level (an integer in ",
                                                     DescribeRange(engine::kCellLevelRange), ")"));
    }
    options.add_cell_levels(level);
  }
  options.set_return_neighbors(absl::GetFlag(FLAGS_neighbors));
  GEOLOC_ASSIGN_OR_RETURN(geo::SearchArea area, AreaFromFlags());
  if (!area.empty()) *options.mutable_area() = api::SearchAreaToProto(area);
  return options;
}

}  // namespace geoloc::client
