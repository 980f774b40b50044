#include "client/client_flags.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/common/status_macros.h"

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
          "Estimator: 1nn, mean, weighted_mean, grid_kde or kde (empty: server default)");
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

namespace geoloc::client {
namespace {

absl::Status CheckPositive(absl::string_view name, const std::optional<double>& value) {
  if (value.has_value() && !(std::isfinite(*value) && *value > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " must be a positive number"));
  }
  return absl::OkStatus();
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
  if (name == "1nn" || name == "nearest") return v1::ESTIMATOR_NEAREST;
  if (name == "mean") return v1::ESTIMATOR_MEAN;
  if (name == "weighted_mean") return v1::ESTIMATOR_WEIGHTED_MEAN;
  if (name == "grid_kde") return v1::ESTIMATOR_GRID_KDE;
  if (name == "kde" || name == "spherical_kde") return v1::ESTIMATOR_SPHERICAL_KDE;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown estimator '", name, "' (expected 1nn, mean, weighted_mean, grid_kde or kde)"));
}

absl::string_view EstimatorShortName(v1::Estimator estimator) {
  switch (estimator) {
    case v1::ESTIMATOR_NEAREST:
      return "1nn";
    case v1::ESTIMATOR_MEAN:
      return "mean";
    case v1::ESTIMATOR_WEIGHTED_MEAN:
      return "weighted_mean";
    case v1::ESTIMATOR_GRID_KDE:
      return "grid_kde";
    case v1::ESTIMATOR_SPHERICAL_KDE:
      return "kde";
    default:
      return "default";
  }
}

absl::StatusOr<v1::LocateOptions> LocateOptionsFromFlags() {
  v1::LocateOptions options;
  options.set_k(absl::GetFlag(FLAGS_k));
  GEOLOC_ASSIGN_OR_RETURN(v1::Estimator estimator,
                          ParseEstimatorName(absl::GetFlag(FLAGS_estimator)));
  options.set_estimator(estimator);

  const std::optional<double> bandwidth_km = absl::GetFlag(FLAGS_bandwidth_km);
  const std::optional<double> sigma_deg = absl::GetFlag(FLAGS_sigma_deg);
  const std::optional<double> merge_radius_km = absl::GetFlag(FLAGS_merge_radius_km);
  const std::optional<double> weight_exponent = absl::GetFlag(FLAGS_weight_exponent);
  GEOLOC_RETURN_IF_ERROR(CheckPositive("bandwidth_km", bandwidth_km));
  GEOLOC_RETURN_IF_ERROR(CheckPositive("sigma_deg", sigma_deg));
  GEOLOC_RETURN_IF_ERROR(CheckPositive("merge_radius_km", merge_radius_km));
  if (weight_exponent.has_value() && !(std::isfinite(*weight_exponent) && *weight_exponent >= 0)) {
    return absl::InvalidArgumentError("--weight_exponent must be a number >= 0");
  }
  if (bandwidth_km.has_value()) options.set_bandwidth_km(*bandwidth_km);
  if (sigma_deg.has_value()) options.set_sigma_deg(*sigma_deg);
  if (merge_radius_km.has_value()) options.set_merge_radius_km(*merge_radius_km);
  if (weight_exponent.has_value()) options.set_weight_exponent(*weight_exponent);

  options.set_max_peaks(absl::GetFlag(FLAGS_peaks));
  for (const std::string& text : absl::GetFlag(FLAGS_levels)) {
    int level = -1;
    if (!absl::SimpleAtoi(text, &level) || level < 0 || level > 30) {
      return absl::InvalidArgumentError(
          absl::StrCat("--levels: '", text, "' is not an S2 level (an integer in 0..30)"));
    }
    options.add_cell_levels(level);
  }
  options.set_max_cells_per_level(absl::GetFlag(FLAGS_cells_per_level));
  options.set_max_classifier_cells(absl::GetFlag(FLAGS_classifier_cells));
  options.set_return_neighbors(absl::GetFlag(FLAGS_neighbors));
  return options;
}

}  // namespace geoloc::client
