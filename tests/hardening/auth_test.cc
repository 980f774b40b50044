// Access control of a real geolocd: bearer tokens for Geolocator and IndexAdmin (files and the
// environment, several valid at once, reloaded on SIGHUP) and SwapIndex's path policy.
//
// What is asserted (server/auth.h, docs/SECURITY.md):
//   | caller sends                         | Geolocator        | IndexAdmin                    |
//   |--------------------------------------|-------------------|-------------------------------|
//   | nothing                              | UNAUTHENTICATED   | UNAUTHENTICATED               |
//   | a malformed header ("Basic ...")     | UNAUTHENTICATED   | UNAUTHENTICATED               |
//   | an unknown token                     | PERMISSION_DENIED | PERMISSION_DENIED             |
//   | any client token (rotation: 2 valid) | OK                | PERMISSION_DENIED             |
//   | the admin token                      | PERMISSION_DENIED | OK                            |
//   | anything, client tokens but no admin | (as above)        | PERMISSION_DENIED ("disabled")|
//     token configured                     |                   |                               |
// The admin token is for IndexAdmin only: it is not a client token. Health needs no token.
#include <signal.h>

#include <filesystem>
#include <optional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"

namespace geoloc::hardening {
namespace {
namespace fs = std::filesystem;
using absl::StatusCode;

constexpr char kClientTokenA[] = "client-token-a-7f3c9e";
constexpr char kClientTokenB[] = "client-token-b-1d82aa";  // the second token of a rotation
constexpr char kAdminToken[] = "admin-token-4be017";
constexpr char kEnvToken[] = "env-token-99c2";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = testing::GetFixture();
    image_ = GoodImage(fixture_);
  }

  std::unique_ptr<client::Client> Client(const ServerProcess& server, const std::string& token,
                                         const std::string& admin_token = "") const {
    client::ClientOptions options;
    options.token = token;
    options.admin_token = admin_token;
    return server.NewClient(options);
  }
  StatusCode LocateCode(const ServerProcess& server, const std::string& token) const {
    v1::LocateRequest request;
    request.set_image(image_);
    return Client(server, token)->Locate(request).status().code();
  }
  StatusCode ExplainCode(const ServerProcess& server, const std::string& token) const {
    v1::ExplainRequest request;
    request.set_image(image_);
    request.set_return_overlay(false);
    return Client(server, token)->Explain(request).status().code();
  }
  StatusCode StreamCode(const ServerProcess& server, const std::string& token) const {
    bool sent = false;
    auto summary = Client(server, token)->LocateStream(
        [&]() -> std::optional<v1::LocateStreamRequest> {
          if (sent) return std::nullopt;
          sent = true;
          v1::LocateStreamRequest item;
          item.set_item_id("one");
          item.set_image(image_);
          return item;
        },
        [](const v1::LocateStreamResponse&) {}, client::StreamOptions{1, absl::Seconds(60), false});
    return summary.status().code();
  }
  StatusCode StatusCodeOf(const ServerProcess& server, const std::string& admin_token) const {
    return Client(server, "", admin_token)->GetStatus().status().code();
  }
  // A Locate with a raw `authorization` header the client library would not send.
  StatusCode RawLocateCode(const ServerProcess& server, const std::string& header) const {
    auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
    auto stub = v1::Geolocator::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    context.AddMetadata("authorization", header);
    v1::LocateRequest request;
    request.set_image(image_);
    v1::LocateResponse response;
    return static_cast<StatusCode>(stub->Locate(&context, request, &response).error_code());
  }

  Fixture fixture_;
  std::string image_;
};

