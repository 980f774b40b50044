#include "tests/client/fake_server.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::client::testing {

const char kFakePng[] =
    "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    "\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9c"
    "c\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xae"
    "B`\x82";
const size_t kFakePngSize = sizeof(kFakePng) - 1;

namespace {

double WrapLongitude(double lon) {
  double wrapped = std::fmod(lon + 180.0, 360.0);
  if (wrapped < 0) wrapped += 360.0;
  return wrapped - 180.0;
}

v1::LatLng Point(double lat, double lon) {
  v1::LatLng point;
  point.set_latitude(std::clamp(lat, -90.0, 90.0));
  point.set_longitude(WrapLongitude(lon));
  return point;
}

// A cell outline as the server sends it: open, counter-clockwise, longitudes in [-180, 180).
void FillPolygon(double lat, double lon, v1::CellConfidence* cell) {
  constexpr double kHalf = 0.1;
  if (std::abs(lat) + kHalf > 89.0) {
    // Around the pole: eastward around the north pole, westward around the south pole.
    const double ring_lat = lat > 0 ? 88.0 : -88.0;
    for (int i = 0; i < 8; ++i) {
      const double step = lat > 0 ? 45.0 * i : -45.0 * i;
      *cell->add_polygon() = Point(ring_lat, -180.0 + (lat > 0 ? step : 360.0 + step));
    }
    return;
  }
  *cell->add_polygon() = Point(lat - kHalf, lon - kHalf);
  *cell->add_polygon() = Point(lat - kHalf, lon + kHalf);
  *cell->add_polygon() = Point(lat + kHalf, lon + kHalf);
  *cell->add_polygon() = Point(lat + kHalf, lon - kHalf);
}

struct ParsedImage {
  double lat = 0;
  double lon = 0;
  bool classifier = false;
  bool calibrated = false;
  bool named = false;  // answer as a server with a gazetteer: every point gets a Place
};

// The Place a server with a gazetteer gives a point: "<i>.5 km NE of Fakeville, Region, Land".
v1::Place FakePlace(int i) {
  v1::Place place;
  place.set_description(absl::StrCat(i, ".5 km NE of Fakeville, Region, Land"));
  place.set_name("Fakeville");
  place.set_region("Region");
  place.set_country("Land");
  place.set_country_code("FL");
  place.set_distance_km(i + 0.5);
  place.set_bearing_deg(45);
  place.set_population(1234);
  return place;
}

// Names the best estimate (0), the peaks (1, 2, ...) and the cells (10, 11, ...).
void FillPlaces(v1::LocateResponse* response) {
  *response->mutable_best()->mutable_place() = FakePlace(0);
  for (int i = 0; i < response->peaks_size(); ++i) {
    *response->mutable_peaks(i)->mutable_place() = FakePlace(1 + i);
  }
  for (int i = 0; i < response->cells_size(); ++i) {
    *response->mutable_cells(i)->mutable_place() = FakePlace(10 + i);
  }
}

// A calibrated answer around (lat, lon): a 50% region of one square piece, a 95% region that is
// the whole Earth, P(within t) at the im2gps scales, P(localizable) 0.3 below a 0.5 bar.
void FillCalibration(double lat, double lon, v1::LocateResponse* response) {
  response->set_calibrated(true);
  response->set_localizable_probability(0.3);
  response->set_abstain_below(0.5);
  response->set_abstained(true);
  response->set_score_group(1);
  const double thresholds[] = {1, 25, 200, 750, 2500};
  for (int i = 0; i < 5; ++i) {
    v1::WithinProbability* w = response->add_within();
    w->set_threshold_km(thresholds[i]);
    w->set_probability(0.05 + 0.2 * i);
    w->set_predictive_mass(0.1 + 0.2 * i);
  }
  v1::ConfidenceRegion* half = response->add_regions();
  half->set_level(0.5);
  half->set_guaranteed_coverage(0.52);
  half->set_area_km2(1234.5);
  v1::RegionPiece* piece = half->add_pieces();
  piece->set_area_km2(1234.5);
  for (const auto& [dlat, dlon] : {std::pair{-0.1, -0.1}, {-0.1, 0.1}, {0.1, 0.1}, {0.1, -0.1}}) {
    *piece->mutable_exterior()->add_vertices() = Point(lat + dlat, lon + dlon);
  }
  v1::ConfidenceRegion* whole = response->add_regions();
  whole->set_level(0.95);
  whole->set_guaranteed_coverage(1);
  whole->set_whole_sphere(true);
  whole->set_area_km2(510065621.7);
}

// The answer to one image, or the error it asks for. `context` may be null (stream items).
grpc::Status Answer(const std::string& image, const v1::LocateOptions& options,
                    grpc::ServerContext* context, v1::LocateResponse* response) {
  if (absl::StartsWith(image, "BAD")) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "cannot decode image: not a JPEG, PNG, WebP, BMP or TIFF file");
  }
  if (absl::StartsWith(image, "CODE ")) {
    std::vector<std::string> parts = absl::StrSplit(image, absl::MaxSplits(' ', 2));
    int code = 2;
    if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &code)) code = 2;
    return grpc::Status(static_cast<grpc::StatusCode>(code), parts.size() > 2 ? parts[2] : "");
  }
  if (image == "SLOW" && context != nullptr) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow");
  }
  ParsedImage parsed;
  std::vector<std::string> words = absl::StrSplit(image, ' ', absl::SkipEmpty());
  if (words.size() >= 3 && words[0] == "LATLON" && absl::SimpleAtod(words[1], &parsed.lat) &&
      absl::SimpleAtod(words[2], &parsed.lon)) {
    for (size_t i = 3; i < words.size(); ++i) {
      parsed.classifier |= words[i] == "classifier";
      parsed.calibrated |= words[i] == "calibrated";
      parsed.named |= words[i] == "named";
    }
  } else {
    const size_t hash = std::hash<std::string>()(image);
    parsed.lat = static_cast<double>(hash % 1600) / 10.0 - 80.0;
    parsed.lon = static_cast<double>((hash / 1600) % 3600) / 10.0 - 180.0;
  }

  const int peaks = options.max_peaks() > 0 ? static_cast<int>(options.max_peaks()) : 3;
  double mass_total = 0;
  for (int i = 0; i < peaks; ++i) mass_total += peaks - i;
  for (int i = 0; i < peaks; ++i) {
    v1::Peak* peak = response->add_peaks();
    *peak->mutable_location() = Point(parsed.lat + 0.01 * i, parsed.lon);
    peak->set_mass((peaks - i) / mass_total);
    peak->set_density(10.0 / (i + 1));
    peak->set_support(static_cast<uint32_t>(10 - std::min(i, 9)));
    peak->set_radius_km(1.5 * (i + 1));
  }
  v1::LocationEstimate retrieval;
  *retrieval.mutable_location() = response->peaks(0).location();
  retrieval.set_uncertainty_km(1.5);
  retrieval.set_weight_share(response->peaks(0).mass());
  *response->mutable_retrieval() = retrieval;
  *response->mutable_best() = retrieval;

  std::vector<int> levels(options.cell_levels().begin(), options.cell_levels().end());
  if (levels.empty()) levels.push_back(10);
  const int per_level =
      options.max_cells_per_level() > 0 ? static_cast<int>(options.max_cells_per_level()) : 2;
  for (int level : levels) {
    for (int j = 0; j < per_level; ++j) {
      v1::CellConfidence* cell = response->add_cells();
      cell->set_token(absl::StrFormat("c%02d%02d", level, j));
      cell->set_level(level);
      cell->set_weight_share(j == 0 ? 0.7 : 0.3 / (per_level - 1));
      *cell->mutable_center() = Point(parsed.lat, parsed.lon);
      if (options.return_cell_polygons()) FillPolygon(parsed.lat, parsed.lon, cell);
    }
  }
  if (parsed.classifier) {
    v1::LocationEstimate* classifier = response->mutable_classifier();
    *classifier->mutable_location() = Point(parsed.lat + 0.5, parsed.lon + 0.5);
    classifier->set_uncertainty_km(25.0);
    classifier->set_weight_share(0.4);
    v1::LocationEstimate* best = response->mutable_best();
    *best->mutable_location() = Point(parsed.lat + 0.25, parsed.lon + 0.25);
    best->set_uncertainty_km(12.0);
    best->set_weight_share(0.55);
    const int count =
        options.max_classifier_cells() > 0 ? static_cast<int>(options.max_classifier_cells()) : 2;
    for (int j = 0; j < count; ++j) {
      v1::CellConfidence* cell = response->add_classifier_cells();
      cell->set_token(absl::StrFormat("k%02d", j));
      cell->set_level(8);
      cell->set_weight_share(j == 0 ? 0.6 : 0.4 / (count - 1));
      *cell->mutable_center() = classifier->location();
      if (options.return_cell_polygons()) {
        FillPolygon(classifier->location().latitude(), classifier->location().longitude(), cell);
      }
    }
  }
  if (parsed.calibrated) FillCalibration(parsed.lat, parsed.lon, response);
  if (parsed.named) FillPlaces(response);
  if (options.return_neighbors()) {
    const int k = options.k() > 0 ? static_cast<int>(options.k()) : 5;
    for (int i = 0; i < k; ++i) {
      v1::Neighbor* neighbor = response->add_neighbors();
      neighbor->set_id(1000 + i);
      *neighbor->mutable_location() = Point(parsed.lat - 0.001 * i, parsed.lon + 0.001 * i);
      neighbor->set_similarity(0.9f - 0.01f * static_cast<float>(i));
      neighbor->set_source(absl::StrCat("db/img_", i, ".jpg"));
      neighbor->set_group("place-1");
    }
  }
  response->set_model_version(FakeServer::kModelVersion);
  response->set_bundle_version(FakeServer::kBundleVersion);
  response->set_estimator(options.estimator() == v1::ESTIMATOR_UNSPECIFIED
                              ? v1::ESTIMATOR_SPHERICAL_KDE
                              : options.estimator());
  v1::StageTimings* timings = response->mutable_timings();
  timings->set_decode_ms(1.0);
  timings->set_encode_ms(6.0);
  timings->set_search_ms(2.0);
  timings->set_estimate_ms(0.5);
  timings->set_total_ms(10.0);
  timings->set_batch_size(1);
  return grpc::Status::OK;
}

}  // namespace

