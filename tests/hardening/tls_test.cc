// TLS and mutual TLS on a real geolocd (--tls_cert/--tls_key, --tls_client_ca), through the
// client library and the `geoloc` CLI. A throwaway CA, a second (untrusted) CA and their
// certificates are made for this run (tests/support/tls_material.h).
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"
#include "tests/support/tls_material.h"

namespace geoloc::hardening {
namespace {

using absl::StatusCode;

// The CLI's stdout and stderr together, as a user sees them.
CommandResult RunMerged(const std::string& command) {
  return RunCommand(command, Stderr::kMerged);
}

class TlsTest : public testing::TlsMaterialTest {
 protected:
  static void SetUpTestSuite() {
    TlsMaterialTest::SetUpTestSuite();
    if (!tls_status().ok()) return;  // SetUp reports it
    const Fixture fixture = testing::GetFixture();
    const std::vector<std::string> tls = {"--tls_cert=" + TlsMaterialTest::tls().server_cert(),
                                          "--tls_key=" + TlsMaterialTest::tls().server_key()};
    tls_server_ = new ServerProcess(HardeningFlags(fixture, tls));
    std::vector<std::string> mtls = tls;
    mtls.push_back("--tls_client_ca=" + TlsMaterialTest::tls().ca_cert());
    mtls_server_ = new ServerProcess(HardeningFlags(fixture, mtls));
    // ServerProcess's own readiness check speaks plaintext: wait for the port only, then for
    // SERVING over TLS. Both load at the same time.
    tls_status_ = new absl::Status(tls_server_->Start(/*wait_serving=*/false));
    mtls_status_ = new absl::Status(mtls_server_->Start(/*wait_serving=*/false));
    if (tls_status_->ok()) *tls_status_ = WaitServing(*tls_server_, false);
    if (mtls_status_->ok()) *mtls_status_ = WaitServing(*mtls_server_, true);
  }
  static void TearDownTestSuite() {
    delete tls_server_;
    delete mtls_server_;
    delete tls_status_;
    delete mtls_status_;
    tls_server_ = mtls_server_ = nullptr;
    tls_status_ = mtls_status_ = nullptr;
    TlsMaterialTest::TearDownTestSuite();
  }
  void SetUp() override {
    TlsMaterialTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(tls_status_->ok()) << *tls_status_ << "\n" << tls_server_->Log();
    ASSERT_TRUE(mtls_status_->ok()) << *mtls_status_ << "\n" << mtls_server_->Log();
    image_ = GoodImage(testing::GetFixture());
  }

  static std::string Path(const std::string& name) { return TlsMaterialTest::tls().file(name); }

  static client::ClientOptions TlsOptions(bool client_certificate) {
    client::ClientOptions options;
    options.use_tls = true;
    options.ca_cert_file = Path("ca.pem");
    if (client_certificate) {
      options.client_cert_file = Path("client.pem");
      options.client_key_file = Path("client.key");
    }
    return options;
  }

  static absl::Status WaitServing(const ServerProcess& server, bool mutual) {
    std::unique_ptr<client::Client> c = server.NewClient(TlsOptions(mutual));
    if (c == nullptr) return absl::InternalError("cannot make a TLS client");
    absl::Status last;
    const bool serving = WaitUntil(
        [&] {
          auto health = c->Health("", {absl::Seconds(5), false});
          last = health.status();
          return health.ok() && *health == client::ServingStatus::kServing;
        },
        absl::Seconds(120));
    return serving ? absl::OkStatus()
                   : absl::DeadlineExceededError(absl::StrCat("not SERVING over TLS: ",
                                                              last.ToString()));
  }

  absl::Status LocateOver(const ServerProcess& server, const client::ClientOptions& options) {
    std::unique_ptr<client::Client> c = server.NewClient(options);
    if (c == nullptr) return absl::InternalError("Client::Connect refused the options");
    v1::LocateRequest request;
    request.set_image(image_);
    return c->Locate(request, {absl::Seconds(30), false}).status();
  }

