// An in-process stand-in for geolocd: geoloc.v1.Geolocator and IndexAdmin with canned but
// request-dependent answers, and grpc.health.v1.Health (gRPC's own implementation), on a port
// chosen by the kernel on 127.0.0.1.
//
//   std::unique_ptr<FakeServer> server = FakeServer::Start({});
//   ClientOptions options;
//   options.target = server->address();
//   options.token = FakeServer::kToken;
//
// The "image" bytes are text telling the fake what to answer (it decodes nothing):
//
//   | image bytes                     | answer                                               |
//   |---------------------------------|------------------------------------------------------|
//   | "LATLON <lat> <lon>"            | peaks, cells, neighbours around (lat, lon)           |
//   | "LATLON <lat> <lon> classifier" | the same plus classifier estimate and cells (fused)  |
//   | "BAD..."                        | INVALID_ARGUMENT "cannot decode image: ..."          |
//   | "CODE <n> <message>"            | status n with <message>                              |
//   | "SLOW"                          | waits until the caller gives up (deadline/cancel)    |
//   | anything else                   | a location derived from the bytes' hash              |
//
// Options shape the answer: max_peaks (default 3) peaks at 0.01 degree steps north, cell_levels
// (default {10}) x max_cells_per_level (default 2) cells, k neighbours (default 5) when
// return_neighbors, polygons when return_cell_polygons (squares of 0.1 degree half-side, a ring
// around the pole above 89 degrees), the estimator echoed (SPHERICAL_KDE when unset).
//
// Geolocator calls need "authorization: Bearer <kToken>", IndexAdmin calls "Bearer
// <kAdminToken>": missing is UNAUTHENTICATED, wrong is PERMISSION_DENIED. LocateStream answers
// items in batches of `stream_batch` (in reverse order within a batch, so responses arrive out of
// order), a short batch when the client half-closes. Thread-safe; the destructor shuts down.
#ifndef GEOLOC_TESTS_CLIENT_FAKE_SERVER_H_
#define GEOLOC_TESTS_CLIENT_FAKE_SERVER_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "geoloc/v1/geoloc.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "tests/support/tls_material.h"

namespace geoloc::client::testing {

// A valid 1x1 PNG, the fake's Grad-CAM overlay.
extern const char kFakePng[];
extern const size_t kFakePngSize;

struct FakeServerOptions {
  std::shared_ptr<grpc::ServerCredentials> credentials;  // null: insecure
  int stream_batch = 1;
};

class FakeServer {
 public:
  static constexpr char kToken[] = "test-token";
  static constexpr char kAdminToken[] = "admin-token";
  static constexpr char kModelVersion[] = "fake-model@0123abcd";
  static constexpr char kBundleVersion[] = "fake-bundle-v1";

  static std::unique_ptr<FakeServer> Start(const FakeServerOptions& options);
  ~FakeServer();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // Sets the health status of `service` ("" = the whole server).
  void SetServing(const std::string& service, bool serving);

  // The authorization header last seen by a method ("Locate", "GetStatus", ...); "<none>" when
  // the call had none, "" when the method was never called.
  std::string last_authorization(const std::string& method) const;
  // Most LocateStream items read but not yet answered at any moment.
  int max_stream_outstanding() const { return max_stream_outstanding_.load(); }
  int64_t locate_calls() const { return locate_calls_.load(); }

  class Impl;

 private:
  FakeServer() = default;

  std::unique_ptr<Impl> impl_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<int> max_stream_outstanding_{0};
  std::atomic<int64_t> locate_calls_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::string> authorization_;

  friend class Impl;
};

// Credentials for a FakeServer that speaks TLS with `tls`'s server certificate (geoloc.test and
// 127.0.0.1) and, with `require_client_cert`, serves only clients whose certificate `tls`'s CA
// signed (mutual TLS).
std::shared_ptr<grpc::ServerCredentials> TlsServerCredentials(
    const ::geoloc::testing::TlsMaterial& tls, bool require_client_cert);

}  // namespace geoloc::client::testing

#endif  // GEOLOC_TESTS_CLIENT_FAKE_SERVER_H_
