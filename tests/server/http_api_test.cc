// The HTTP/JSON API against real geolocd processes on loopback (server/http_api.h,
// docs/HTTP_API.md): every endpoint, JSON and multipart bodies, the roles, TLS, the limits, bad
// input and its error bodies, the deadline header, PIDF-LO, the console's files, the metrics, and
// the same answer as gRPC for the same photo. Hostile HTTP (slow clients, header floods) is in
// tests/hardening/http_hostile_test.cc.
#include <httplib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/geoloc_client.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/server_process.h"
#include "tests/support/tls_material.h"
#include "tests/support/wait_until.h"

namespace geoloc::testing {
namespace {

constexpr char kClientToken[] = "http-client-token";
constexpr char kAdminToken[] = "http-admin-token";

std::string Bearer(const std::string& token) { return "Bearer " + token; }

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(json, &message, options);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << json.substr(0, 500);
  return message;
}

// The error body: exactly {"code": NAME, "message": non-empty}.
void ExpectErrorBody(const httplib::Result& res, int http_status, const std::string& code) {
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, http_status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  google::protobuf::Struct body = ParseJson<google::protobuf::Struct>(res->body);
  ASSERT_EQ(body.fields_size(), 2) << res->body;
  EXPECT_EQ(body.fields().at("code").string_value(), code) << res->body;
  EXPECT_FALSE(body.fields().at("message").string_value().empty()) << res->body;
}

std::string LocateJson(const std::string& image, const std::string& options_json = "{}") {
  return absl::StrCat("{\"image\":\"", absl::Base64Escape(image), "\",\"options\":", options_json,
                      "}");
}

// Answers of the same photo differ only in their timings.
void ClearTimings(v1::LocateResponse* response) { response->clear_timings(); }

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new Fixture(GetFixture());
    dir_ = new ScratchDir("http_api");
    // The console: an index, a script, a nested folder, and a secret beside (not under) it.
    const std::string console = dir_->path() + "/console";
    std::filesystem::create_directories(console + "/js");
    std::ofstream(console + "/index.html") << "<!doctype html><title>geoloc console</title>";
    std::ofstream(console + "/js/app.js") << "console.log('geoloc');";
    std::ofstream(dir_->path() + "/secret.txt") << "not for the web";
    std::filesystem::create_symlink(dir_->path() + "/secret.txt", console + "/leak.txt");
    std::vector<std::string> flags = ServerProcess::DefaultFlags(*fixture_);
    flags.push_back("--http_address=127.0.0.1:0");
    flags.push_back("--console_dir=" + console);
    server_ = new ServerProcess(
        flags, {{"GEOLOC_TOKEN", kClientToken}, {"GEOLOC_ADMIN_TOKEN", kAdminToken}});
    start_ = new absl::Status(server_->Start());
    queries_ = new std::vector<QueryImage>(LoadQueries(*fixture_));
  }
  static void TearDownTestSuite() {
    delete queries_;
    delete start_;
    delete server_;
    delete dir_;
    delete fixture_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_->ok()) << *start_;
    ASSERT_GT(server_->http_port(), 0);
    ASSERT_FALSE(queries_->empty());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(120, 0);
  }
  static const std::string& Image(size_t i = 0) { return (*queries_)[i].bytes; }
  httplib::Headers ClientAuth() const { return {{"Authorization", Bearer(kClientToken)}}; }
  std::unique_ptr<client::Client> GrpcClient() const {
    client::ClientOptions options;
    options.token = kClientToken;
    return server_->NewClient(options);
  }

  static Fixture* fixture_;
  static ScratchDir* dir_;
  static ServerProcess* server_;
  static absl::Status* start_;
  static std::vector<QueryImage>* queries_;
  std::unique_ptr<httplib::Client> http_;
};

Fixture* HttpApiTest::fixture_ = nullptr;
ScratchDir* HttpApiTest::dir_ = nullptr;
ServerProcess* HttpApiTest::server_ = nullptr;
absl::Status* HttpApiTest::start_ = nullptr;
std::vector<QueryImage>* HttpApiTest::queries_ = nullptr;

