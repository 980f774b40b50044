// TLS and mutual TLS between the client (library and CLI) and the fake server, with a throwaway
// CA and certificates made by the openssl command for this run.
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/geoloc_client.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"

namespace geoloc::client {
namespace {

using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::FakeServerOptions;
using ::geoloc::client::testing::ReadTestFile;
using ::geoloc::client::testing::RunCommand;
using ::geoloc::client::testing::ShellQuote;
using ::testing::HasSubstr;

// openssl settings: a CA, a server certificate for geoloc.test and 127.0.0.1, a client one.
constexpr char kOpensslConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = geoloc test
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:geoloc.test,IP:127.0.0.1
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
)";

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("openssl version >/dev/null 2>&1") != 0) return;
    dir_ = new std::string(testing::MakeTempDir("tls"));
    const std::string& d = *dir_;
    testing::WriteTestFile(d + "/openssl.cnf", kOpensslConfig);
    const std::string cnf = ShellQuote(d + "/openssl.cnf");
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto make_ca = [&](const std::string& name) {
      return absl::StrCat("openssl req -x509 -new ", key, " -keyout ", d, "/", name, ".key -out ",
                          d, "/", name, ".pem -days 2 -config ", cnf,
                          " -extensions ca_ext -subj '/CN=", name, "'");
    };
    auto make_leaf = [&](const std::string& name, const std::string& ext) {
      return absl::StrCat("openssl req -new ", key, " -keyout ", d, "/", name, ".key -out ", d, "/",
                          name, ".csr -config ", cnf, " -subj '/CN=", name,
                          "' && openssl x509 -req -in ", d, "/", name, ".csr -CA ", d,
                          "/ca.pem -CAkey ", d, "/ca.key -CAcreateserial -out ", d, "/", name,
                          ".pem -days 2 -extfile ", cnf, " -extensions ", ext);
    };
    const std::string script = absl::StrCat(
        "(", make_ca("ca"), " && ", make_ca("other_ca"), " && ", make_leaf("server", "server_ext"),
        " && ", make_leaf("client", "client_ext"), ") >", d, "/openssl.log 2>&1");
    certificates_ok_ = std::system(script.c_str()) == 0;
  }

  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "the openssl command is not installed";
    ASSERT_TRUE(certificates_ok_) << "openssl failed:\n" << ReadTestFile(*dir_ + "/openssl.log");
  }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  static std::unique_ptr<FakeServer> StartTlsServer(bool require_client_cert) {
    grpc::SslServerCredentialsOptions ssl(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_root_certs = ReadTestFile(Path("ca.pem"));
    ssl.pem_key_cert_pairs.push_back(
        {ReadTestFile(Path("server.key")), ReadTestFile(Path("server.pem"))});
    FakeServerOptions options;
    options.credentials = grpc::SslServerCredentials(ssl);
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

  static std::string* dir_;
  static bool certificates_ok_;
};

std::string* TlsTest::dir_ = nullptr;
bool TlsTest::certificates_ok_ = false;

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

TEST_F(TlsTest, CliSpeaksTlsAndMutualTls) {
  std::unique_ptr<FakeServer> server = StartTlsServer(/*require_client_cert=*/true);
  ASSERT_NE(server, nullptr);
  const std::string tls =
      absl::StrCat(" --tls --ca_cert=", Path("ca.pem"),
                   " --server_name=geoloc.test --client_cert=", Path("client.pem"),
                   " --client_key=", Path("client.key"));
  testing::CommandResult health =
      RunCommand(testing::CliCommand("health" + tls, server->address()));
  EXPECT_EQ(health.exit_code, kExitOk) << health.err;
  EXPECT_EQ(health.out, "server: SERVING\n");

  const std::string image = Path("photo.jpg");
  testing::WriteTestFile(image, "LATLON 5 6");
  testing::CommandResult locate =
      RunCommand(testing::CliCommand("locate " + image + tls, server->address()));
  EXPECT_EQ(locate.exit_code, kExitOk) << locate.err;
  EXPECT_THAT(locate.out, HasSubstr("5.00000, 6.00000"));

  testing::CommandResult wrong_ca = RunCommand(testing::CliCommand(
      absl::StrCat("health --tls --ca_cert=", Path("other_ca.pem")), server->address()));
  EXPECT_EQ(wrong_ca.exit_code, kExitRpcError);
  EXPECT_THAT(wrong_ca.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(wrong_ca.err, HasSubstr("check --ca_cert and --server_name"));
}

}  // namespace
}  // namespace geoloc::client
