// geolocd end to end: real server processes on loopback, the synthetic world, the client library.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "core/places/gazetteer.h"
#include "core/places/place_description.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "reflection_client.grpc.pb.h"
#include "tests/support/server_process.h"

namespace geoloc::testing {
namespace {

using client::Client;
using v1::LocateRequest;

// The committed test gazetteer (16 places), loaded by this suite's server.
const std::string kGazetteer = std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz";

class ServerE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new Fixture(GetFixture());
    queries_ = new std::vector<QueryImage>(LoadQueries(*fixture_));
    std::vector<std::string> flags = ServerProcess::DefaultFlags(*fixture_);
    flags.push_back(absl::StrCat("--gazetteer=", kGazetteer));
    server_ = new ServerProcess(flags);
    start_status_ = new absl::Status(server_->Start());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete queries_;
    delete fixture_;
    delete start_status_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    ASSERT_FALSE(queries_->empty());
    client_ = server_->NewClient();
    ASSERT_NE(client_, nullptr);
  }
  static LocateRequest Request(const QueryImage& q) {
    LocateRequest r;
    r.set_image(q.bytes);
    return r;
  }

  static Fixture* fixture_;
  static std::vector<QueryImage>* queries_;
  static ServerProcess* server_;
  static absl::Status* start_status_;
  std::unique_ptr<Client> client_;
};

Fixture* ServerE2ETest::fixture_ = nullptr;
std::vector<QueryImage>* ServerE2ETest::queries_ = nullptr;
ServerProcess* ServerE2ETest::server_ = nullptr;
absl::Status* ServerE2ETest::start_status_ = nullptr;

double ErrorKm(const v1::LatLng& p, const QueryImage& q) {
  return geo::HaversineKm(geo::LatLon{p.latitude(), p.longitude()}, geo::LatLon{q.lat, q.lon});
}

TEST_F(ServerE2ETest, LocateFindsTheQueriesPlaces) {
  int within_100m = 0;
  for (const QueryImage& q : *queries_) {
    LocateRequest request = Request(q);
    request.mutable_options()->set_return_neighbors(true);
    request.mutable_options()->add_cell_levels(10);
    auto response = client_->Locate(request);
    ASSERT_TRUE(response.ok()) << q.path << ": " << response.status();
    ASSERT_GE(response->peaks_size(), 1);
    EXPECT_GT(response->best().weight_share(), 0);
    EXPECT_LE(response->best().weight_share(), 1.0 + 1e-9);
    EXPECT_EQ(response->neighbors_size(), std::min<int>(60, response->neighbors_size()));
    EXPECT_GT(response->neighbors_size(), 0);
    double mass = 0;
    for (const auto& p : response->peaks()) mass += p.mass();
    EXPECT_LE(mass, 1.0 + 1e-9);
    ASSERT_GE(response->cells_size(), 1);
    EXPECT_EQ(response->cells(0).level(), 10);
    EXPECT_EQ(response->bundle_version().rfind("v1-", 0), 0u) << response->bundle_version();
    EXPECT_GT(response->timings().encode_ms(), 0);
    EXPECT_GE(response->timings().batch_size(), 1u);
    if (ErrorKm(response->best().location(), q) < 0.1) ++within_100m;
  }
  // Views of a place share its coordinates; a random-init ResNet-18 finds most of them.
  EXPECT_GE(within_100m, static_cast<int>(queries_->size()) / 2)
      << within_100m << " of " << queries_->size();
}

// --gazetteer: the gRPC answer names the best estimate, every peak and every cell, exactly as
// core/places names the same points.
TEST_F(ServerE2ETest, LocateNamesPlacesFromTheGazetteer) {
  auto gazetteer = places::Gazetteer::Load(kGazetteer);
  ASSERT_TRUE(gazetteer.ok()) << gazetteer.status();
  auto expect_named = [&](const v1::Place& place, const v1::LatLng& point) {
    auto expected = places::NameNearest(**gazetteer, {point.latitude(), point.longitude()});
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(place.description(), expected->description);
    EXPECT_EQ(place.name(), expected->name);
    EXPECT_EQ(place.region(), expected->region);
    EXPECT_EQ(place.country(), expected->country);
    EXPECT_EQ(place.country_code(), expected->country_code);
    EXPECT_DOUBLE_EQ(place.distance_km(), expected->distance_km);
    EXPECT_DOUBLE_EQ(place.bearing_deg(), expected->bearing_deg);
    EXPECT_EQ(place.population(), expected->population);
  };
  LocateRequest request = Request(queries_->front());
  request.mutable_options()->add_cell_levels(6);
  request.mutable_options()->add_cell_levels(10);
  auto response = client_->Locate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(response->best().has_place());
  expect_named(response->best().place(), response->best().location());
  expect_named(response->retrieval().place(), response->retrieval().location());
  ASSERT_GE(response->peaks_size(), 1);
  for (const v1::Peak& p : response->peaks()) {
    ASSERT_TRUE(p.has_place());
    expect_named(p.place(), p.location());
  }
  ASSERT_GE(response->cells_size(), 2);
  for (const v1::CellConfidence& c : response->cells()) {
    ASSERT_TRUE(c.has_place());
    expect_named(c.place(), c.center());
  }
}