TEST_F(HttpApiTest, LocateOverJsonGivesTheGrpcAnswer) {
  auto grpc = GrpcClient();
  for (size_t i = 0; i < std::min<size_t>(3, queries_->size()); ++i) {
    v1::LocateRequest request;
    request.set_image(Image(i));
    request.mutable_options()->set_k(10);
    request.mutable_options()->set_return_neighbors(true);
    absl::StatusOr<v1::LocateResponse> over_grpc = grpc->Locate(request);
    ASSERT_TRUE(over_grpc.ok()) << over_grpc.status();

    auto res = http_->Post("/v1/locate", ClientAuth(),
                           LocateJson(Image(i), R"({"k":10,"return_neighbors":true})"),
                           "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    // Proto field names, as the contract says.
    EXPECT_TRUE(absl::StrContains(res->body, "\"uncertainty_km\"")) << res->body.substr(0, 300);
    v1::LocateResponse over_http = ParseJson<v1::LocateResponse>(res->body);
    ASSERT_GT(over_http.peaks_size(), 0);
    ASSERT_EQ(over_http.neighbors_size(), 10);
    ClearTimings(&over_http);
    ClearTimings(&*over_grpc);
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(*over_grpc, over_http)) << "query " << i << ": " << diff;
  }
}

TEST_F(HttpApiTest, LocateOverMultipartEqualsJson) {
  httplib::MultipartFormDataItems form = {
      {"image", Image(), "photo.jpg", "image/jpeg"},
      {"options", R"({"k": 7, "max_peaks": 2})", "", "application/json"}};
  auto multipart = http_->Post("/v1/locate", ClientAuth(), form);
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 200) << multipart->body;
  auto json = http_->Post("/v1/locate", ClientAuth(),
                          LocateJson(Image(), R"({"k": 7, "max_peaks": 2})"), "application/json");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200) << json->body;
  v1::LocateResponse a = ParseJson<v1::LocateResponse>(multipart->body);
  v1::LocateResponse b = ParseJson<v1::LocateResponse>(json->body);
  EXPECT_LE(a.peaks_size(), 2);
  ClearTimings(&a);
  ClearTimings(&b);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b));

  // Without options: the server's defaults.
  httplib::MultipartFormDataItems image_only = {{"image", Image(), "photo.jpg", "image/jpeg"}};
  auto plain = http_->Post("/v1/locate", ClientAuth(), image_only);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200) << plain->body;
}

TEST_F(HttpApiTest, MultipartMistakesAreInvalidArgument) {
  const std::vector<httplib::MultipartFormDataItems> bad = {
      {{"options", "{}", "", "application/json"}},  // no image
      {{"image", Image(), "a.jpg", "image/jpeg"}, {"image", Image(), "b.jpg", "image/jpeg"}},
      {{"image", Image(), "a.jpg", "image/jpeg"}, {"colour", "red", "", "text/plain"}},
      {{"image", Image(), "a.jpg", "image/jpeg"}, {"options", "{not json", "", ""}},
      {{"image", Image(), "a.jpg", "image/jpeg"}, {"options", R"({"kay": 3})", "", ""}},
      {{"image", "", "empty.jpg", "image/jpeg"}},
  };
  for (const auto& form : bad) {
    auto res = http_->Post("/v1/locate", ClientAuth(), form);
    ExpectErrorBody(res, 400, "INVALID_ARGUMENT");
  }
}

TEST_F(HttpApiTest, BadJsonUnknownFieldsAndBadOptionsAre400) {
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string("{\"image\": 12}"),
        std::string("{\"image\": \"!!!notbase64\"}"), LocateJson(Image(), R"({"kk": 1})"),
        LocateJson(Image(), R"({"k": -5})"), LocateJson(Image(), R"({"k": 1000000})"),
        std::string("{\"image\": \"\"}"), std::string("\xff\xfe garbage")}) {
    auto res = http_->Post("/v1/locate", ClientAuth(), body, "application/json");
    ExpectErrorBody(res, 400, "INVALID_ARGUMENT");
  }
  // Not an image at all: the decoder's INVALID_ARGUMENT.
  auto res = http_->Post("/v1/locate", ClientAuth(), LocateJson("definitely not a photo"),
                         "application/json");
  ExpectErrorBody(res, 400, "INVALID_ARGUMENT");
}