TEST_F(AuthTest, TokenFilesGateEachServiceAndSighupRotatesThem) {
  ScratchDir dir("auth");
  const std::string client_tokens = dir.file("client-tokens");
  const std::string admin_tokens = dir.file("admin-tokens");
  WriteFileAtomic(client_tokens,
                  absl::StrCat("# rotation: both valid\n", kClientTokenA, "\n\n", kClientTokenB,
                               "\n"));
  WriteFileAtomic(admin_tokens, absl::StrCat(kAdminToken, "\n"));
  // A token in the environment is ignored when a file is given: the file wins.
  ServerProcess server(HardeningFlags(fixture_, {"--token_file=" + client_tokens,
                                                 "--admin_token_file=" + admin_tokens}),
                       {{"GEOLOC_TOKEN", kEnvToken}});
  ASSERT_TRUE(server.Start().ok()) << server.Log();  // Health needs no token

  // Geolocator: every method checks the token.
  EXPECT_EQ(LocateCode(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(LocateCode(server, "wrong-token"), StatusCode::kPermissionDenied);
  EXPECT_EQ(LocateCode(server, kClientTokenA), StatusCode::kOk);
  EXPECT_EQ(LocateCode(server, kClientTokenB), StatusCode::kOk);
  EXPECT_EQ(LocateCode(server, kAdminToken), StatusCode::kPermissionDenied)
      << "the admin token is not a client token";
  EXPECT_EQ(LocateCode(server, kEnvToken), StatusCode::kPermissionDenied)
      << "--token_file takes precedence over $GEOLOC_TOKEN";
  EXPECT_EQ(ExplainCode(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(ExplainCode(server, "wrong-token"), StatusCode::kPermissionDenied);
  EXPECT_EQ(ExplainCode(server, kClientTokenB), StatusCode::kOk);
  EXPECT_EQ(StreamCode(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(StreamCode(server, "wrong-token"), StatusCode::kPermissionDenied);
  EXPECT_EQ(StreamCode(server, kClientTokenA), StatusCode::kOk);
  EXPECT_EQ(RawLocateCode(server, absl::StrCat("Basic ", kClientTokenA)),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(RawLocateCode(server, "Bearer"), StatusCode::kUnauthenticated);
  EXPECT_EQ(RawLocateCode(server, absl::StrCat("bearer ", kClientTokenA)), StatusCode::kOk)
      << "the scheme is case-insensitive (RFC 7235)";
  EXPECT_EQ(RawLocateCode(server, absl::StrCat("Bearer ", kClientTokenA, "x")),
            StatusCode::kPermissionDenied);

  // IndexAdmin: only the admin token.
  EXPECT_EQ(StatusCodeOf(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeOf(server, "wrong-token"), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusCodeOf(server, kClientTokenA), StatusCode::kPermissionDenied)
      << "a client token must not operate the server";
  EXPECT_EQ(StatusCodeOf(server, kAdminToken), StatusCode::kOk);
  v1::SwapIndexRequest swap;
  swap.set_bundle_path("v2");
  EXPECT_EQ(Client(server, "", kClientTokenA)->SwapIndex(swap).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Client(server, kClientTokenA, "")->SwapIndex(swap).status().code(),
            StatusCode::kUnauthenticated);
  auto swapped = Client(server, "", kAdminToken)->SwapIndex(swap, {absl::Seconds(60), false});
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_EQ(swapped->bundle_version().rfind("v2-", 0), 0u);

  // Rotation step 3: drop token A (file rewritten atomically, as a Secret update does), SIGHUP.
  const double reloads_before = Metric(server, "geoloc_swaps_total{result=\"ok\",trigger=\"sighup\"}");
  WriteFileAtomic(client_tokens, absl::StrCat(kClientTokenB, "\n"));
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Metric(server, "geoloc_swaps_total{result=\"ok\",trigger=\"sighup\"}") >
               reloads_before;
      },
      absl::Seconds(60)))
      << server.Log();
  EXPECT_EQ(LocateCode(server, kClientTokenA), StatusCode::kPermissionDenied)
      << "the removed token still works after SIGHUP";
  EXPECT_EQ(LocateCode(server, kClientTokenB), StatusCode::kOk);
  EXPECT_EQ(StatusCodeOf(server, kAdminToken), StatusCode::kOk);

  // A reload that fails (an empty token file) keeps the previous tokens rather than opening up.
  const double failed_before = Metric(server, "geoloc_swaps_total{result=\"ok\",trigger=\"sighup\"}");
  WriteFileAtomic(client_tokens, "# nothing\n");
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Metric(server, "geoloc_swaps_total{result=\"ok\",trigger=\"sighup\"}") >
               failed_before;
      },
      absl::Seconds(60)))
      << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "token reload failed")) << server.Log();
  EXPECT_EQ(LocateCode(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(LocateCode(server, kClientTokenB), StatusCode::kOk);

  // Tokens never reach the log.
  const std::string log = server.Log();
  for (const char* token : {kClientTokenA, kClientTokenB, kAdminToken, kEnvToken}) {
    EXPECT_FALSE(absl::StrContains(log, token)) << "the log shows a token";
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
}

TEST_F(AuthTest, EnvironmentTokensWorkAndIndexAdminIsDisabledWithoutAnAdminToken) {
  // $GEOLOC_TOKEN holds a rotation pair (comma-separated); no admin token anywhere.
  ServerProcess server(HardeningFlags(fixture_),
                       {{"GEOLOC_TOKEN", absl::StrCat(kClientTokenA, ",", kClientTokenB)},
                        {"GEOLOC_ADMIN_TOKEN", ""}});
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  EXPECT_EQ(LocateCode(server, ""), StatusCode::kUnauthenticated);
  EXPECT_EQ(LocateCode(server, "wrong-token"), StatusCode::kPermissionDenied);
  EXPECT_EQ(LocateCode(server, kClientTokenA), StatusCode::kOk);
  EXPECT_EQ(LocateCode(server, kClientTokenB), StatusCode::kOk);
  for (const std::string& admin : {std::string(), std::string(kClientTokenA),
                                   std::string("anything")}) {
    absl::Status st = Client(server, kClientTokenA, admin)->GetStatus().status();
    EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << "admin token '" << admin << "': " << st;
    EXPECT_TRUE(absl::StrContains(st.message(), "disabled")) << st;
    v1::SwapIndexRequest swap;
    swap.set_bundle_path("v2");
    EXPECT_EQ(Client(server, kClientTokenA, admin)->SwapIndex(swap).status().code(),
              StatusCode::kPermissionDenied);
  }
  EXPECT_TRUE(absl::StrContains(server.Log(), "IndexAdmin is disabled")) << server.Log();
}

TEST_F(AuthTest, AdminTokenFromTheEnvironmentOpensIndexAdminOnly) {
  ServerProcess server(HardeningFlags(fixture_), {{"GEOLOC_TOKEN", kClientTokenA},
                                                  {"GEOLOC_ADMIN_TOKEN", kAdminToken}});
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  EXPECT_EQ(StatusCodeOf(server, kAdminToken), StatusCode::kOk);
  EXPECT_EQ(StatusCodeOf(server, kClientTokenA), StatusCode::kPermissionDenied);
  EXPECT_EQ(LocateCode(server, kAdminToken), StatusCode::kPermissionDenied);
  EXPECT_EQ(LocateCode(server, kClientTokenA), StatusCode::kOk);
}

TEST_F(AuthTest, SwapIndexOnlyLoadsValidBundlesFromInsideTheIndexRoot) {
  // An index root of our own: a copy of v1 and of the corrupt bundle inside; a link that leads
  // out to the fixture's v2; the fixture's bundles beside it (outside).
  ScratchDir root("index-root");
  fs::copy(fixture_.bundle("v1"), root.file("v1-copy"), fs::copy_options::recursive);
  fs::copy(fixture_.bundle("corrupt"), root.file("corrupt"), fs::copy_options::recursive);
  fs::create_directory_symlink(fixture_.bundle("v2"), root.file("escape"));
  fs::create_directory_symlink(root.file("v1-copy"), root.file("current"));
  fs::create_directories(root.file("sub"));
  ServerProcess server(HardeningFlags(fixture_, {"--index_root=" + root.path()}),
                       {{"GEOLOC_ADMIN_TOKEN", kAdminToken}});
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto admin = Client(server, "", kAdminToken);
  struct Case {
    std::string path;
    StatusCode code;
    const char* mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"../", StatusCode::kPermissionDenied, "outside"},
           {"sub/../../", StatusCode::kPermissionDenied, "outside"},
           {fixture_.bundle("v2"), StatusCode::kPermissionDenied, "outside"},
           {"/etc", StatusCode::kPermissionDenied, "outside"},
           {"escape", StatusCode::kPermissionDenied, "link"},
           {root.file("escape"), StatusCode::kPermissionDenied, "link"},
           {"corrupt", StatusCode::kFailedPrecondition, "shard"},
           {"sub", StatusCode::kFailedPrecondition, "rejected"},
           {"missing", StatusCode::kFailedPrecondition, "no bundle"},
           {"", StatusCode::kInvalidArgument, "empty"},
           {std::string("v1-copy\0/../../etc", 18), StatusCode::kInvalidArgument, "NUL"}}) {
    v1::SwapIndexRequest swap;
    swap.set_bundle_path(c.path);
    auto r = admin->SwapIndex(swap, {absl::Seconds(60), false});
    EXPECT_EQ(r.status().code(), c.code) << "'" << c.path << "': " << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.mentions))
        << "'" << c.path << "': " << r.status();
  }
  // Nothing was swapped; then a valid bundle inside the root, also through a link inside it.
  auto status = admin->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->bundle().version().rfind("v1-", 0), 0u);
  EXPECT_EQ(status->bundle().path(), fs::canonical(fixture_.bundle("v1")).string());
  for (const char* good : {"v1-copy", "current"}) {
    v1::SwapIndexRequest swap;
    swap.set_bundle_path(good);
    auto r = admin->SwapIndex(swap, {absl::Seconds(60), false});
    ASSERT_TRUE(r.ok()) << good << ": " << r.status();
    status = admin->GetStatus();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->bundle().path(), fs::canonical(root.file("v1-copy")).string());
  }
  EXPECT_EQ(LocateCode(server, ""), StatusCode::kOk);
}

}  // namespace
}  // namespace geoloc::hardening
