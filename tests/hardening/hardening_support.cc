#include "hardening_support.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
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

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = (fs::temp_directory_path() /
           absl::StrCat("geoloc-", tag, "-", ::getpid(), "-", counter++))
              .string();
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
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
                                     "\"}"));
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
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

pid_t FindGeolocdChild() {
  std::error_code ec;
  const fs::path geolocd = fs::canonical(GEOLOC_GEOLOCD_PATH, ec);
  pid_t found = -1;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ')'.
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
    pid_t ppid;
    if (fields.size() < 2 || fields[0] == "Z" || !absl::SimpleAtoi(fields[1], &ppid) ||
        ppid != ::getpid()) {
      continue;
    }
    std::error_code exe_ec;
    if (fs::read_symlink(entry.path() / "exe", exe_ec) != geolocd) continue;
    if (found != -1) return -1;  // ambiguous
    found = pid;
  }
  return found;
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

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
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
