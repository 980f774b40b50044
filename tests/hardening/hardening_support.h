// Helpers the hardening integration tests share, on top of tests/support (server_process.h,
// command.h, scratch_dir.h, wait_until.h): server flags for the fixture, metric reads, the
// server's queue and admission counts, a background flood that keeps the encoder busy, /proc
// reads of the server's memory, and the `geoloc` CLI's command line.
//
//   ServerProcess server(HardeningFlags(fixture, {"--queue_capacity=4"}));
//   ASSERT_TRUE(server.Start().ok()) << server.Log();
//   Flood flood(server, GoodImage(fixture), /*calls=*/40);   // 40 concurrent Locate calls
//   ASSERT_TRUE(WaitUntil([&] { return AdmittedImages(server) >= 40; }, absl::Seconds(60)));
//
// Threading: everything here is for the test's main thread, except Flood, whose calls run on its
// own threads (its accessors are thread-safe). Polling helpers wait for states, never assert on
// durations.
#ifndef GEOLOC_TESTS_HARDENING_HARDENING_SUPPORT_H_
#define GEOLOC_TESTS_HARDENING_HARDENING_SUPPORT_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/geoloc_client.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/server_process.h"
#include "tests/support/wait_until.h"

namespace geoloc::hardening {

using ::geoloc::testing::CommandResult;
using ::geoloc::testing::Fixture;
using ::geoloc::testing::RunCommand;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::ServerProcess;
using ::geoloc::testing::ShellQuote;
using ::geoloc::testing::Stderr;
using ::geoloc::testing::WaitUntil;

// ServerProcess::DefaultFlags (fixture model, bundle v1, one thread per stage) followed by
// `extra`; a flag given twice takes its last value.
std::vector<std::string> HardeningFlags(const Fixture& fixture,
                                        const std::vector<std::string>& extra = {});

// The first photo of the synthetic world's query split (a 320x240 JPEG); aborts the test binary
// with a message when the fixture is missing.
std::string GoodImage(const Fixture& fixture);

// Writes `contents` to `path` atomically (temp file + rename), as an operator or Kubernetes would.
void WriteFileAtomic(const std::string& path, const std::string& contents);

// A series from the server's /metrics (`series` as in MetricValue: name and labels); a series
// that was never touched reads 0. Fails the current test when the endpoint cannot be read.
double Metric(const ServerProcess& server, const std::string& series);
// geoloc_requests_total{code=CODE,method=METHOD,transport="grpc"}, e.g.
// RequestCount(s, "Locate", "CANCELLED").
double RequestCount(const ServerProcess& server, const std::string& method,
                    const std::string& code);

// GetStatus' queue_depth / in_flight (admitted images not yet batched / Geolocator calls in
// progress) through an admin-less client; -1 when GetStatus fails.
int QueueDepth(const ServerProcess& server);
int InFlight(const ServerProcess& server);
// Images the server has admitted into its Locate pipeline so far: those already batched for the
// encoder (the sum of geoloc_batch_size) plus those still queued (queue_depth). Never more than
// the true count at the moment it returns (the batched count is read first, so an image moving
// from the queue into a batch between the two reads is missed, not counted twice): a test that
// waits for it to reach N knows that N images were admitted, and that a drain starting now
// refuses none of them. -1 when a read fails.
int AdmittedImages(const ServerProcess& server);

// VmRSS of `pid` in bytes (/proc/<pid>/status), or -1.
int64_t ResidentBytes(pid_t pid);

// The `geoloc` CLI with `args` against `target`, with the token variables cleared (run it with
// RunCommand, tests/support/command.h).
std::string CliCommand(const std::string& args, const std::string& target);

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
