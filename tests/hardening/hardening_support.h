// Helpers the hardening integration tests share, on top of tests/server/server_process.h: server
// flags for the fixture, metric reads, polling, a background flood that keeps the encoder busy,
// /proc reads of the server's memory, and running the `geoloc` CLI.
//
//   ServerProcess server(HardeningFlags(fixture, {"--queue_capacity=4"}));
//   ASSERT_TRUE(server.Start().ok()) << server.Log();
//   Flood flood(server, GoodImage(fixture), /*calls=*/40);   // 40 concurrent Locate calls
//   ASSERT_TRUE(WaitUntil([&] { return QueueDepth(server) >= 20; }, absl::Seconds(60)));
//
// Threading: everything here is for the test's main thread, except Flood, whose calls run on its
// own threads (its accessors are thread-safe). Polling helpers wait for states, never assert on
// durations.
#ifndef GEOLOC_TESTS_HARDENING_HARDENING_SUPPORT_H_
#define GEOLOC_TESTS_HARDENING_HARDENING_SUPPORT_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/geoloc_client.h"
#include "server_process.h"

namespace geoloc::hardening {

using ::geoloc::testing::Fixture;
using ::geoloc::testing::ServerProcess;

// ServerProcess::DefaultFlags (fixture model, bundle v1, one thread per stage) followed by
// `extra`; a flag given twice takes its last value.
std::vector<std::string> HardeningFlags(const Fixture& fixture,
                                        const std::vector<std::string>& extra = {});

// The first photo of the synthetic world's query split (a 320x240 JPEG); aborts the test binary
// with a message when the fixture is missing.
std::string GoodImage(const Fixture& fixture);

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `contents` to `path` atomically (temp file + rename), as an operator or Kubernetes would.
void WriteFileAtomic(const std::string& path, const std::string& contents);

// A series from the server's /metrics (`series` as in MetricValue: name and labels); a series
// that was never touched reads 0. Fails the current test when the endpoint cannot be read.
double Metric(const ServerProcess& server, const std::string& series);
// geoloc_requests_total{code=CODE,method=METHOD}, e.g. RequestCount(s, "Locate", "CANCELLED").
double RequestCount(const ServerProcess& server, const std::string& method,
                    const std::string& code);

// Polls `condition` (every 20 ms) until it holds or `timeout` passes; returns whether it held.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout);

// GetStatus' queue_depth / in_flight (admitted images not yet batched / Geolocator calls in
// progress) through an admin-less client; -1 when GetStatus fails.
int QueueDepth(const ServerProcess& server);
int InFlight(const ServerProcess& server);

// The pid of the only live geolocd child of this test process (-1 if there is none or several).
pid_t FindGeolocdChild();
// VmRSS of `pid` in bytes (/proc/<pid>/status), or -1.
int64_t ResidentBytes(pid_t pid);

// Runs `command` through the shell with stderr merged into stdout.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);
// The `geoloc` CLI with `args` against `target`, with the token variables cleared.
std::string CliCommand(const std::string& args, const std::string& target);
std::string ShellQuote(const std::string& text);

// `calls` concurrent Locate calls of `image`, each on its own thread, started by the constructor.
// Wait() (or the destructor) joins them.
class Flood {
 public:
  Flood(const ServerProcess& server, std::string image, int calls,
        client::CallOptions call = {absl::Seconds(120), false});
  ~Flood();
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;

  void Wait();
  int outstanding() const { return outstanding_.load(); }  // calls not yet returned
  int succeeded() const { return succeeded_.load(); }
  std::vector<absl::Status> failures() const;  // the non-OK statuses so far

 private:
  std::unique_ptr<client::Client> client_;
  std::vector<std::thread> threads_;
  std::atomic<int> outstanding_{0};
  std::atomic<int> succeeded_{0};
  mutable std::mutex mu_;
  std::vector<absl::Status> failures_;
};

}  // namespace geoloc::hardening

#endif  // GEOLOC_TESTS_HARDENING_HARDENING_SUPPORT_H_
