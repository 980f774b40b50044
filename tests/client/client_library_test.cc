// The client library against the fake server: every RPC round-trips, codes and messages come
// back unchanged, bearer tokens travel on the right services, deadlines hold, options are checked.
#include <stdlib.h>

#include <cmath>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/geoloc_client.h"
#include "client/health_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"

namespace geoloc::client {
namespace {

using ::geoloc::client::testing::FakeServer;
using ::testing::HasSubstr;

class ClientLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeServer::Start({});
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<Client> Connect(std::string token = FakeServer::kToken,
                                  std::string admin_token = FakeServer::kAdminToken) {
    ClientOptions options;
    options.target = server_->address();
    options.token = std::move(token);
    options.admin_token = std::move(admin_token);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  static v1::LocateRequest Request(const std::string& image) {
    v1::LocateRequest request;
    request.set_image(image);
    return request;
  }

  std::unique_ptr<FakeServer> server_;
};

TEST_F(ClientLibraryTest, LocateRoundTripsRequestAndOptions) {
  std::unique_ptr<Client> client = Connect();
  v1::LocateRequest request = Request("LATLON 48.8582 2.2945");
  request.mutable_options()->set_k(7);
  request.mutable_options()->set_max_peaks(2);
  request.mutable_options()->add_cell_levels(10);
  request.mutable_options()->add_cell_levels(13);
  request.mutable_options()->set_max_cells_per_level(3);
  request.mutable_options()->set_return_neighbors(true);
  request.mutable_options()->set_estimator(v1::ESTIMATOR_GRID_KDE);

  absl::StatusOr<v1::LocateResponse> response = client->Locate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_DOUBLE_EQ(response->best().location().latitude(), 48.8582);
  EXPECT_DOUBLE_EQ(response->best().location().longitude(), 2.2945);
  EXPECT_EQ(response->peaks_size(), 2);
  EXPECT_EQ(response->cells_size(), 6);  // 2 levels x 3
  EXPECT_EQ(response->cells(3).level(), 13);
  EXPECT_EQ(response->neighbors_size(), 7);
  EXPECT_EQ(response->estimator(), v1::ESTIMATOR_GRID_KDE);
  EXPECT_EQ(response->model_version(), FakeServer::kModelVersion);
  EXPECT_EQ(response->cells(0).polygon_size(), 0);  // not asked for
}

TEST_F(ClientLibraryTest, ExplainRoundTripsEachTargetKind) {
  std::unique_ptr<Client> client = Connect();
  v1::ExplainRequest request;
  request.set_image("LATLON 10 20 classifier");
  request.set_peak_index(1);
  absl::StatusOr<v1::ExplainResponse> peak = client->Explain(request);
  ASSERT_TRUE(peak.ok()) << peak.status();
  EXPECT_EQ(peak->target_kind(), v1::ExplainResponse::TARGET_KIND_PEAK);
  EXPECT_THAT(peak->target_description(), HasSubstr("peak 1 at 10.01000,20.00000"));
  EXPECT_EQ(peak->overlay_png(), std::string(testing::kFakePng, testing::kFakePngSize));
  EXPECT_EQ(peak->saliency_size(), 12);

  request.set_neighbor_id(1234);
  absl::StatusOr<v1::ExplainResponse> neighbor = client->Explain(request);
  ASSERT_TRUE(neighbor.ok()) << neighbor.status();
  EXPECT_EQ(neighbor->target_kind(), v1::ExplainResponse::TARGET_KIND_NEIGHBOR);
  EXPECT_EQ(neighbor->neighbor().id(), 1234);

  request.set_cell_token("k01");
  absl::StatusOr<v1::ExplainResponse> cell = client->Explain(request);
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->target_kind(), v1::ExplainResponse::TARGET_KIND_CELL);
  EXPECT_EQ(cell->cell().token(), "k01");

  request.set_return_overlay(false);
  absl::StatusOr<v1::ExplainResponse> no_png = client->Explain(request);
  ASSERT_TRUE(no_png.ok()) << no_png.status();
  EXPECT_TRUE(no_png->overlay_png().empty());
}

TEST_F(ClientLibraryTest, AdminCallsRoundTrip) {
  std::unique_ptr<Client> client = Connect();
  absl::StatusOr<v1::GetStatusResponse> status = client->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->serving());
  EXPECT_EQ(status->bundle().version(), FakeServer::kBundleVersion);
  EXPECT_EQ(status->model().dim(), 512u);

