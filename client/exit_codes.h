// Exit codes of the geoloc CLI and geoloc-loadgen, so scripts can tell a bad invocation from a
// server that said no (docs/CLIENT.md lists them).
//
//   if (!response.ok()) return kExitRpcError;
//
//   | code | meaning                                                                        |
//   |------|--------------------------------------------------------------------------------|
//   | 0    | success                                                                        |
//   | 1    | RPC or server error: unreachable server, a gRPC error status, an item that     |
//   |      | failed in a stream, a health check that is not SERVING                         |
//   | 2    | usage error: unknown flag, bad value, missing argument                         |
//   | 3    | local I/O error: unreadable image or certificate, unwritable output file       |
#ifndef GEOLOC_CLIENT_EXIT_CODES_H_
#define GEOLOC_CLIENT_EXIT_CODES_H_

namespace geoloc::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitIoError = 3;

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_EXIT_CODES_H_
