#include "tests/support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/common/file_util.h"

#ifndef GEOLOC_GEOLOCD_PATH
#error "GEOLOC_GEOLOCD_PATH must point at the geolocd binary"
#endif

namespace geoloc::testing {

Fixture GetFixture() {
  const char* dir = std::getenv("GEOLOC_SERVER_FIXTURE");
  return Fixture{dir != nullptr ? dir : ""};
}

std::vector<QueryImage> LoadQueries(const Fixture& fixture) {
  std::vector<QueryImage> out;
  std::ifstream csv(fixture.world() + "/world.csv");
  std::string line;
  std::getline(csv, line);  // header: path,lat,lon,place,split,city,region,view
  while (std::getline(csv, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 5 || f[4] != "query") continue;
    QueryImage q;
    q.path = fixture.world() + "/" + f[0];
    if (!absl::SimpleAtod(f[1], &q.lat) || !absl::SimpleAtod(f[2], &q.lon)) continue;
    auto bytes = ReadFileToString(q.path);
    if (!bytes.ok()) continue;
    q.bytes = *std::move(bytes);
    out.push_back(std::move(q));
  }
  return out;
}

ServerProcess::ServerProcess(std::vector<std::string> flags, std::map<std::string, std::string> env)
    : flags_(std::move(flags)), env_(std::move(env)), work_dir_("geolocd") {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && Running()) Stop(SIGKILL, absl::Seconds(10));
}

std::vector<std::string> ServerProcess::DefaultFlags(const Fixture& fixture) {
  return {"--model=" + fixture.model(),
          "--bundle=" + fixture.bundle("v1"),
          "--index_root=" + fixture.dir + "/bundles",
          "--intra_op_threads=1",
          "--decode_threads=1",
          "--estimate_threads=1",
          "--drain_grace_seconds=10",
          "--log_level=info"};
}

absl::Status ServerProcess::Start(bool wait_serving, absl::Duration timeout) {
  const std::string port_file = work_dir_.file("ports");
  const std::string log_file = work_dir_.file("stderr.log");
  std::vector<std::string> args = {GEOLOC_GEOLOCD_PATH, "--listen=127.0.0.1:0",
                                   "--metrics_listen=127.0.0.1:0", "--port_file=" + port_file};
  args.insert(args.end(), flags_.begin(), flags_.end());
  pid_ = ::fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!Running()) {
      return absl::InternalError(absl::StrCat("geolocd exited early (status ", exit_status_,
                                              "):\n", Log()));
    }
    auto text = ReadFileToString(port_file);
    if (text.ok()) {
      std::vector<std::string> parts =
          absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ', absl::SkipEmpty());
      if (parts.size() == 3 && absl::SimpleAtoi(parts[0], &port_) &&
          absl::SimpleAtoi(parts[1], &metrics_port_) && absl::SimpleAtoi(parts[2], &http_port_)) {
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (port_ == 0) return absl::DeadlineExceededError("geolocd did not report its port:\n" + Log());
  if (!wait_serving) return absl::OkStatus();
  auto client = NewClient();
  while (absl::Now() < deadline) {
    if (!Running()) {
      return absl::InternalError(absl::StrCat("geolocd exited while loading (status ",
                                              exit_status_, "):\n", Log()));
    }
    auto health = client->Health("", {absl::Seconds(2), false});
    if (health.ok() && *health == client::ServingStatus::kServing) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("geolocd did not become SERVING:\n" + Log());
}

void ServerProcess::Signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  if (exit_status_ != -1) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return false;
}

int ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  if (signal != 0 && Running()) ::kill(pid_, signal);
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return exit_status_;
}

std::string ServerProcess::Log() const {
  auto text = ReadFileToString(work_dir_.file("stderr.log"));
  return text.ok() ? *text : "";
}

std::unique_ptr<client::Client> ServerProcess::NewClient(client::ClientOptions options) const {
  options.target = target();
  auto client = client::Client::Connect(options);
  return client.ok() ? *std::move(client) : nullptr;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to port ", port));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::InternalError("write failed");
  }
  std::string response;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::DataLossError("not an HTTP response");
  }
  if (response.find(" 200 ") > response.find("\r\n")) {
    return absl::InternalError("HTTP status: " + response.substr(0, response.find("\r\n")));
  }
  return response.substr(body + 4);
}

absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, series)) continue;
    if (line.empty() || line[0] != ' ') continue;  // a longer name or more labels
    double value;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) return value;
  }
  return absl::NotFoundError("no series " + series);
}

}  // namespace geoloc::testing