TEST_F(HttpApiTest, WrongContentTypeIs415) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "image/jpeg"}) {
    auto res = http_->Post("/v1/locate", ClientAuth(), LocateJson(Image()), type);
    ExpectErrorBody(res, 415, "INVALID_ARGUMENT");
  }
  auto res = http_->Post("/v1/explain", ClientAuth(), Image(), "image/jpeg");
  ExpectErrorBody(res, 415, "INVALID_ARGUMENT");
}

TEST_F(HttpApiTest, UnknownPathsAre404AndWrongMethods405) {
  ExpectErrorBody(http_->Get("/v1/nothing"), 404, "NOT_FOUND");
  ExpectErrorBody(http_->Post("/v1/Locate", ClientAuth(), "{}", "application/json"), 404,
                  "NOT_FOUND");
  auto get = http_->Get("/v1/locate", ClientAuth());
  ExpectErrorBody(get, 405, "UNIMPLEMENTED");
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  auto put = http_->Put("/v1/explain", ClientAuth(), "{}", "application/json");
  ExpectErrorBody(put, 405, "UNIMPLEMENTED");
  auto post_status = http_->Post("/v1/status", "{}", "application/json");
  ExpectErrorBody(post_status, 405, "UNIMPLEMENTED");
  EXPECT_EQ(post_status->get_header_value("Allow"), "GET, HEAD");
  ExpectErrorBody(http_->Delete("/healthz"), 405, "UNIMPLEMENTED");
  ExpectErrorBody(http_->Post("/index.html", "x", "text/plain"), 405, "UNIMPLEMENTED");
}

TEST_F(HttpApiTest, RolesAsGrpc) {
  const std::string body = LocateJson(Image());
  // No token: 401 with a challenge; a wrong one: 403; the admin token is not a client token.
  auto none = http_->Post("/v1/locate", body, "application/json");
  ExpectErrorBody(none, 401, "UNAUTHENTICATED");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  ExpectErrorBody(http_->Post("/v1/locate", {{"Authorization", "Basic dXNlcjpwdw=="}}, body,
                              "application/json"),
                  401, "UNAUTHENTICATED");
  ExpectErrorBody(
      http_->Post("/v1/locate", {{"Authorization", Bearer("wrong")}}, body, "application/json"),
      403, "PERMISSION_DENIED");
  ExpectErrorBody(
      http_->Post("/v1/locate", {{"Authorization", Bearer(kAdminToken)}}, body, "application/json"),
      403, "PERMISSION_DENIED");
  // Refused before the body is read: a stranger's bad JSON is still 401.
  ExpectErrorBody(http_->Post("/v1/locate", "{", "application/json"), 401, "UNAUTHENTICATED");
  ExpectErrorBody(http_->Post("/v1/explain", body, "application/json"), 401, "UNAUTHENTICATED");

  // GetStatus: the admin role only.
  ExpectErrorBody(http_->Get("/v1/status"), 401, "UNAUTHENTICATED");
  ExpectErrorBody(http_->Get("/v1/status", ClientAuth()), 403, "PERMISSION_DENIED");
  auto status = http_->Get("/v1/status", {{"Authorization", Bearer(kAdminToken)}});
  ASSERT_TRUE(status);
  ASSERT_EQ(status->status, 200) << status->body;
  v1::GetStatusResponse parsed = ParseJson<v1::GetStatusResponse>(status->body);
  EXPECT_TRUE(parsed.serving());
  EXPECT_FALSE(parsed.bundle().version().empty());

  // Health and readiness need no token.
  auto healthz = http_->Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  auto readyz = http_->Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
}