  static ServerProcess* tls_server_;
  static ServerProcess* mtls_server_;
  static absl::Status* tls_status_;
  static absl::Status* mtls_status_;
  std::string image_;
};

ServerProcess* TlsTest::tls_server_ = nullptr;
ServerProcess* TlsTest::mtls_server_ = nullptr;
absl::Status* TlsTest::tls_status_ = nullptr;
absl::Status* TlsTest::mtls_status_ = nullptr;

TEST_F(TlsTest, ClientsTrustingTheCaAreServed) {
  client::ClientOptions options = TlsOptions(false);
  EXPECT_TRUE(LocateOver(*tls_server_, options).ok());  // IP SAN 127.0.0.1
  options.server_name_override = "geoloc.test";          // DNS SAN
  EXPECT_TRUE(LocateOver(*tls_server_, options).ok());
  auto status = tls_server_->NewClient(options)->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->serving());
  EXPECT_TRUE(absl::StrContains(tls_server_->Log(), "(TLS)")) << tls_server_->Log();
}

TEST_F(TlsTest, PlaintextAndUntrustingClientsAreRefused) {
  client::ClientOptions plaintext;
  EXPECT_EQ(LocateOver(*tls_server_, plaintext).code(), StatusCode::kUnavailable);
  client::ClientOptions wrong_ca = TlsOptions(false);
  wrong_ca.ca_cert_file = Path("other_ca.pem");
  EXPECT_EQ(LocateOver(*tls_server_, wrong_ca).code(), StatusCode::kUnavailable);
  client::ClientOptions wrong_name = TlsOptions(false);
  wrong_name.server_name_override = "impostor.test";
  EXPECT_EQ(LocateOver(*tls_server_, wrong_name).code(), StatusCode::kUnavailable);
  // The refused handshakes did not hurt the server.
  EXPECT_TRUE(tls_server_->Running());
  EXPECT_TRUE(LocateOver(*tls_server_, TlsOptions(false)).ok());
}

TEST_F(TlsTest, MutualTlsServesOnlyCertificatesFromItsCa) {
  EXPECT_TRUE(LocateOver(*mtls_server_, TlsOptions(true)).ok());
  EXPECT_FALSE(LocateOver(*mtls_server_, TlsOptions(false)).ok())
      << "a client without a certificate was served";
  client::ClientOptions stranger = TlsOptions(false);
  stranger.client_cert_file = Path("stranger.pem");  // signed by the untrusted CA
  stranger.client_key_file = Path("stranger.key");
  EXPECT_FALSE(LocateOver(*mtls_server_, stranger).ok())
      << "a certificate from another CA was accepted";
  EXPECT_EQ(LocateOver(*mtls_server_, client::ClientOptions()).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(mtls_server_->Log(), "(mTLS)")) << mtls_server_->Log();
  EXPECT_TRUE(LocateOver(*mtls_server_, TlsOptions(true)).ok());
}

TEST_F(TlsTest, CliSpeaksTlsAndMutualTls) {
  ScratchDir photos("tls-cli");
  const std::string photo = photos.file("photo.jpg");
  WriteFileAtomic(photo, image_);
  const std::string tls = absl::StrCat(" --tls --ca_cert=", ShellQuote(Path("ca.pem")));
  const std::string mtls = absl::StrCat(tls, " --client_cert=", ShellQuote(Path("client.pem")),
                                        " --client_key=", ShellQuote(Path("client.key")));
  const std::string tls_target = tls_server_->target();
  const std::string mtls_target = mtls_server_->target();

  CommandResult health = RunMerged(CliCommand("health" + tls, tls_target));
  EXPECT_EQ(health.exit_code, 0) << health.out;
  EXPECT_TRUE(absl::StrContains(health.out, "SERVING")) << health.out;
  CommandResult status = RunMerged(CliCommand("status" + tls, tls_target));
  EXPECT_EQ(status.exit_code, 0) << status.out;
  CommandResult locate =
      RunMerged(CliCommand("locate " + ShellQuote(photo) + tls + " --server_name=geoloc.test",
                            tls_target));
  EXPECT_EQ(locate.exit_code, 0) << locate.out;
  EXPECT_TRUE(absl::StrContains(locate.out, "bundle v1-")) << locate.out;

  CommandResult mutual = RunMerged(CliCommand("locate " + ShellQuote(photo) + mtls, mtls_target));
  EXPECT_EQ(mutual.exit_code, 0) << mutual.out;
  CommandResult mutual_health = RunMerged(CliCommand("health" + mtls, mtls_target));
  EXPECT_EQ(mutual_health.exit_code, 0) << mutual_health.out;

  // Refusals exit 1 (an RPC error), never 0.
  for (const auto& [what, command] : std::vector<std::pair<std::string, std::string>>{
           {"plaintext to TLS", CliCommand("health", tls_target)},
           {"untrusted CA", CliCommand("health --tls --ca_cert=" + ShellQuote(Path("other_ca.pem")),
                                       tls_target)},
           {"no client certificate", CliCommand("locate " + ShellQuote(photo) + tls, mtls_target)},
       }) {
    CommandResult refused = RunMerged(command);
    EXPECT_EQ(refused.exit_code, 1) << what << ":\n" << refused.out;
  }
}

}  // namespace
}  // namespace geoloc::hardening