  v1::SwapIndexRequest swap;
  swap.set_bundle_path("/bundles/v2");
  absl::StatusOr<v1::SwapIndexResponse> swapped = client->SwapIndex(swap);
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_EQ(swapped->bundle_version(), "v2");
  EXPECT_EQ(swapped->previous_bundle_version(), FakeServer::kBundleVersion);
  absl::StatusOr<v1::GetStatusResponse> after = client->GetStatus();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->bundle().version(), "v2");

  swap.set_bundle_path("/bundles/missing");
  absl::StatusOr<v1::SwapIndexResponse> failed = client->SwapIndex(swap);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().message(), HasSubstr("manifest.json not found"));
}

TEST_F(ClientLibraryTest, HealthReportsServingStatusPerService) {
  std::unique_ptr<Client> client = Connect();
  absl::StatusOr<ServingStatus> overall = client->Health();
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, ServingStatus::kServing);
  EXPECT_EQ(*client->Health("geoloc.v1.Geolocator"), ServingStatus::kServing);

  server_->SetServing("geoloc.v1.Geolocator", false);
  absl::StatusOr<ServingStatus> draining = client->Health("geoloc.v1.Geolocator");
  ASSERT_TRUE(draining.ok()) << draining.status();
  EXPECT_EQ(*draining, ServingStatus::kNotServing);

  EXPECT_EQ(client->Health("no.such.Service").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientLibraryTest, EveryErrorCodeAndMessageComesBackUnchanged) {
  std::unique_ptr<Client> client = Connect();
  for (int code = 1; code <= 16; ++code) {
    const std::string message = absl::StrCat("message for code ", code);
    absl::StatusOr<v1::LocateResponse> response =
        client->Locate(Request(absl::StrCat("CODE ", code, " ", message)));
    ASSERT_FALSE(response.ok()) << code;
    EXPECT_EQ(static_cast<int>(response.status().code()), code);
    EXPECT_EQ(response.status().message(), message);
  }
  absl::StatusOr<v1::LocateResponse> bad = client->Locate(Request("BAD bytes"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("cannot decode image"));
}

TEST_F(ClientLibraryTest, BearerTokensGoToTheirOwnServices) {
  std::unique_ptr<Client> client = Connect();
  ASSERT_TRUE(client->Locate(Request("x")).ok());
  ASSERT_TRUE(client->GetStatus().ok());
  EXPECT_EQ(server_->last_authorization("Locate"), "Bearer test-token");
  EXPECT_EQ(server_->last_authorization("GetStatus"), "Bearer admin-token");

  // Tokens swapped: each service refuses the other's token.
  std::unique_ptr<Client> swapped = Connect(FakeServer::kAdminToken, FakeServer::kToken);
  EXPECT_EQ(swapped->Locate(Request("x")).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(swapped->GetStatus().status().code(), absl::StatusCode::kPermissionDenied);

  std::unique_ptr<Client> anonymous = Connect("", "");
  absl::Status missing = anonymous->Locate(Request("x")).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(server_->last_authorization("Locate"), "<none>");
  EXPECT_EQ(anonymous->GetStatus().status().code(), absl::StatusCode::kUnauthenticated);
  // Health needs no token.
  EXPECT_TRUE(anonymous->Health().ok());
}

TEST_F(ClientLibraryTest, DeadlinesAreEnforced) {
  std::unique_ptr<Client> client = Connect();
  CallOptions call;
  call.deadline = absl::Milliseconds(200);
  EXPECT_EQ(client->Locate(Request("SLOW"), call).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  ClientOptions options;
  options.target = server_->address();
  options.token = FakeServer::kToken;
  options.default_deadline = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Client>> short_client = Client::Connect(options);
  ASSERT_TRUE(short_client.ok());
  EXPECT_EQ((*short_client)->Locate(Request("SLOW")).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ClientLibraryTest, ConcurrentCallsShareOneClient) {
  std::unique_ptr<Client> client = Connect();
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 20;
  std::vector<std::thread> threads;
  std::vector<int> wrong(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const double lat = t + i / 100.0;
        absl::StatusOr<v1::LocateResponse> response =
            client->Locate(Request(absl::StrFormat("LATLON %.2f %d", lat, -t)));
        if (!response.ok() || std::abs(response->best().location().latitude() - lat) > 1e-9 ||
            response->best().location().longitude() != -t) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
  EXPECT_EQ(server_->locate_calls(), kThreads * kCallsPerThread);
}

TEST(ClientConnectTest, UnreachableServerIsUnavailable) {
  ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", testing::UnusedPort());
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();  // connecting is lazy
  v1::LocateRequest request;
  request.set_image("x");
  EXPECT_EQ((*client)->Locate(request).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->Health().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->WaitForReady(absl::Milliseconds(200)).code(),
            absl::StatusCode::kUnavailable);
}

TEST(ClientConnectTest, RejectsInconsistentOptions) {
  const testing::ScratchDir scratch("connect");
  const std::string& dir = scratch.path();
  testing::WriteTestFile(dir + "/not.pem", "hello");

  auto connect_code = [](const ClientOptions& options) {
    return Client::Connect(options).status().code();
  };
  ClientOptions options;
  options.target = "";
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);

  options = ClientOptions();
  options.ca_cert_file = dir + "/ca.pem";  // TLS files without TLS
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);

  options = ClientOptions();
  options.use_tls = true;
  options.client_cert_file = dir + "/client.pem";  // certificate without key
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);

  options = ClientOptions();
  options.use_tls = true;
  options.ca_cert_file = dir + "/absent.pem";
  EXPECT_EQ(connect_code(options), absl::StatusCode::kNotFound);

  options.ca_cert_file = dir + "/not.pem";
  absl::Status not_pem = Client::Connect(options).status();
  EXPECT_EQ(not_pem.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_pem.message(), HasSubstr("not a PEM file"));

  options = ClientOptions();
  options.token = "two words";
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);
  options.token = "line\nbreak";
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);

  options = ClientOptions();
  options.default_deadline = absl::ZeroDuration();
  EXPECT_EQ(connect_code(options), absl::StatusCode::kInvalidArgument);

  options = ClientOptions();
  options.use_tls = true;  // system roots
  options.server_name_override = "geoloc.test";
  EXPECT_TRUE(Client::Connect(options).ok());
}