TEST_F(HttpApiTest, DeadlineHeader) {
  for (const char* bad : {"0", "-5", "soon", "1.5", "99999999999", "1e3", "+5"}) {
    httplib::Headers headers = ClientAuth();
    headers.emplace("X-Geoloc-Timeout-Ms", bad);
    ExpectErrorBody(http_->Post("/v1/locate", headers, LocateJson(Image()), "application/json"),
                    400, "INVALID_ARGUMENT");
  }
  // A deadline no Locate can meet (decoding alone takes longer than a millisecond).
  httplib::Headers tight = ClientAuth();
  tight.emplace("X-Geoloc-Timeout-Ms", "1");
  ExpectErrorBody(http_->Post("/v1/locate", tight, LocateJson(Image()), "application/json"), 504,
                  "DEADLINE_EXCEEDED");
  httplib::Headers ample = ClientAuth();
  ample.emplace("X-Geoloc-Timeout-Ms", "600000");
  auto ok = http_->Post("/v1/locate", ample, LocateJson(Image()), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(HttpApiTest, ExplainJsonAndMultipart) {
  auto json = http_->Post(
      "/v1/explain", ClientAuth(),
      absl::StrCat("{\"image\":\"", absl::Base64Escape(Image()), "\",\"peak_index\":0}"),
      "application/json");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200) << json->body;
  v1::ExplainResponse a = ParseJson<v1::ExplainResponse>(json->body);
  EXPECT_EQ(a.target_kind(), v1::ExplainResponse::TARGET_KIND_PEAK);
  ASSERT_GT(a.overlay_png().size(), 8u);
  EXPECT_EQ(a.overlay_png().substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  httplib::MultipartFormDataItems form = {
      {"image", Image(), "photo.jpg", "image/jpeg"},
      {"request", R"({"peak_index": 0, "return_overlay": false})", "", "application/json"}};
  auto multipart = http_->Post("/v1/explain", ClientAuth(), form);
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 200) << multipart->body;
  v1::ExplainResponse b = ParseJson<v1::ExplainResponse>(multipart->body);
  EXPECT_TRUE(b.overlay_png().empty());
  EXPECT_EQ(a.target_description(), b.target_description());

  // The image belongs in its own part.
  httplib::MultipartFormDataItems image_in_json = {
      {"image", Image(), "photo.jpg", "image/jpeg"},
      {"request", absl::StrCat("{\"image\":\"", absl::Base64Escape("x"), "\"}"), "", ""}};
  ExpectErrorBody(http_->Post("/v1/explain", ClientAuth(), image_in_json), 400, "INVALID_ARGUMENT");
  ExpectErrorBody(http_->Post("/v1/explain", ClientAuth(),
                              absl::StrCat("{\"image\":\"", absl::Base64Escape(Image()),
                                           "\",\"peak_index\":100000}"),
                              "application/json"),
                  400, "INVALID_ARGUMENT");
}

// The text of the first node `xpath` selects in a PIDF-LO document, with its namespaces.
std::string XPathText(xmlDocPtr doc, const char* xpath) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  xmlXPathRegisterNs(ctx, BAD_CAST "p", BAD_CAST "urn:ietf:params:xml:ns:pidf");
  xmlXPathRegisterNs(ctx, BAD_CAST "gml", BAD_CAST "http://www.opengis.net/gml");
  xmlXPathRegisterNs(ctx, BAD_CAST "gs", BAD_CAST "http://www.opengis.net/pidflo/1.0");
  xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
  std::string text;
  if (result != nullptr && result->nodesetval != nullptr && result->nodesetval->nodeNr > 0) {
    xmlChar* content = xmlNodeGetContent(result->nodesetval->nodeTab[0]);
    text = reinterpret_cast<const char*>(content);
    xmlFree(content);
  }
  xmlXPathFreeObject(result);
  xmlXPathFreeContext(ctx);
  return text;
}

