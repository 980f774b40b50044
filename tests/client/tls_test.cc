// TLS and mutual TLS between the client library and the fake server, with a throwaway CA and
// certificates made for this run (tests/support/tls_material.h). The CLI's TLS flags are tested
// with the rest of the CLI (geoloc_cli_test.cc).
#include <memory>
#include <string>

#include "client/geoloc_client.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/support/tls_material.h"

namespace geoloc::client {
namespace {

using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::FakeServerOptions;

class TlsTest : public ::geoloc::testing::TlsMaterialTest {
 protected:
  static std::string Path(const std::string& name) { return tls().file(name); }

  static std::unique_ptr<FakeServer> StartTlsServer(bool require_client_cert) {
    FakeServerOptions options;
    options.credentials = testing::TlsServerCredentials(tls(), require_client_cert);
    return FakeServer::Start(options);
  }

  static absl::StatusOr<v1::LocateResponse> LocateOver(const ClientOptions& options) {
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    if (!client.ok()) return client.status();
    v1::LocateRequest request;
    request.set_image("LATLON 1 2");
    CallOptions call;
    call.deadline = absl::Seconds(10);
    return (*client)->Locate(request, call);
  }

  static ClientOptions TlsOptions(const FakeServer& server) {
    ClientOptions options;
    options.target = server.address();
    options.use_tls = true;
    options.ca_cert_file = Path("ca.pem");
    options.token = FakeServer::kToken;
    return options;
  }

};

TEST_F(TlsTest, TlsWithTheRightCaWorks) {
  std::unique_ptr<FakeServer> server = StartTlsServer(/*require_client_cert=*/false);
  ASSERT_NE(server, nullptr);
  ClientOptions options = TlsOptions(*server);
  absl::StatusOr<v1::LocateResponse> by_ip = LocateOver(options);  // IP SAN 127.0.0.1
  EXPECT_TRUE(by_ip.ok()) << by_ip.status();
  options.server_name_override = "geoloc.test";  // DNS SAN
  absl::StatusOr<v1::LocateResponse> by_name = LocateOver(options);
  EXPECT_TRUE(by_name.ok()) << by_name.status();
}

TEST_F(TlsTest, WrongCaOrNameFails) {
  std::unique_ptr<FakeServer> server = StartTlsServer(false);
  ASSERT_NE(server, nullptr);
  ClientOptions options = TlsOptions(*server);
  options.ca_cert_file = Path("other_ca.pem");
  EXPECT_EQ(LocateOver(options).status().code(), absl::StatusCode::kUnavailable);

  options = TlsOptions(*server);
  options.server_name_override = "impostor.test";
  EXPECT_EQ(LocateOver(options).status().code(), absl::StatusCode::kUnavailable);

  ClientOptions plaintext;
  plaintext.target = server->address();
  plaintext.token = FakeServer::kToken;
  EXPECT_EQ(LocateOver(plaintext).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MutualTlsNeedsTheClientCertificate) {
  std::unique_ptr<FakeServer> server = StartTlsServer(/*require_client_cert=*/true);
  ASSERT_NE(server, nullptr);
  ClientOptions options = TlsOptions(*server);
  EXPECT_FALSE(LocateOver(options).ok()) << "the server must refuse a client without certificate";

  options.client_cert_file = Path("client.pem");
  options.client_key_file = Path("client.key");
  absl::StatusOr<v1::LocateResponse> response = LocateOver(options);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->best().location().longitude(), 2);
}

}  // namespace
}  // namespace geoloc::client
