// geolocd --audit_log end to end: every call of every kind, over gRPC and HTTP, is in the log
// exactly once after rotation and SIGTERM (counted against the server's own
// geoloc_requests_total), callers are named by their token's name, and no token is ever written.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/sha256.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"

namespace geoloc::testing {
namespace {

constexpr char kClientToken[] = "client-s3cret-7f3a";
constexpr char kAdminToken[] = "admin-s3cret-91c2";

// Sum of geoloc_requests_total over every code, per method.
std::map<std::string, double> RequestsByMethod(const std::string& exposition) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(exposition, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "geoloc_requests_total{")) continue;
    const size_t m = line.find("method=\"");
    const size_t space = line.rfind(' ');
    double v = 0;
    if (m == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &v)) continue;
    const size_t start = m + 8;
    out[std::string(line.substr(start, line.find('"', start) - start))] += v;
  }
  return out;
}

// A string field of a JSON line ("key":"value"), empty when absent.
std::string Field(const std::string& line, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":\"");
  const size_t at = line.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  return line.substr(start, line.find('"', start) - start);
}

// The first entry of "image_sha256":["...", ...].
std::string FirstImageHash(const std::string& line) {
  const std::string needle = "\"image_sha256\":[\"";
  const size_t at = line.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  return line.substr(start, line.find('"', start) - start);
}

