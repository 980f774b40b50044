// geolocd's command-line flags (Abseil; `--flagfile=FILE` reads them from a file, which is how the
// Kubernetes ConfigMap passes them) and their translation into a validated ServerConfig.
//
//   absl::ParseCommandLine(argc, argv);
//   GEOLOC_ASSIGN_OR_RETURN(ServerConfig config, ConfigFromFlags());
#ifndef GEOLOC_SERVER_SERVER_FLAGS_H_
#define GEOLOC_SERVER_SERVER_FLAGS_H_

#include "absl/status/statusor.h"
#include "server/server_config.h"

namespace geoloc::server {

// INVALID_ARGUMENT naming the flag when a value is out of range or inconsistent.
absl::StatusOr<ServerConfig> ConfigFromFlags();
// The same checks for a config built in code (tests).
absl::Status ValidateServerConfig(const ServerConfig& config);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_SERVER_FLAGS_H_