TEST_F(HttpApiTest, PidfLoOnAcceptParsesBackToTheAnswer) {
  auto json = http_->Post("/v1/locate", ClientAuth(), LocateJson(Image()), "application/json");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200);
  v1::LocateResponse answer = ParseJson<v1::LocateResponse>(json->body);

  httplib::Headers headers = ClientAuth();
  headers.emplace("Accept", "application/pidf+xml");
  auto res = http_->Post("/v1/locate?pidf_lo_entity=pres:caller@psap.example", headers,
                         LocateJson(Image()), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/pidf+xml");
  xmlDocPtr doc = xmlReadMemory(res->body.data(), static_cast<int>(res->body.size()), "pidf.xml",
                                nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR);
  ASSERT_NE(doc, nullptr) << res->body;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(root->name)), "presence");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(xmlGetProp(root, BAD_CAST "entity"))),
            "pres:caller@psap.example");
  const std::string pos = XPathText(doc, "//p:tuple[@id='best']//gs:Circle/gml:pos");
  xmlFreeDoc(doc);
  std::vector<std::string> lat_lon = absl::StrSplit(pos, ' ', absl::SkipEmpty());
  ASSERT_EQ(lat_lon.size(), 2u) << res->body;
  double lat = 0, lon = 0;
  ASSERT_TRUE(absl::SimpleAtod(lat_lon[0], &lat) && absl::SimpleAtod(lat_lon[1], &lon));
  // Latitude first, 7 decimals.
  EXPECT_NEAR(lat, answer.best().location().latitude(), 1e-7);
  EXPECT_NEAR(lon, answer.best().location().longitude(), 1e-7);

  // Multipart too; a bad level is the caller's mistake.
  httplib::MultipartFormDataItems form = {{"image", Image(), "photo.jpg", "image/jpeg"}};
  auto multipart = http_->Post("/v1/locate", headers, form);
  ASSERT_TRUE(multipart);
  EXPECT_EQ(multipart->status, 200);
  EXPECT_TRUE(absl::StrContains(multipart->body, "ni:///sha-256;")) << multipart->body;
  ExpectErrorBody(
      http_->Post("/v1/locate?pidf_lo_level=2", headers, LocateJson(Image()), "application/json"),
      400, "INVALID_ARGUMENT");
  // q=0 refuses PIDF-LO: JSON.
  httplib::Headers refused = ClientAuth();
  refused.emplace("Accept", "application/pidf+xml;q=0, application/json");
  auto plain = http_->Post("/v1/locate", refused, LocateJson(Image()), "application/json");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->get_header_value("Content-Type"), "application/json");
}

TEST_F(HttpApiTest, ConsoleFilesAndNothingElse) {
  auto index = http_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(index->body, "geoloc console"));
  auto named = http_->Get("/index.html");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->body, index->body);
  auto script = http_->Get("/js/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto head = http_->Head("/js/app.js");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  // No listings, no escapes: traversal (plain and percent-encoded), a link leading out, a folder.
  for (const char* path :
       {"/js", "/js/", "/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt",
        "/..%2fsecret.txt", "/leak.txt", "/missing.html", "/index.html%00.js"}) {
    auto res = http_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path << ": " << res->body;
    EXPECT_FALSE(absl::StrContains(res->body, "not for the web")) << path;
  }
}

