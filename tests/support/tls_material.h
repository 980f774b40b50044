// Throwaway TLS material for tests, made with the openssl command (Debian package `openssl`, in
// tools/packages.txt): EC P-256 keys and certificates valid for two days.
//
//   ScratchDir dir("tls");
//   absl::StatusOr<TlsMaterial> tls = MakeTlsMaterial(dir.path());
//   ASSERT_TRUE(tls.ok()) << tls.status();
//   server_options.cert = tls->server_cert();  client_options.ca_cert_file = tls->ca_cert();
//
//   file                           what
//   ca.pem / ca.key                the CA the tests trust
//   other_ca.pem / other_ca.key    a second CA nobody trusts
//   server.pem / server.key        signed by ca, for DNS:geoloc.test and IP:127.0.0.1
//   client.pem / client.key        signed by ca, for client authentication (mutual TLS)
//   stranger.pem / stranger.key    a client certificate signed by other_ca
//
// Making it runs openssl five times (well under a second): do it once per suite, which
// TlsMaterialTest does for a fixture that derives from it:
//
//   class TlsTest : public TlsMaterialTest {};
//   TEST_F(TlsTest, Handshake) { options.ca_cert_file = tls().ca_cert(); ... }
//
// MakeTlsMaterial leaves the files in `dir`, which the caller owns.
#ifndef GEOLOC_TESTS_SUPPORT_TLS_MATERIAL_H_
#define GEOLOC_TESTS_SUPPORT_TLS_MATERIAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace geoloc::testing {

struct TlsMaterial {
  std::string dir;
  std::string file(const std::string& name) const { return dir + "/" + name; }
  std::string ca_cert() const { return file("ca.pem"); }
  std::string other_ca_cert() const { return file("other_ca.pem"); }
  std::string server_cert() const { return file("server.pem"); }
  std::string server_key() const { return file("server.key"); }
  std::string client_cert() const { return file("client.pem"); }
  std::string client_key() const { return file("client.key"); }
  std::string stranger_cert() const { return file("stranger.pem"); }
  std::string stranger_key() const { return file("stranger.key"); }
};

// Writes the files of the table into the existing directory `dir`. FAILED_PRECONDITION with
// openssl's output when a step fails (or openssl is not installed).
absl::StatusOr<TlsMaterial> MakeTlsMaterial(const std::string& dir);

// A fixture base: SetUpTestSuite makes the material in a scratch directory, TearDownTestSuite
// removes it, SetUp fails each test when it could not be made. A derived suite that needs its own
// SetUpTestSuite calls this one first.
class TlsMaterialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  // Only valid in a test that SetUp let through.
  static const TlsMaterial& tls();
  // OK, or why the material could not be made.
  static absl::Status tls_status();
};

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_TLS_MATERIAL_H_