class FakeServer::Impl {
 public:
  explicit Impl(FakeServer* owner, int stream_batch)
      : geolocator_(owner, stream_batch), admin_(owner) {}

  // Records the authorization header and checks it against `expected`.
  static grpc::Status Authorize(FakeServer* owner, grpc::ServerContext* context,
                                const std::string& method, const std::string& expected) {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    const std::string seen =
        it == metadata.end() ? "<none>" : std::string(it->second.data(), it->second.size());
    {
      std::lock_guard<std::mutex> lock(owner->mu_);
      owner->authorization_[method] = seen;
    }
    if (seen == "<none>") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing authorization: Bearer token");
    }
    if (seen != "Bearer " + expected) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "token not accepted for " + method);
    }
    return grpc::Status::OK;
  }

  class Geolocator final : public v1::Geolocator::Service {
   public:
    Geolocator(FakeServer* owner, int stream_batch)
        : owner_(owner), stream_batch_(std::max(1, stream_batch)) {}

    grpc::Status Locate(grpc::ServerContext* context, const v1::LocateRequest* request,
                        v1::LocateResponse* response) override {
      grpc::Status auth = Authorize(owner_, context, "Locate", kToken);
      if (!auth.ok()) return auth;
      ++owner_->locate_calls_;
      return Answer(request->image(), request->options(), context, response);
    }

    grpc::Status Explain(grpc::ServerContext* context, const v1::ExplainRequest* request,
                         v1::ExplainResponse* response) override {
      grpc::Status auth = Authorize(owner_, context, "Explain", kToken);
      if (!auth.ok()) return auth;
      v1::LocateResponse located;
      grpc::Status status = Answer(request->image(), request->options(), context, &located);
      if (!status.ok()) return status;
      switch (request->target_case()) {
        case v1::ExplainRequest::kNeighborId:
          response->set_target_kind(v1::ExplainResponse::TARGET_KIND_NEIGHBOR);
          response->mutable_neighbor()->set_id(request->neighbor_id());
          *response->mutable_neighbor()->mutable_location() = located.peaks(0).location();
          response->mutable_neighbor()->set_similarity(0.8f);
          response->set_target_description(
              absl::StrCat("neighbour ", request->neighbor_id(), " (similarity 0.80)"));
          response->set_target_score(0.8);
          break;
        case v1::ExplainRequest::kCellToken: {
          auto it =
              std::find_if(located.classifier_cells().begin(), located.classifier_cells().end(),
                           [&](const v1::CellConfidence& cell) {
                             return cell.token() == request->cell_token();
                           });
          if (located.classifier_cells().empty()) {
            return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "the bundle has no cell classifier");
          }
          if (it == located.classifier_cells().end()) {
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "unknown cell " + request->cell_token());
          }
          response->set_target_kind(v1::ExplainResponse::TARGET_KIND_CELL);
          *response->mutable_cell() = *it;
          response->set_target_description(absl::StrCat("cell ", it->token()));
          response->set_target_score(it->weight_share());
          break;
        }
        default: {
          const uint32_t index =
              request->target_case() == v1::ExplainRequest::kPeakIndex ? request->peak_index() : 0;
          if (static_cast<int>(index) >= located.peaks_size()) {
            return grpc::Status(
                grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("peak ", index, " out of range (", located.peaks_size(), " peaks)"));
          }
          const v1::Peak& peak = located.peaks(static_cast<int>(index));
          response->set_target_kind(v1::ExplainResponse::TARGET_KIND_PEAK);
          *response->mutable_peak() = peak;
          response->set_target_description(absl::StrFormat(
              "peak %d at %.5f,%.5f (mass %.2f, %d neighbours)", index, peak.location().latitude(),
              peak.location().longitude(), peak.mass(), peak.support()));
          response->set_target_score(0.75);
        }
      }
      response->set_width(4);
      response->set_height(3);
      for (int i = 0; i < 12; ++i) response->add_saliency(static_cast<float>(i) / 11.0f);
      if (!request->has_return_overlay() || request->return_overlay()) {
        response->set_overlay_png(std::string(kFakePng, kFakePngSize));
      }
      response->set_model_version(kModelVersion);
      response->set_bundle_version(kBundleVersion);
      response->mutable_timings()->set_explain_ms(20.0);
      return grpc::Status::OK;
    }

    grpc::Status LocateStream(grpc::ServerContext* context,
                              grpc::ServerReaderWriter<v1::LocateStreamResponse,
                                                       v1::LocateStreamRequest>* stream) override {
      grpc::Status auth = Authorize(owner_, context, "LocateStream", kToken);
      if (!auth.ok()) return auth;
      std::mutex mu;
      std::condition_variable arrived;
      std::deque<v1::LocateStreamRequest> pending;
      bool reading_done = false;
      int outstanding = 0;
      std::thread reader([&] {
        v1::LocateStreamRequest item;
        while (stream->Read(&item)) {
          std::lock_guard<std::mutex> lock(mu);
          pending.push_back(item);
          ++outstanding;
          int seen = owner_->max_stream_outstanding_.load();
          while (outstanding > seen &&
                 !owner_->max_stream_outstanding_.compare_exchange_weak(seen, outstanding)) {
          }
          arrived.notify_one();
        }
        std::lock_guard<std::mutex> lock(mu);
        reading_done = true;
        arrived.notify_one();
      });
      for (;;) {
        std::vector<v1::LocateStreamRequest> batch;
        {
          std::unique_lock<std::mutex> lock(mu);
          arrived.wait(lock, [&] {
            return reading_done || static_cast<int>(pending.size()) >= stream_batch_;
          });
          if (pending.empty()) break;  // reading_done
          while (!pending.empty() && static_cast<int>(batch.size()) < stream_batch_) {
            batch.push_back(std::move(pending.front()));
            pending.pop_front();
          }
        }
        std::reverse(batch.begin(), batch.end());
        for (const v1::LocateStreamRequest& item : batch) {
          v1::LocateStreamResponse response;
          response.set_item_id(item.item_id());
          grpc::Status status =
              Answer(item.image(), item.options(), nullptr, response.mutable_result());
          response.mutable_status()->set_code(status.error_code());
          if (!status.ok()) {
            response.mutable_status()->set_message(status.error_message());
            response.clear_result();
          }
          {
            std::lock_guard<std::mutex> lock(mu);
            --outstanding;
          }
          stream->Write(response);
        }
      }
      reader.join();
      return grpc::Status::OK;
    }

   private:
    FakeServer* owner_;
    const int stream_batch_;
  };

  class Admin final : public v1::IndexAdmin::Service {
   public:
    explicit Admin(FakeServer* owner) : owner_(owner) {}

    grpc::Status SwapIndex(grpc::ServerContext* context, const v1::SwapIndexRequest* request,
                           v1::SwapIndexResponse* response) override {
      grpc::Status auth = Authorize(owner_, context, "SwapIndex", kAdminToken);
      if (!auth.ok()) return auth;
      if (absl::StrContains(request->bundle_path(), "missing")) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "bundle " + request->bundle_path() + ": manifest.json not found");
      }
      const std::string& path = request->bundle_path();
      const std::string version = path.substr(path.find_last_of('/') + 1);
      std::lock_guard<std::mutex> lock(mu_);
      response->set_previous_bundle_version(bundle_version_);
      response->set_bundle_version(version);
      response->set_vector_count(1000);
      response->set_load_seconds(0.25);
      bundle_version_ = version;
      return grpc::Status::OK;
    }

    grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest*,
                           v1::GetStatusResponse* response) override {
      grpc::Status auth = Authorize(owner_, context, "GetStatus", kAdminToken);
      if (!auth.ok()) return auth;
      response->set_serving(true);
      response->set_server_version("geolocd-fake 0.1.0");
      response->set_uptime_seconds(3725);
      v1::ModelStatus* model = response->mutable_model();
      model->set_name("resnet18-gem");
      model->set_backbone("resnet18");
      model->set_head("gem");
      model->set_dim(512);
      model->set_metric("ip");
      model->set_fingerprint("0123abcd");
      model->set_input_height(224);
      model->set_input_width(224);
      model->set_precision("bf16");
      model->set_device("cpu");
      v1::BundleStatus* bundle = response->mutable_bundle();
      {
        std::lock_guard<std::mutex> lock(mu_);
        bundle->set_version(bundle_version_);
        bundle->set_path("/bundles/" + bundle_version_);
      }
      bundle->set_vector_count(1000);
      bundle->set_shard_count(2);
      bundle->set_index_type("flat_ip");
      bundle->set_created_at("2024-01-01T00:00:00Z");
      bundle->set_has_cells(true);
      v1::SwapRecord* swap = response->mutable_last_swap();
      swap->set_bundle_path("/bundles/fake-bundle-v1");
      swap->set_ok(true);
      swap->set_unix_time(1700000000);
      swap->set_load_seconds(0.5);
      swap->set_trigger("rpc");
      response->mutable_defaults()->set_k(60);
      response->mutable_defaults()->set_estimator(v1::ESTIMATOR_SPHERICAL_KDE);
      response->mutable_defaults()->set_bandwidth_km(1.0);
      response->set_max_batch(16);
      response->set_max_batch_wait_ms(2.0);
      response->set_queue_capacity(256);
      return grpc::Status::OK;
    }

   private:
    FakeServer* owner_;
    std::mutex mu_;
    std::string bundle_version_ = kBundleVersion;
  };

  Geolocator geolocator_;
  Admin admin_;
};

