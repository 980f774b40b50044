#include "tests/support/tls_material.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::testing {
namespace {

// openssl settings: the CA's, the server's (geoloc.test and 127.0.0.1) and the clients'.
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

// The suite's material, made by SetUpTestSuite (suites run one after another).
ScratchDir* suite_dir = nullptr;
absl::StatusOr<TlsMaterial>* suite_tls = nullptr;

}  // namespace

absl::StatusOr<TlsMaterial> MakeTlsMaterial(const std::string& dir) {
  TlsMaterial tls{dir};
  WriteTestFile(tls.file("openssl.cnf"), kOpensslConfig);
  const std::string cnf = ShellQuote(tls.file("openssl.cnf"));
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto path = [&](const std::string& name) { return ShellQuote(tls.file(name)); };
  auto make_ca = [&](const std::string& name) {
    return absl::StrCat("openssl req -x509 -new ", key, " -keyout ", path(name + ".key"),
                        " -out ", path(name + ".pem"), " -days 2 -config ", cnf,
                        " -extensions ca_ext -subj '/CN=", name, "'");
  };
  auto make_leaf = [&](const std::string& name, const std::string& ca, const std::string& ext) {
    return absl::StrCat("openssl req -new ", key, " -keyout ", path(name + ".key"), " -out ",
                        path(name + ".csr"), " -config ", cnf, " -subj '/CN=", name,
                        "' && openssl x509 -req -in ", path(name + ".csr"), " -CA ",
                        path(ca + ".pem"), " -CAkey ", path(ca + ".key"),
                        " -CAcreateserial -out ", path(name + ".pem"), " -days 2 -extfile ", cnf,
                        " -extensions ", ext);
  };
  const CommandResult run = RunCommand(
      absl::StrCat(make_ca("ca"), " && ", make_ca("other_ca"), " && ",
                   make_leaf("server", "ca", "server_ext"), " && ",
                   make_leaf("client", "ca", "client_ext"), " && ",
                   make_leaf("stranger", "other_ca", "client_ext")),
      Stderr::kMerged);
  if (run.exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("openssl could not make the test certificates (exit ", run.exit_code,
                     "):\n", run.out));
  }
  return tls;
}

void TlsMaterialTest::SetUpTestSuite() {
  TearDownTestSuite();
  suite_dir = new ScratchDir("tls");
  suite_tls = new absl::StatusOr<TlsMaterial>(MakeTlsMaterial(suite_dir->path()));
}

void TlsMaterialTest::TearDownTestSuite() {
  delete suite_tls;
  suite_tls = nullptr;
  delete suite_dir;
  suite_dir = nullptr;
}

void TlsMaterialTest::SetUp() { ASSERT_TRUE(tls_status().ok()) << tls_status(); }

const TlsMaterial& TlsMaterialTest::tls() { return **suite_tls; }

absl::Status TlsMaterialTest::tls_status() {
  if (suite_tls == nullptr) return absl::FailedPreconditionError("SetUpTestSuite did not run");
  return suite_tls->status();
}

}  // namespace geoloc::testing