TEST_F(HttpApiTest, MetricsCountHttpCallsApartFromGrpc) {
  auto read = [&](const std::string& series) {
    auto text = HttpGet(server_->metrics_port(), "/metrics");
    return text.ok() ? MetricValue(*text, series).value_or(0) : -1;
  };
  const std::string ok_http =
      "geoloc_requests_total{code=\"OK\",method=\"Locate\",transport=\"http\"}";
  const std::string bad_http =
      "geoloc_requests_total{code=\"INVALID_ARGUMENT\",method=\"Locate\",transport=\"http\"}";
  const std::string ok_grpc =
      "geoloc_requests_total{code=\"OK\",method=\"Locate\",transport=\"grpc\"}";
  const double ok_before = read(ok_http), bad_before = read(bad_http), grpc_before = read(ok_grpc);
  auto res = http_->Post("/v1/locate", ClientAuth(), LocateJson(Image()), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto bad = http_->Post("/v1/locate", ClientAuth(), "{", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(read(ok_http), ok_before + 1);
  EXPECT_EQ(read(bad_http), bad_before + 1);
  EXPECT_EQ(read(ok_grpc), grpc_before);
}

// Limits: an oversized body is refused with 413 before it is read, a message over the gRPC limit
// with 413, an image over the pixel limit with the decoder's RESOURCE_EXHAUSTED.
TEST(HttpApiLimitsTest, OversizedBodiesAndImages) {
  Fixture fixture = GetFixture();
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--http_address=127.0.0.1:0");
  flags.push_back("--max_message_bytes=65536");
  flags.push_back("--max_image_pixels=10000");  // the fixture's 320x240 photos are over it
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  httplib::Client http("127.0.0.1", server.http_port());
  http.set_read_timeout(120, 0);
  std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_FALSE(queries.empty());

  const std::string huge(200'000, 'x');
  auto body = http.Post("/v1/locate", LocateJson(huge), "application/json");
  ExpectErrorBody(body, 413, "RESOURCE_EXHAUSTED");
  // Under the body limit (base64 room) but over the message limit once decoded.
  const std::string big(70'000, 'x');
  ExpectErrorBody(http.Post("/v1/locate", LocateJson(big), "application/json"), 413,
                  "RESOURCE_EXHAUSTED");
  httplib::MultipartFormDataItems form = {{"image", big, "big.jpg", "image/jpeg"}};
  ExpectErrorBody(http.Post("/v1/locate", form), 413, "RESOURCE_EXHAUSTED");
  auto pixels = http.Post("/v1/locate", LocateJson(queries[0].bytes), "application/json");
  ExpectErrorBody(pixels, 429, "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(absl::StrContains(pixels->body, "pixel")) << pixels->body;
  // Still serving.
  auto healthz = http.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
}

// Calls the HTTP layer answers itself (refused before they reach GeolocatorCalls, or GetStatus)
// are audited as gRPC calls are: one line each, transport "http", the caller's token name, and as
// many lines as the server counted calls.
TEST(HttpApiAuditTest, RefusalsBeforeTheCallAndGetStatusAreAudited) {
  const Fixture fixture = GetFixture();
  const ScratchDir dir("http_audit");
  WriteTestFile(dir.file("tokens"), absl::StrCat("dispatch-north ", kClientToken, "\n"));
  WriteTestFile(dir.file("admin_tokens"), absl::StrCat("ops-oncall ", kAdminToken, "\n"));
  const std::string log_path = dir.file("audit.jsonl");
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--http_address=127.0.0.1:0");
  flags.push_back("--token_file=" + dir.file("tokens"));
  flags.push_back("--admin_token_file=" + dir.file("admin_tokens"));
  flags.push_back("--audit_log=" + log_path);
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_FALSE(queries.empty());

  httplib::Client http("127.0.0.1", server.http_port());
  http.set_read_timeout(120, 0);
  const httplib::Headers client = {{"Authorization", Bearer(kClientToken)}};
  const httplib::Headers admin = {{"Authorization", Bearer(kAdminToken)}};
  httplib::Headers bad_timeout = client;
  bad_timeout.emplace("X-Geoloc-Timeout-Ms", "soon");
  ExpectErrorBody(http.Post("/v1/locate", client, "{\"image\": not json", "application/json"),
                  400, "INVALID_ARGUMENT");
  ExpectErrorBody(
      http.Post("/v1/locate", bad_timeout, LocateJson(queries[0].bytes), "application/json"), 400,
      "INVALID_ARGUMENT");
  ExpectErrorBody(http.Post("/v1/explain", client, "an image", "text/plain"), 415,
                  "INVALID_ARGUMENT");
  ExpectErrorBody(http.Get("/v1/locate", client), 405, "UNIMPLEMENTED");
  ExpectErrorBody(http.Get("/v1/status"), 401, "UNAUTHENTICATED");
  auto status = http.Get("/v1/status", admin);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200) << status->body;

  auto exposition = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(exposition.ok()) << exposition.status();
  double http_calls = 0;
  for (absl::string_view line : absl::StrSplit(*exposition, '\n')) {
    double v = 0;
    if (absl::StartsWith(line, "geoloc_requests_total{") &&
        absl::StrContains(line, "transport=\"http\"") &&
        absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) {
      http_calls += v;
    }
  }
  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();

  // method code caller, one per HTTP line.
  std::multiset<std::string> logged;
  std::ifstream log(log_path);
  for (std::string line; std::getline(log, line);) {
    google::protobuf::Struct record = ParseJson<google::protobuf::Struct>(line);
    const auto& f = record.fields();
    if (!f.count("transport") || f.at("transport").string_value() != "http") continue;
    EXPECT_TRUE(absl::StartsWith(f.at("peer").string_value(), "ipv4:127.0.0.1:")) << line;
    EXPECT_FALSE(absl::StrContains(line, kClientToken)) << line;
    EXPECT_FALSE(absl::StrContains(line, kAdminToken)) << line;
    logged.insert(absl::StrCat(f.at("method").string_value(), " ", f.at("code").string_value(),
                               " ", f.count("caller") ? f.at("caller").string_value() : ""));
  }
  const std::multiset<std::string> expected = {
      "Locate INVALID_ARGUMENT dispatch-north",   // unparseable body
      "Locate INVALID_ARGUMENT dispatch-north",   // bad X-Geoloc-Timeout-Ms
      "Explain INVALID_ARGUMENT dispatch-north",  // wrong content type (415)
      "Locate UNIMPLEMENTED ",                    // wrong method (405)
      "GetStatus UNAUTHENTICATED ",
      "GetStatus OK ops-oncall",
  };
  EXPECT_EQ(logged, expected);
  EXPECT_EQ(http_calls, static_cast<double>(expected.size()));
}

// The deadline flags are checked at start: out of range stops geolocd with a message naming the
// flag.
TEST(HttpApiFlagsTest, DeadlinesOutOfRangeStopTheStart) {
  const Fixture fixture = GetFixture();
  for (const std::string flag :
       {"--http_head_deadline_seconds=0", "--http_body_deadline_seconds=3601"}) {
    std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
    flags.push_back("--http_address=127.0.0.1:0");
    flags.push_back(flag);
    ServerProcess server(flags);
    EXPECT_FALSE(server.Start(true, absl::Seconds(60)).ok()) << flag;
    EXPECT_TRUE(absl::StrContains(server.Log(), flag.substr(2, flag.find('=') - 2)))
        << server.Log();
    EXPECT_TRUE(absl::StrContains(server.Log(), "must be in [1, 3600]")) << server.Log();
  }
}

class HttpApiTlsTest : public TlsMaterialTest {};

TEST_F(HttpApiTlsTest, ServesTlsWithTheGrpcCertificateAndMutualTls) {
  // The refused handshakes below make OpenSSL write into closed sockets: EPIPE, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  Fixture fixture = GetFixture();
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--http_address=127.0.0.1:0");
  flags.push_back("--tls_cert=" + tls().server_cert());
  flags.push_back("--tls_key=" + tls().server_key());
  flags.push_back("--tls_client_ca=" + tls().ca_cert());
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start(/*wait_serving=*/false).ok()) << server.Log();
  std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_FALSE(queries.empty());

  auto make_client = [&](bool with_cert) {
    auto client =
        with_cert ? std::make_unique<httplib::SSLClient>("127.0.0.1", server.http_port(),
                                                         tls().client_cert(), tls().client_key())
                  : std::make_unique<httplib::SSLClient>("127.0.0.1", server.http_port());
    client->set_ca_cert_path(tls().ca_cert().c_str());
    client->enable_server_certificate_verification(true);
    client->set_read_timeout(120, 0);
    return client;
  };
  auto trusted = make_client(true);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto res = trusted->Get("/readyz");
        return res && res->status == 200;
      },
      absl::Seconds(120)))
      << server.Log();
  auto res = trusted->Post("/v1/locate", LocateJson(queries[0].bytes), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  // No client certificate: the handshake fails. Plaintext: no answer.
  EXPECT_FALSE(make_client(false)->Get("/healthz"));
  httplib::Client plaintext("127.0.0.1", server.http_port());
  auto plain = plaintext.Get("/healthz");
  EXPECT_TRUE(!plain || plain->status != 200);
}

}  // namespace
}  // namespace geoloc::testing