std::unique_ptr<FakeServer> FakeServer::Start(const FakeServerOptions& options) {
  std::unique_ptr<FakeServer> server(new FakeServer());
  server->impl_ = std::make_unique<Impl>(server.get(), options.stream_batch);
  // gRPC's own grpc.health.v1.Health: what the client's hand-encoded messages must match.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      "127.0.0.1:0", options.credentials ? options.credentials : grpc::InsecureServerCredentials(),
      &server->port_);
  builder.RegisterService(&server->impl_->geolocator_);
  builder.RegisterService(&server->impl_->admin_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) return nullptr;
  server->SetServing("geoloc.v1.Geolocator", true);
  return server;
}

FakeServer::~FakeServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
}

void FakeServer::SetServing(const std::string& service, bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

std::string FakeServer::last_authorization(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = authorization_.find(method);
  return it == authorization_.end() ? std::string() : it->second;
}

std::shared_ptr<grpc::ServerCredentials> TlsServerCredentials(
    const ::geoloc::testing::TlsMaterial& tls, bool require_client_cert) {
  grpc::SslServerCredentialsOptions ssl(
      require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_root_certs = ::geoloc::testing::ReadTestFile(tls.ca_cert());
  ssl.pem_key_cert_pairs.push_back({::geoloc::testing::ReadTestFile(tls.server_key()),
                                    ::geoloc::testing::ReadTestFile(tls.server_cert())});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace geoloc::client::testing
