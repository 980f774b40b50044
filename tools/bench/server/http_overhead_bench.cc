// http_overhead_bench: what the HTTP/JSON path adds to a Locate over gRPC, against one running
// geolocd (docs/BENCHMARKS.md "HTTP/JSON API overhead"; the goal is under 2 ms).
//
//   http_overhead_bench --grpc 127.0.0.1:50051 --http 127.0.0.1:8080 --image photo.jpg
//       [--calls 200] [--warmup 20] [--token T]
//
// One call at a time, the three ways interleaved (gRPC, HTTP with a JSON body, HTTP multipart;
// each round starts with the next way), so that drift in the machine's load falls on all three
// alike; each way keeps its connection
// (gRPC channel, HTTP keep-alive). Prints, per way, the client-observed latency (median, p10,
// p90), the server's own total_ms (from the answer: the shared part, admission to the finished
// answer, the same code for both transports) and, per call, the client's time minus the server's
// total_ms: what lies outside the shared part (request parsing, answer printing, framing, the
// connection, the hand-offs between threads). The overhead of the HTTP path is the difference of
// that last median to gRPC's; unlike the raw latencies it does not carry the inference time's
// noise. Exit 1 when a call fails.
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/geoloc_client.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, grpc, "127.0.0.1:50051", "geolocd's gRPC address");
ABSL_FLAG(std::string, http, "127.0.0.1:8080", "geolocd's --http_address");
ABSL_FLAG(std::string, image, "", "the photo located on every call");
ABSL_FLAG(int, calls, 200, "measured calls per way");
ABSL_FLAG(int, warmup, 20, "unmeasured calls per way first");
ABSL_FLAG(std::string, token, "", "client token, if the server wants one");

namespace {

struct Series {
  std::string name;
  std::vector<double> client_ms;
  std::vector<double> server_ms;
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::ifstream file(absl::GetFlag(FLAGS_image), std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  const std::string image = bytes.str();
  if (image.empty()) {
    std::cerr << "http_overhead_bench: --image is empty or unreadable\n";
    return 2;
  }
  const std::string token = absl::GetFlag(FLAGS_token);

  geoloc::client::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_grpc);
  options.token = token;
  auto grpc = geoloc::client::Client::Connect(options);
  if (!grpc.ok()) {
    std::cerr << "http_overhead_bench: " << grpc.status() << "\n";
    return 2;
  }
  const std::string http_address = absl::GetFlag(FLAGS_http);
  const size_t colon = http_address.rfind(':');
  httplib::Client http(http_address.substr(0, colon), std::stoi(http_address.substr(colon + 1)));
  http.set_keep_alive(true);
  http.set_read_timeout(120, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);

  geoloc::v1::LocateRequest request;
  request.set_image(image);
  const std::string json_body = absl::StrCat("{\"image\":\"", absl::Base64Escape(image), "\"}");
  const httplib::MultipartFormDataItems form = {{"image", image, "photo.jpg", "image/jpeg"}};

  std::vector<Series> series = {
      {"gRPC", {}, {}}, {"HTTP JSON", {}, {}}, {"HTTP multipart", {}, {}}};
  auto call = [&](size_t way) -> absl::StatusOr<double> {  // returns the server's total_ms
    if (way == 0) {
      auto response = (*grpc)->Locate(request);
      if (!response.ok()) return response.status();
      return response->timings().total_ms();
    }
    auto res = way == 1 ? http.Post("/v1/locate", headers, json_body, "application/json")
                        : http.Post("/v1/locate", headers, form);
    if (!res) return absl::UnavailableError(httplib::to_string(res.error()));
    if (res->status != 200) return absl::InternalError(res->body);
    geoloc::v1::LocateResponse response;
    if (!google::protobuf::util::JsonStringToMessage(res->body, &response).ok()) {
      return absl::InternalError("the HTTP answer is not a LocateResponse");
    }
    return response.timings().total_ms();
  };
  const int warmup = absl::GetFlag(FLAGS_warmup), calls = absl::GetFlag(FLAGS_calls);
  for (int i = 0; i < warmup + calls; ++i) {
    for (size_t k = 0; k < series.size(); ++k) {
      const size_t way = (k + static_cast<size_t>(i)) % series.size();  // each way leads in turn
      const absl::Time start = absl::Now();
      absl::StatusOr<double> server_ms = call(way);
      const double client_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
      if (!server_ms.ok()) {
        std::cerr << "http_overhead_bench: " << series[way].name << ": " << server_ms.status()
                  << "\n";
        return 1;
      }
      if (i < warmup) continue;
      series[way].client_ms.push_back(client_ms);
      series[way].server_ms.push_back(*server_ms);
    }
    if ((i + 1) % 50 == 0) std::cerr << "  " << (i + 1) << "/" << (warmup + calls) << " rounds\n";
  }
  std::printf("image %zu bytes, %d calls per way (interleaved, one at a time), %d warm-up\n",
              image.size(), calls, warmup);
  std::printf("%-16s %10s %8s %8s %10s %11s\n", "way", "median ms", "p10 ms", "p90 ms", "server ms",
              "outside ms");
  std::vector<double> outside_median;
  for (const Series& s : series) {
    std::vector<double> outside(s.client_ms.size());
    for (size_t i = 0; i < outside.size(); ++i) outside[i] = s.client_ms[i] - s.server_ms[i];
    outside_median.push_back(Quantile(outside, 0.5));
    std::printf("%-16s %10.2f %8.2f %8.2f %10.2f %11.2f\n", s.name.c_str(),
                Quantile(s.client_ms, 0.5), Quantile(s.client_ms, 0.1), Quantile(s.client_ms, 0.9),
                Quantile(s.server_ms, 0.5), outside_median.back());
  }
  for (size_t way = 1; way < series.size(); ++way) {
    std::printf(
        "%s: %.2f ms more than gRPC outside the shared part (medians; the raw latency "
        "medians differ by %.2f ms)\n",
        series[way].name.c_str(), outside_median[way] - outside_median[0],
        Quantile(series[way].client_ms, 0.5) - Quantile(series[0].client_ms, 0.5));
  }
  return 0;
}
