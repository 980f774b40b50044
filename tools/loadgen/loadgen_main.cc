// geoloc-loadgen: a ghz-style load generator for geolocd's Locate and Explain, built on the
// C++ client library (same connection, TLS and token flags as the geoloc CLI). docs/LOADGEN.md.
#include <csignal>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client_flags.h"
#include "client/exit_codes.h"
#include "client/geoloc_client.h"
#include "client/image_files.h"
#include "core/common/command_line.h"
#include "tools/loadgen/load_report.h"
#include "tools/loadgen/load_runner.h"

ABSL_FLAG(int32_t, concurrency, 10, "Calls in flight at once (worker threads)");
ABSL_FLAG(int64_t, total, 0,
          "Calls to make (0: 200, or unlimited when --duration is set; with both, whichever "
          "ends first)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "Stop starting calls after this long, e.g. 30s or 2m (0: use --total)");
ABSL_FLAG(double, rps, 0, "Overall rate limit, calls per second (0: none)");
ABSL_FLAG(std::string, images, "", "An image file, or a directory whose images are cycled through");
ABSL_FLAG(std::string, method, "locate", "The call to load: locate or explain");
ABSL_FLAG(bool, json, false, "Print the report as JSON (ghz's field names)");

namespace geoloc::loadgen {
namespace {

using client::kExitIoError;
using client::kExitOk;
using client::kExitRpcError;
using client::kExitUsage;

constexpr int64_t kDefaultTotal = 200;  // ghz's -n default

// --help prints "geoloc-loadgen: " before the usage message.
constexpr char kUsage[] = R"(load geolocd with Locate or Explain calls and report latency.

usage: geoloc-loadgen --images DIR|FILE [--server host:port] [--concurrency N]
                      [--total N | --duration 30s] [--rps R] [--method locate|explain] [--json]
                      [TLS, token and LocateOptions flags as for the geoloc CLI]

exit codes: 0 the load ran (call failures are in the report), 1 cannot reach the server,
2 usage error, 3 cannot read the images.)";

int UsageError(absl::string_view message) {
  std::cerr << "error: " << message << "\nRun 'geoloc-loadgen --help' for usage.\n";
  return kExitUsage;
}

extern "C" void HandleInterrupt(int) { RequestStop(); }

int Main(int argc, char** argv) {
  const std::vector<char*> args = ParseCommandLineOrExit(argc, argv, "geoloc-loadgen", kUsage);
  if (args.size() > 1) return UsageError(absl::StrCat("unexpected argument '", args[1], "'"));

  LoadOptions load;
  load.concurrency = absl::GetFlag(FLAGS_concurrency);
  load.total = absl::GetFlag(FLAGS_total);
  load.duration = absl::GetFlag(FLAGS_duration);
  load.rps = absl::GetFlag(FLAGS_rps);
  if (load.concurrency < 1) return UsageError("--concurrency must be at least 1");
  if (load.total < 0) return UsageError("--total must be >= 0");
  if (load.duration < absl::ZeroDuration()) return UsageError("--duration must be >= 0");
  if (!(load.rps >= 0)) return UsageError("--rps must be >= 0");
  if (load.total == 0 && load.duration == absl::ZeroDuration()) load.total = kDefaultTotal;
  const std::string method = absl::GetFlag(FLAGS_method);
  if (method != "locate" && method != "explain") {
    return UsageError(absl::StrCat("--method must be locate or explain, not '", method, "'"));
  }
  const std::string images_path = absl::GetFlag(FLAGS_images);
  if (images_path.empty()) return UsageError("--images DIR|FILE is required");
  absl::StatusOr<v1::LocateOptions> locate_options = client::LocateOptionsFromFlags();
  if (!locate_options.ok()) return UsageError(locate_options.status().message());

  absl::StatusOr<std::vector<std::string>> paths = client::ImageFilesAt(images_path);
  if (!paths.ok()) {
    std::cerr << "error: " << paths.status().message() << "\n";
    return kExitIoError;
  }
  // Requests are built once and shared read-only by the workers.
  std::vector<v1::LocateRequest> locate_requests;
  std::vector<v1::ExplainRequest> explain_requests;
  for (const std::string& path : *paths) {
    absl::StatusOr<std::string> bytes = client::ReadImageFile(path);
    if (!bytes.ok()) {
      std::cerr << "error: cannot read image " << path << ": " << bytes.status().message() << "\n";
      return kExitIoError;
    }
    if (method == "locate") {
      v1::LocateRequest& request = locate_requests.emplace_back();
      request.set_image(*std::move(bytes));
      *request.mutable_options() = *locate_options;
    } else {
      v1::ExplainRequest& request = explain_requests.emplace_back();
      request.set_image(*std::move(bytes));
      *request.mutable_options() = *locate_options;
    }
  }

  absl::StatusOr<client::ClientOptions> client_options = client::ClientOptionsFromFlags();
  if (!client_options.ok()) {
    std::cerr << "error: " << client_options.status().message() << "\n";
    return client_options.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                                : kExitIoError;
  }
  absl::StatusOr<std::unique_ptr<client::Client>> connected =
      client::Client::Connect(*client_options);
  if (!connected.ok()) {
    std::cerr << "error: " << connected.status().message() << "\n";
    return connected.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                           : kExitIoError;
  }
  client::Client& client = **connected;
  // Connection setup is not load: connect first so the first calls do not carry it.
  if (absl::Status ready = client.WaitForReady(client_options->default_deadline); !ready.ok()) {
    std::cerr << "error: " << ready.message() << "\n";
    return kExitRpcError;
  }

  std::signal(SIGINT, HandleInterrupt);
  std::signal(SIGTERM, HandleInterrupt);
  const LoadResult result = RunLoad(load, [&](int64_t index) -> absl::Status {
    if (method == "locate") {
      const size_t i = static_cast<size_t>(index) % locate_requests.size();
      return client.Locate(locate_requests[i]).status();
    }
    const size_t i = static_cast<size_t>(index) % explain_requests.size();
    return client.Explain(explain_requests[i]).status();
  });

  const Report report = BuildReport(result);
  ReportOptions described;
  described.server = client_options->target;
  described.call =
      method == "locate" ? "geoloc.v1.Geolocator.Locate" : "geoloc.v1.Geolocator.Explain";
  described.concurrency = load.concurrency;
  described.total = load.total;
  described.duration = load.duration;
  described.rps = load.rps;
  described.images = static_cast<int64_t>(paths->size());
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = FormatReportJson(report, described);
    if (!json.ok()) {
      std::cerr << "error: " << json.status().message() << "\n";
      return kExitRpcError;
    }
    std::cout << *json << "\n";
  } else {
    std::cout << FormatReportText(report, described);
  }
  return kExitOk;
}

}  // namespace
}  // namespace geoloc::loadgen

int main(int argc, char** argv) { return geoloc::loadgen::Main(argc, argv); }