TEST(ServerAuditTest, EveryCallIsLoggedOnceThroughRotationAndSigtermWithoutTokens) {
  const Fixture fixture = GetFixture();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_GE(queries.size(), 8u);
  const ScratchDir dir("audit-e2e");
  WriteTestFile(dir.file("tokens"), absl::StrCat("dispatch-north ", kClientToken, "\n"));
  WriteTestFile(dir.file("admin_tokens"), absl::StrCat("ops-oncall ", kAdminToken, "\n"));
  const std::string log_path = dir.file("audit.jsonl");

  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--token_file=" + dir.file("tokens"));
  flags.push_back("--admin_token_file=" + dir.file("admin_tokens"));
  flags.push_back("--audit_log=" + log_path);
  flags.push_back("--audit_log_max_mb=0.001");  // about 1 KB: rotates every line or two
  flags.push_back("--audit_log_keep=10000");
  flags.push_back("--audit_fsync_ms=60000");    // only the shutdown's sync makes them durable
  flags.push_back("--http_address=127.0.0.1:0");
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();

  client::ClientOptions options;
  options.token = kClientToken;
  options.admin_token = kAdminToken;
  auto client = server.NewClient(options);
  client::ClientOptions wrong;
  wrong.token = "not-the-token";
  auto stranger = server.NewClient(wrong);

  // Locate: 6 answered, one bad option, one unauthorised; Explain; a stream of 4 (one bad);
  // GetStatus; a SwapIndex that is refused.
  std::set<std::string> located;
  for (int i = 0; i < 6; ++i) {
    v1::LocateRequest request;
    request.set_image(queries[i].bytes);
    ASSERT_TRUE(client->Locate(request).ok());
    located.insert(Sha256Hex(queries[i].bytes));
  }
  v1::LocateRequest bad;
  bad.set_image(queries[0].bytes);
  bad.mutable_options()->set_k(100000);
  EXPECT_EQ(client->Locate(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stranger->Locate(bad).status().code(), absl::StatusCode::kPermissionDenied);
  v1::ExplainRequest explain;
  explain.set_image(queries[6].bytes);
  explain.set_return_overlay(false);
  ASSERT_TRUE(client->Explain(explain).ok());
  int next = 0;
  auto summary = client->LocateStream(
      [&]() -> std::optional<v1::LocateStreamRequest> {
        if (next == 4) return std::nullopt;
        v1::LocateStreamRequest item;
        item.set_item_id(absl::StrCat("item-", next));
        item.set_image(next == 2 ? std::string("not an image") : queries[next].bytes);
        ++next;
        return item;
      },
      [](const v1::LocateStreamResponse&) {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(client->GetStatus().ok());
  v1::SwapIndexRequest swap;
  swap.set_bundle_path("/no/such/bundle");
  EXPECT_FALSE(client->SwapIndex(swap).ok());

  // Over HTTP: one Locate answered (its photo is not among the gRPC ones), one without a token.
  httplib::Client http("127.0.0.1", server.http_port());
  const std::string http_body =
      absl::StrCat("{\"image\":\"", absl::Base64Escape(queries[7].bytes), "\"}");
  httplib::Headers with_token = {{"Authorization", absl::StrCat("Bearer ", kClientToken)}};
  auto http_ok = http.Post("/v1/locate", with_token, http_body, "application/json");
  ASSERT_TRUE(http_ok) << httplib::to_string(http_ok.error());
  ASSERT_EQ(http_ok->status, 200) << http_ok->body;
  const std::string http_sha = Sha256Hex(queries[7].bytes);
  auto http_refused = http.Post("/v1/locate", http_body, "application/json");
  ASSERT_TRUE(http_refused);
  EXPECT_EQ(http_refused->status, 401) << http_refused->body;

  // The server's own count of the calls it answered, before it stops.
  auto exposition = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(exposition.ok()) << exposition.status();
  const std::map<std::string, double> calls = RequestsByMethod(*exposition);
  EXPECT_EQ(calls.at("Locate"), 10);  // 8 over gRPC, 2 over HTTP
  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();

  // Read every file: PATH, PATH.1, PATH.2 ...
  std::vector<std::string> lines;
  int files = 0;
  for (int i = 0;; ++i) {
    const std::string file = i == 0 ? log_path : absl::StrCat(log_path, ".", i);
    if (!std::filesystem::exists(file)) break;
    ++files;
    const std::string text = ReadTestFile(file);
    EXPECT_FALSE(absl::StrContains(text, kClientToken)) << file;
    EXPECT_FALSE(absl::StrContains(text, kAdminToken)) << file;
    EXPECT_FALSE(absl::StrContains(text, "not-the-token")) << file;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      lines.emplace_back(line);
    }
  }
  EXPECT_GT(files, 3) << "the log should have rotated";

  std::map<std::string, double> logged;
  std::map<std::string, int> located_logged;
  int http_lines = 0;
  std::set<std::string> items;
  for (const std::string& line : lines) {
    ASSERT_TRUE(absl::StartsWith(line, "{\"time\":\"") && absl::EndsWith(line, "}")) << line;
    EXPECT_FALSE(absl::StrContains(line, "audit_records_dropped")) << line;
    const std::string method = Field(line, "method");
    const std::string code = Field(line, "code");
    if (method == "LocateStream/item") {
      EXPECT_TRUE(items.insert(Field(line, "item_id")).second) << "item logged twice: " << line;
      EXPECT_EQ(Field(line, "caller"), "dispatch-north");
      continue;
    }
    logged[method] += 1;
    if (Field(line, "transport") == "http") {
      ++http_lines;
      EXPECT_EQ(method, "Locate") << line;
      // A refused caller's body is never read: no hash for it.
      EXPECT_EQ(FirstImageHash(line), code == "OK" ? http_sha : "") << line;
      EXPECT_EQ(Field(line, "caller"), code == "OK" ? "dispatch-north" : "") << line;
      if (code == "OK") continue;  // not one of the gRPC photos counted below
    }
    if (method == "Locate" && code == "OK") {
      ++located_logged[FirstImageHash(line)];
      EXPECT_EQ(Field(line, "caller"), "dispatch-north") << line;
      EXPECT_TRUE(absl::StrContains(line, "\"answer\":{\"best\":{\"latitude\":")) << line;
      EXPECT_FALSE(Field(line, "bundle_version").empty()) << line;
    }
    if (method == "Locate" && code == "PERMISSION_DENIED") {
      EXPECT_EQ(Field(line, "caller"), "");
    }
    if (method == "GetStatus" || method == "SwapIndex") {
      EXPECT_EQ(Field(line, "caller"), "ops-oncall") << line;
    }
    EXPECT_TRUE(absl::StartsWith(Field(line, "peer"), "ipv4:127.0.0.1:") ||
                absl::StartsWith(Field(line, "peer"), "ipv6:"))
        << line;
  }
  // Every call exactly once, by the server's own counters (both transports).
  EXPECT_EQ(logged, calls);
  EXPECT_EQ(http_lines, 2);
  EXPECT_EQ(items, (std::set<std::string>{"item-0", "item-1", "item-2", "item-3"}));
  ASSERT_EQ(located_logged.size(), located.size());
  for (const auto& [sha, n] : located_logged) {
    EXPECT_TRUE(located.count(sha)) << sha;
    EXPECT_EQ(n, 1) << sha;
  }
}

// --audit_store_images: the photos of authorised calls (gRPC Locate, LocateIncident, HTTP Locate)
// are kept under their SHA-256, byte for byte and once however often they are sent; a caller
// refused at the token check gets its hash logged but no photo kept. The log's name takes the
// host's name from {hostname}.
TEST(ServerAuditTest, StoredPhotosAreTheAuthorisedCallersOnlyOncePerHashByteForByte) {
  const Fixture fixture = GetFixture();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_GE(queries.size(), 7u);
  const ScratchDir dir("audit-photos");
  WriteTestFile(dir.file("tokens"), absl::StrCat("dispatch-north ", kClientToken, "\n"));
  const std::string photos = dir.file("photos");
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--token_file=" + dir.file("tokens"));
  // {hostname}: the pod's name in Kubernetes (deploy/k8s/base/geolocd.flags).
  flags.push_back("--audit_log=" + dir.file("audit-{hostname}.jsonl"));
  flags.push_back("--audit_store_images=" + photos);
  flags.push_back("--http_address=127.0.0.1:0");
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();

  client::ClientOptions options;
  options.token = kClientToken;
  auto client = server.NewClient(options);
  client::ClientOptions wrong;
  wrong.token = "not-the-token";
  auto stranger = server.NewClient(wrong);
  std::map<std::string, std::string> kept;  // SHA-256 -> the photo, for every authorised call
  auto locate = [&](client::Client& c, const QueryImage& q) {
    v1::LocateRequest request;
    request.set_image(q.bytes);
    return c.Locate(request).status();
  };
  for (int i : {0, 0, 1}) {  // photo 0 twice: stored once
    ASSERT_TRUE(locate(*client, queries[i]).ok());
    kept[Sha256Hex(queries[i].bytes)] = queries[i].bytes;
  }
  EXPECT_EQ(locate(*stranger, queries[2]).code(), absl::StatusCode::kPermissionDenied);
  v1::LocateIncidentRequest incident;
  for (int i : {3, 4}) {
    incident.add_images(queries[i].bytes);
    kept[Sha256Hex(queries[i].bytes)] = queries[i].bytes;
  }
  ASSERT_TRUE(client->LocateIncident(incident).ok());
  v1::LocateIncidentRequest refused_incident;
  refused_incident.add_images(queries[6].bytes);
  EXPECT_EQ(stranger->LocateIncident(refused_incident).status().code(),
            absl::StatusCode::kPermissionDenied);
  httplib::Client http("127.0.0.1", server.http_port());
  const std::string body = absl::StrCat("{\"image\":\"", absl::Base64Escape(queries[5].bytes), "\"}");
  auto answered = http.Post("/v1/locate", {{"Authorization", absl::StrCat("Bearer ", kClientToken)}},
                            body, "application/json");
  ASSERT_TRUE(answered) << httplib::to_string(answered.error());
  ASSERT_EQ(answered->status, 200) << answered->body;
  kept[Sha256Hex(queries[5].bytes)] = queries[5].bytes;
  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();  // drains the audit queue

  std::map<std::string, std::string> stored;
  for (const auto& entry : std::filesystem::directory_iterator(photos)) {
    stored[entry.path().filename().string()] = ReadTestFile(entry.path().string());
  }
  EXPECT_EQ(stored.size(), kept.size());
  for (const auto& [sha, bytes] : kept) {
    ASSERT_TRUE(stored.count(sha)) << "photo " << sha << " was not kept";
    EXPECT_TRUE(stored[sha] == bytes) << "photo " << sha << " differs from what was sent";
  }
  // The refused callers' photos are in the log by hash, not on disk.
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string log = ReadTestFile(dir.file(absl::StrCat("audit-", host, ".jsonl")));
  for (int i : {2, 6}) {
    const std::string sha = Sha256Hex(queries[i].bytes);
    EXPECT_TRUE(absl::StrContains(log, sha)) << "refused call " << i << " not logged by hash";
    EXPECT_FALSE(stored.count(sha)) << "a refused caller's photo was kept";
  }
}

}  // namespace
}  // namespace geoloc::testing
