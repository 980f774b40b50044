#include "tests/hardening/hardening_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

#ifndef GEOLOC_CLI_PATH
#error "GEOLOC_CLI_PATH must point at the geoloc CLI"
#endif

namespace geoloc::hardening {
namespace fs = std::filesystem;

std::vector<std::string> HardeningFlags(const Fixture& fixture,
                                        const std::vector<std::string>& extra) {
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

std::string GoodImage(const Fixture& fixture) {
  const std::vector<testing::QueryImage> queries = testing::LoadQueries(fixture);
  if (queries.empty()) {
    std::fprintf(stderr, "no query images under %s (is $GEOLOC_SERVER_FIXTURE set?)\n",
                 fixture.world().c_str());
    std::abort();
  }
  return queries.front().bytes;
}

void WriteFileAtomic(const std::string& path, const std::string& contents) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  fs::rename(temp, path);
}

double Metric(const ServerProcess& server, const std::string& series) {
  absl::StatusOr<std::string> text = testing::HttpGet(server.metrics_port(), "/metrics");
  if (!text.ok()) {
    ADD_FAILURE() << "cannot read /metrics: " << text.status();
    return -1;
  }
  return testing::MetricValue(*text, series).value_or(0);
}

double RequestCount(const ServerProcess& server, const std::string& method,
                    const std::string& code) {
  return Metric(server, absl::StrCat("geoloc_requests_total{code=\"", code, "\",method=\"", method,
                                     "\",transport=\"grpc\"}"));
}

namespace {

absl::StatusOr<v1::GetStatusResponse> Status(const ServerProcess& server) {
  std::unique_ptr<client::Client> c = server.NewClient();
  if (c == nullptr) return absl::InternalError("no client");
  return c->GetStatus({absl::Seconds(10), false});
}

}  // namespace

int QueueDepth(const ServerProcess& server) {
  auto status = Status(server);
  return status.ok() ? static_cast<int>(status->queue_depth()) : -1;
}

int InFlight(const ServerProcess& server) {
  auto status = Status(server);
  return status.ok() ? static_cast<int>(status->in_flight()) : -1;
}

int AdmittedImages(const ServerProcess& server) {
  absl::StatusOr<std::string> text = testing::HttpGet(server.metrics_port(), "/metrics");
  if (!text.ok()) return -1;
  const double batched = testing::MetricValue(*text, "geoloc_batch_size_sum").value_or(0);
  const int queued = QueueDepth(server);
  return queued < 0 ? -1 : static_cast<int>(batched) + queued;
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    int64_t kib;
    if (absl::ConsumeSuffix(&rest, " kB") && absl::SimpleAtoi(rest, &kib)) return kib * 1024;
  }
  return -1;
}

std::string CliCommand(const std::string& args, const std::string& target) {
  return absl::StrCat("env -u GEOLOC_TOKEN -u GEOLOC_ADMIN_TOKEN ", ShellQuote(GEOLOC_CLI_PATH),
                      " ", args, " --server=", target);
}

Flood::Flood(const ServerProcess& server, std::string image, int calls, client::CallOptions call)
    : client_(server.NewClient()) {
  outstanding_.store(calls);
  auto shared_image = std::make_shared<const std::string>(std::move(image));
  for (int i = 0; i < calls; ++i) {
    threads_.emplace_back([this, shared_image, call] {
      v1::LocateRequest request;
      request.set_image(*shared_image);
      absl::StatusOr<v1::LocateResponse> response = client_->Locate(request, call);
      if (response.ok()) {
        ++succeeded_;
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        failures_.push_back(response.status());
      }
      --outstanding_;
    });
  }
}

Flood::~Flood() { Wait(); }

void Flood::Wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<absl::Status> Flood::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

}  // namespace geoloc::hardening
