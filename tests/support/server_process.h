// Test harness: runs a real geolocd process on loopback (ports picked by the kernel, reported
// through --port_file) and talks to it with the C++ client library; reads its /metrics.
//
//   ServerProcess server(ServerProcess::DefaultFlags(GetFixture()));
//   ASSERT_TRUE(server.Start().ok()) << server.Log();   // waits until Health says SERVING
//   auto client = server.NewClient();
//   int exit_code = server.Stop(SIGTERM);               // waits for the process to exit
//
// The fixture (models, a synthetic world, bundles) is built by tests/support/make_fixture.sh
// server, the CTest fixture "server_data"; $GEOLOC_SERVER_FIXTURE names its directory.
// Threading: a ServerProcess belongs to the test's main thread; clients from NewClient() may be
// used from any thread. The destructor kills a process that still runs.
#ifndef GEOLOC_TESTS_SUPPORT_SERVER_PROCESS_H_
#define GEOLOC_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/geoloc_client.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::testing {

// Paths of the shared fixture built by tests/support/make_fixture.sh server.
struct Fixture {
  std::string dir;
  std::string model() const { return dir + "/model.pt"; }
  std::string bundle(const std::string& name) const { return dir + "/bundles/" + name; }
  std::string world() const { return dir + "/world"; }
};
Fixture GetFixture();  // from $GEOLOC_SERVER_FIXTURE

struct QueryImage {
  std::string path;
  double lat = 0, lon = 0;
  std::string bytes;
};
// The synthetic world's query split, with the image bytes loaded.
std::vector<QueryImage> LoadQueries(const Fixture& fixture);

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> flags, std::map<std::string, std::string> env = {});
  ~ServerProcess();  // kills the process if it still runs

  // Flags for a server on the fixture's model and bundle v1.
  static std::vector<std::string> DefaultFlags(const Fixture& fixture);

  // Starts the process and waits for the port file; with `wait_serving`, also for SERVING.
  absl::Status Start(bool wait_serving = true, absl::Duration timeout = absl::Seconds(120));
  // Sends `signal` (0: none) and waits up to `timeout` for the exit; returns the exit status
  // (128 + signal number when killed by a signal, -1 on timeout).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(60));
  void Signal(int signal) const;
  bool Running();

  pid_t pid() const { return pid_; }  // -1 before Start()
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const { return http_port_; }  // 0 without --http_address
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // The process's stderr so far (its log).
  std::string Log() const;

  std::unique_ptr<client::Client> NewClient(client::ClientOptions options = {}) const;

 private:
  std::vector<std::string> flags_;
  std::map<std::string, std::string> env_;
  ScratchDir work_dir_;  // the port file and the log
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
  int exit_status_ = -1;
};

// Plain HTTP GET on 127.0.0.1:port; returns the body (status line checked: 200).
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);
// The value of a Prometheus series line that starts with `series` (exact name and labels).
absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& series);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_SERVER_PROCESS_H_