TEST(TokenTest, ReadTokenFileTrimsAndRejectsJunk) {
  const testing::ScratchDir scratch("token");
  const std::string& dir = scratch.path();
  testing::WriteTestFile(dir + "/ok", "  s3cr3t-token\n");
  testing::WriteTestFile(dir + "/empty", "\n\n");
  testing::WriteTestFile(dir + "/two", "Bearer s3cr3t\n");

  absl::StatusOr<std::string> ok = ReadTokenFile(dir + "/ok");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "s3cr3t-token");
  EXPECT_EQ(ReadTokenFile(dir + "/empty").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(dir + "/two").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(dir + "/absent").status().code(), absl::StatusCode::kNotFound);
}

TEST(TokenTest, FileTakesPrecedenceOverEnvironment) {
  const testing::ScratchDir scratch("token");
  const std::string& dir = scratch.path();
  testing::WriteTestFile(dir + "/token", "from-file\n");
  constexpr char kVar[] = "GEOLOC_CLIENT_TEST_TOKEN";

  ::unsetenv(kVar);
  EXPECT_EQ(*LoadToken("", kVar), "");
  ::setenv(kVar, " from-env \n", 1);
  EXPECT_EQ(*LoadToken("", kVar), "from-env");
  EXPECT_EQ(*LoadToken(dir + "/token", kVar), "from-file");
  // A named file that cannot be read is an error, not a silent fallback to the environment.
  EXPECT_FALSE(LoadToken(dir + "/absent", kVar).ok());
  ::unsetenv(kVar);
}

TEST(HealthCodecTest, EncodesTheServiceField) {
  EXPECT_EQ(internal::EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(internal::EncodeHealthCheckRequest("ab"), std::string("\x0a\x02"
                                                                  "ab",
                                                                  4));
}

TEST(HealthCodecTest, DecodesStatusAndSkipsUnknownFields) {
  EXPECT_EQ(*internal::DecodeHealthCheckResponse(""), 0);
  EXPECT_EQ(*internal::DecodeHealthCheckResponse(std::string("\x08\x01", 2)), 1);
  // field 2 (string "xy"), field 3 (fixed32), then status 2.
  const std::string with_unknown("\x12\x02xy\x1d\x01\x02\x03\x04\x08\x02", 11);
  EXPECT_EQ(*internal::DecodeHealthCheckResponse(with_unknown), 2);
  EXPECT_EQ(internal::DecodeHealthCheckResponse(std::string("\x08", 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(internal::DecodeHealthCheckResponse(std::string("\x12\x05xy", 4)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(StatusMappingTest, KeepsCodeMessageAndDetails) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full", "details"));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "queue full");
  ASSERT_TRUE(status.GetPayload(kRpcStatusDetailsUrl).has_value());
  EXPECT_EQ(std::string(*status.GetPayload(kRpcStatusDetailsUrl)), "details");
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace geoloc::client
