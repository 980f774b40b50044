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

// LocateOptions from the Locate flags; INVALID_ARGUMENT for values no server accepts (the limits
// of core/engine/locate_params.h and core/geo/estimator_options.h; k is checked against the
// largest limit a server may have, the server checks its own --max_k).
absl::StatusOr<v1::LocateOptions> LocateOptionsFromFlags();

// An estimator on the command line: either name of geo::ParseEstimatorKind's table (1nn, mean,
// weighted_mean, grid_kde, kde, nearest, spherical_kde, in any case), or empty / "default" for
// the server's default (ESTIMATOR_UNSPECIFIED). INVALID_ARGUMENT for anything else.
absl::StatusOr<v1::Estimator> ParseEstimatorName(absl::string_view name);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_CLIENT_FLAGS_H_