// The fixture's bundle has no thumbnails: asking for them is no error, and none come back.
TEST_F(ServerE2ETest, ThumbnailsAskedOfABundleWithoutThemAreSimplyAbsent) {
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->bundle().has_thumbnails());
  EXPECT_EQ(status->bundle().thumbnail_max_side(), 0u);
  LocateRequest request = Request(queries_->front());
  request.mutable_options()->set_return_neighbors(true);
  request.mutable_options()->set_include_thumbnails(true);
  auto response = client_->Locate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_GT(response->neighbors_size(), 0);
  for (const v1::Neighbor& n : response->neighbors()) EXPECT_TRUE(n.thumbnail_jpeg().empty());
}

TEST_F(ServerE2ETest, ConcurrentRequestsShareBatchesAndEachGetsItsOwnAnswer) {
  auto before = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(before.ok());
  const double images_before = MetricValue(*before, "geoloc_batch_size_sum").value_or(0);
  // Answers to compare with: one request at a time.
  const int n = std::min<int>(16, static_cast<int>(queries_->size()));
  std::vector<v1::LocateResponse> sequential(n);
  for (int i = 0; i < n; ++i) {
    auto r = client_->Locate(Request((*queries_)[i]));
    ASSERT_TRUE(r.ok()) << r.status();
    sequential[i] = *r;
  }
  auto mid = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(mid.ok());
  const double batches_mid = MetricValue(*mid, "geoloc_batch_size_count").value_or(0);
  const double images_mid = MetricValue(*mid, "geoloc_batch_size_sum").value_or(0);
  EXPECT_EQ(images_mid - images_before, n);

  std::vector<v1::LocateResponse> concurrent(n);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      auto r = client_->Locate(Request((*queries_)[i]));
      if (!r.ok()) {
        ++failures;
        return;
      }
      concurrent[i] = *r;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  auto after = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(after.ok());
  const double batches = MetricValue(*after, "geoloc_batch_size_count").value_or(0) - batches_mid;
  const double images = MetricValue(*after, "geoloc_batch_size_sum").value_or(0) - images_mid;
  EXPECT_EQ(images, n);
  EXPECT_LT(batches, n) << "no two concurrent requests shared a forward pass";
  uint32_t largest = 0;
  for (int i = 0; i < n; ++i) {
    largest = std::max(largest, concurrent[i].timings().batch_size());
    // Batching must not mix answers up: each request gets what it got alone.
    EXPECT_NEAR(concurrent[i].best().location().latitude(),
                sequential[i].best().location().latitude(), 1e-6);
    EXPECT_NEAR(concurrent[i].best().location().longitude(),
                sequential[i].best().location().longitude(), 1e-6);
  }
  EXPECT_GT(largest, 1u);
}

