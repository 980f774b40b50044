// Command-line flags shared by the `geoloc` CLI and `geoloc-loadgen`, so both connect, authenticate
// and shape requests the same way. Linking this library defines the flags:
//
//   connection  --server --tls --ca_cert --client_cert --client_key --server_name --deadline_ms
//   tokens      --token_file (else $GEOLOC_TOKEN) --admin_token_file (else $GEOLOC_ADMIN_TOKEN)
//   Locate      --k --estimator --bandwidth_km --weight_exponent --sigma_deg --merge_radius_km
//               --peaks --levels --cells_per_level --classifier_cells --neighbors
//
//   std::vector<char*> args = ParseCommandLineOrExit(argc, argv, "geoloc", kUsage);
//   GEOLOC_ASSIGN_OR_RETURN(ClientOptions options, ClientOptionsFromFlags());
//
// Tokens are read from files or the environment only: a token on the command line would show in
// process listings. Functions read global flags: call them after parsing, from one thread.
#ifndef GEOLOC_CLIENT_CLIENT_FLAGS_H_
#define GEOLOC_CLIENT_CLIENT_FLAGS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/geoloc_client.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::client {

inline constexpr char kTokenEnvVar[] = "GEOLOC_TOKEN";
inline constexpr char kAdminTokenEnvVar[] = "GEOLOC_ADMIN_TOKEN";

// ClientOptions from the connection and token flags (token files read, environment consulted).
// INVALID_ARGUMENT for inconsistent flags; the token file's error when it cannot be read.
absl::StatusOr<ClientOptions> ClientOptionsFromFlags();

// LocateOptions from the Locate flags; INVALID_ARGUMENT for out-of-range values.
absl::StatusOr<v1::LocateOptions> LocateOptionsFromFlags();

// Estimator names on the command line: 1nn, mean, weighted_mean, grid_kde, kde (also
// spherical_kde and default). INVALID_ARGUMENT for anything else.
absl::StatusOr<v1::Estimator> ParseEstimatorName(absl::string_view name);
// The short name ParseEstimatorName accepts ("kde" for ESTIMATOR_SPHERICAL_KDE, "default").
absl::string_view EstimatorShortName(v1::Estimator estimator);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_CLIENT_FLAGS_H_