TEST_F(ServerE2ETest, ExplainReturnsASaliencyMapAndOverlay) {
  v1::ExplainRequest request;
  request.set_image(queries_->front().bytes);
  auto peak = client_->Explain(request);
  ASSERT_TRUE(peak.ok()) << peak.status();
  EXPECT_EQ(peak->target_kind(), v1::ExplainResponse::TARGET_KIND_PEAK);
  ASSERT_TRUE(peak->has_peak());
  EXPECT_TRUE(peak->peak().has_place());  // this suite's server has a gazetteer
  EXPECT_EQ(peak->width(), 128u);
  EXPECT_EQ(peak->height(), 128u);
  ASSERT_EQ(peak->saliency_size(), 128 * 128);
  float lo = 1, hi = 0;
  for (float v : peak->saliency()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GE(lo, 0.0f);
  EXPECT_LE(hi, 1.0f);
  EXPECT_GT(hi, 0.0f);
  ASSERT_GT(peak->overlay_png().size(), 8u);
  EXPECT_EQ(peak->overlay_png().substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_TRUE(absl::StrContains(peak->target_description(), "peak 0"));

  // A neighbour target: the first neighbour Locate returns for the same image.
  LocateRequest locate = Request(queries_->front());
  locate.mutable_options()->set_return_neighbors(true);
  auto located = client_->Locate(locate);
  ASSERT_TRUE(located.ok());
  request.set_neighbor_id(located->neighbors(0).id());
  request.set_return_overlay(false);
  auto neighbour = client_->Explain(request);
  ASSERT_TRUE(neighbour.ok()) << neighbour.status();
  EXPECT_EQ(neighbour->target_kind(), v1::ExplainResponse::TARGET_KIND_NEIGHBOR);
  EXPECT_EQ(neighbour->neighbor().id(), located->neighbors(0).id());
  EXPECT_NEAR(neighbour->target_score(), located->neighbors(0).similarity(), 1e-3);
  EXPECT_TRUE(neighbour->overlay_png().empty());

  request.set_peak_index(50);
  EXPECT_EQ(client_->Explain(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_neighbor_id(987654321);
  EXPECT_EQ(client_->Explain(request).status().code(), absl::StatusCode::kNotFound);
  request.set_cell_token("not-a-token");
  EXPECT_EQ(client_->Explain(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServerE2ETest, LocateStreamAnswersEveryItemAndSurvivesABadOne) {
  const int n = std::min<int>(12, static_cast<int>(queries_->size()));
  int next = 0;
  std::map<std::string, v1::LocateStreamResponse> answers;
  auto summary = client_->LocateStream(
      [&]() -> std::optional<v1::LocateStreamRequest> {
        if (next > n) return std::nullopt;
        v1::LocateStreamRequest item;
        item.set_item_id("item-" + std::to_string(next));
        item.set_image(next == 5 ? std::string("this is not an image")
                                 : (*queries_)[next % n].bytes);
        ++next;
        return item;
      },
      [&](const v1::LocateStreamResponse& r) { answers[r.item_id()] = r; },
      client::StreamOptions{4, absl::Seconds(120), false});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->sent, n + 1);
  EXPECT_EQ(summary->item_errors, 1);
  ASSERT_EQ(answers.size(), static_cast<size_t>(n + 1));
  for (int i = 0; i <= n; ++i) {
    const auto& a = answers["item-" + std::to_string(i)];
    if (i == 5) {
      EXPECT_EQ(a.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
      EXPECT_FALSE(a.status().message().empty());
    } else {
      EXPECT_EQ(a.status().code(), 0) << a.status().message();
      EXPECT_GE(a.result().peaks_size(), 1);
    }
  }
}

TEST_F(ServerE2ETest, StatusHealthAndReflection) {
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->serving());
  EXPECT_EQ(status->model().name(), "fixture-r18-gem");
  EXPECT_EQ(status->model().input_height(), 128u);
  EXPECT_EQ(status->bundle().version().rfind("v1-", 0), 0u);
  EXPECT_GT(status->bundle().vector_count(), 0);
  EXPECT_TRUE(absl::StrContains(status->bundle().manifest_json(), "\"shards\""));
  EXPECT_TRUE(status->last_swap().ok());
  EXPECT_EQ(status->last_swap().trigger(), "startup");
  EXPECT_EQ(status->defaults().k(), 60u);
  EXPECT_TRUE(status->gazetteer().loaded());
  EXPECT_EQ(status->gazetteer().path(), kGazetteer);
  EXPECT_EQ(status->gazetteer().places(), 16u);
  EXPECT_TRUE(absl::StrContains(status->gazetteer().attribution(), "GeoNames"));
  EXPECT_TRUE(absl::StrContains(status->gazetteer().license(), "CC BY 4.0"));

  auto health = client_->Health("");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, client::ServingStatus::kServing);

  auto channel = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::set<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(names.count("geoloc.v1.Geolocator"));
  EXPECT_TRUE(names.count("geoloc.v1.IndexAdmin"));
  EXPECT_TRUE(names.count("grpc.health.v1.Health"));
}

TEST_F(ServerE2ETest, MetricsEndpointServesPrometheusText) {
  ASSERT_TRUE(client_->Locate(Request(queries_->front())).ok());
  auto text = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  for (const char* series :
       {"geoloc_requests_total{", "geoloc_request_duration_seconds_bucket{",
        "geoloc_stage_duration_seconds_bucket{", "geoloc_batch_size_bucket{",
        "geoloc_queue_depth ", "geoloc_in_flight_requests ", "geoloc_serving 1",
        "geoloc_bundle_vectors ", "geoloc_bundle_info{", "geoloc_model_info{",
        "geoloc_last_swap_timestamp_seconds ", "process_cpu_seconds_total ",
        "process_resident_memory_bytes "}) {
    EXPECT_TRUE(absl::StrContains(*text, series)) << series;
  }
  for (const char* stage : {"decode", "queue", "encode", "search", "estimate"}) {
    EXPECT_TRUE(absl::StrContains(*text, absl::StrCat("stage=\"", stage, "\""))) << stage;
  }
  // Every sample line is `name{labels} value` with a parseable value.
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') {
      EXPECT_TRUE(absl::StartsWith(line, "# HELP ") || absl::StartsWith(line, "# TYPE ")) << line;
      continue;
    }
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, absl::string_view::npos) << line;
    double v;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v) ||
                line.substr(space + 1) == "+Inf" || line.substr(space + 1) == "NaN")
        << line;
  }
  auto ok = MetricValue(*text, "geoloc_requests_total{code=\"OK\",method=\"Locate\",transport=\"grpc\"}");
  ASSERT_TRUE(ok.ok()) << *text;
  EXPECT_GE(*ok, 1);
}

}  // namespace
}  // namespace geoloc::testing
