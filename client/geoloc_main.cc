// geoloc: the command-line client of geolocd. Usage and exit codes: kUsage below and
// docs/CLIENT.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client_flags.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/geoloc_client.h"
#include "core/common/command_line.h"
#include "core/engine/locate_params.h"

ABSL_FLAG(bool, json, false, "Machine output: each response as protobuf JSON, one object per line");
ABSL_FLAG(std::string, geojson, "",
          "locate/explain/stream: write a GeoJSON map of the answer(s) to this file");
ABSL_FLAG(std::string, out, "", "explain: write the overlay PNG to this file (required)");
ABSL_FLAG(std::string, map, "",
          "explain: write the response (saliency map included, PNG left out) as JSON here");
ABSL_FLAG(std::optional<uint32_t>, peak, std::nullopt, "explain: the peak to explain (0 = best)");
ABSL_FLAG(std::optional<int64_t>, neighbor, std::nullopt,
          "explain: the database image id to explain the similarity to");
ABSL_FLAG(std::string, cell, "", "explain: the classifier S2 cell token to explain");
ABSL_FLAG(int32_t, max_in_flight, 16, "stream: items sent but not yet answered, at most");
ABSL_FLAG(int64_t, stream_deadline_ms, 0,
          "stream: deadline of the whole stream, milliseconds (0: none)");
ABSL_FLAG(std::string, service, "", "health: the service to check (empty: the whole server)");
ABSL_FLAG(std::string, pidf_lo, "",
          "locate (one image): write its PIDF-LO location object (RFC 4119, 5491, 7459) for "
          "emergency-call / CAD systems to this file");
ABSL_FLAG(double, pidf_lo_level, 0.9,
          "--pidf_lo: the confidence region written (one of the answer's region levels) and the "
          "confidence the circle aims for, in (0, 1)");
ABSL_FLAG(std::string, pidf_lo_entity, "",
          "--pidf_lo: the presentity URI, e.g. the caller's SIP URI (default: the photo's content "
          "URI, ni:///sha-256;...)");

namespace geoloc::client {
namespace {

// --help prints "geoloc: " before the usage message.
constexpr char kUsage[] = R"(where was this photo taken? Client of geolocd.

usage: geoloc COMMAND [ARGS] [FLAGS]

commands:
  locate IMAGE...            ranked places, peaks, cells for each image
  locate-incident IMAGE...   one answer for 1-16 photos of one place, and each photo's part
  explain IMAGE --out F.png  Grad-CAM overlay of what drove the answer
                             [--peak N | --neighbor ID | --cell TOKEN] [--map F.json]
  stream DIR                 every image in DIR through LocateStream
                             [--max_in_flight N] [--stream_deadline_ms MS]
  status                     server, model and bundle state (admin token)
  swap-index BUNDLE_PATH     load and swap in another index bundle (admin token)
  health                     grpc.health.v1 check [--service NAME]

common flags:
  --server host:port  --tls  --ca_cert F  --client_cert F --client_key F  --server_name NAME
  --token_file F (else $GEOLOC_TOKEN)  --admin_token_file F (else $GEOLOC_ADMIN_TOKEN)
  --deadline_ms MS  --json  --geojson F.json
locate options:
  --k N  --estimator NAME (geoloc --helpfull lists them)  --bandwidth_km X  --weight_exponent M
  --area_circle LAT,LNG,KM | --area_polygon 'LAT,LNG;LAT,LNG;...' | --area_cells TOKEN,...
  --area_mode hard|soft  (search only inside the area, or use it as a prior; docs/SERVER.md)
  --sigma_deg S  --merge_radius_km X  --peaks N  --levels 10,13  --cells_per_level N
  --classifier_cells N  --neighbors
  --pidf_lo F.xml [--pidf_lo_level 0.9] [--pidf_lo_entity URI]   (one image; CAD systems)
Flag names may be written with - or _ (--pidf-lo is --pidf_lo).

exit codes: 0 ok, 1 RPC/server error, 2 usage error, 3 local I/O error.
All flags: geoloc --helpfull)";

struct Command {
  const char* name;
  int min_operands;
  int max_operands;  // -1: unbounded
  const char* operands;
};

constexpr Command kCommands[] = {
    {"locate", 1, -1, "IMAGE..."}, {"explain", 1, 1, "IMAGE"},          {"stream", 1, 1, "DIR"},
    {"status", 0, 0, ""},          {"swap-index", 1, 1, "BUNDLE_PATH"}, {"health", 0, 0, ""},
    {"locate-incident", 1, engine::kMaxIncidentPhotos, "IMAGE..."},
};

int UsageError(absl::string_view message) {
  std::cerr << "error: " << message << "\nRun 'geoloc help' for usage.\n";
  return kExitUsage;
}

bool IsLoopback(absl::string_view target) {
  return absl::StartsWith(target, "localhost:") || absl::StartsWith(target, "127.") ||
         absl::StartsWith(target, "[::1]:") || absl::StartsWith(target, "unix:");
}

// "--pidf-lo=F" and "--pidf-lo F" as "--pidf_lo": flag names (not values) with - read as _,
// up to a "--" that ends the flags.
std::vector<std::string> UnderscoreFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<std::ptrdiff_t>(end), '-', '_');
  }
  return args;
}

int Main(int original_argc, char** original_argv) {
  std::vector<std::string> normalized = UnderscoreFlagNames(original_argc, original_argv);
  std::vector<char*> argv_storage;
  for (std::string& arg : normalized) argv_storage.push_back(arg.data());
  argv_storage.push_back(nullptr);
  const int argc = original_argc;
  char** argv = argv_storage.data();
  const std::vector<char*> args = ParseCommandLineOrExit(argc, argv, "geoloc", kUsage);
  if (args.size() < 2) return UsageError("no command given");
  const std::string name = args[1];
  if (name == "help") {
    std::cout << "geoloc: " << kUsage << "\n";
    return kExitOk;
  }
  const std::vector<std::string> operands(args.begin() + 2, args.end());
  const Command* command = nullptr;
  for (const Command& candidate : kCommands) {
    if (name == candidate.name) command = &candidate;
  }
  if (command == nullptr) return UsageError(absl::StrCat("unknown command '", name, "'"));
  const int count = static_cast<int>(operands.size());
  if (count < command->min_operands ||
      (command->max_operands >= 0 && count > command->max_operands)) {
    return UsageError(absl::StrCat("usage: geoloc ", command->name, *command->operands ? " " : "",
                                   command->operands));
  }

  CommandOptions options;
  options.json = absl::GetFlag(FLAGS_json);
  options.geojson_path = absl::GetFlag(FLAGS_geojson);
  options.peak = absl::GetFlag(FLAGS_peak);
  options.neighbor = absl::GetFlag(FLAGS_neighbor);
  options.cell = absl::GetFlag(FLAGS_cell);
  options.out_path = absl::GetFlag(FLAGS_out);
  options.map_path = absl::GetFlag(FLAGS_map);
  options.service = absl::GetFlag(FLAGS_service);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  if (options.max_in_flight < 1) return UsageError("--max_in_flight must be at least 1");
  const int64_t stream_deadline_ms = absl::GetFlag(FLAGS_stream_deadline_ms);
  if (stream_deadline_ms < 0) return UsageError("--stream_deadline_ms must be >= 0");
  if (stream_deadline_ms > 0) options.stream_deadline = absl::Milliseconds(stream_deadline_ms);
  options.pidf_lo_path = absl::GetFlag(FLAGS_pidf_lo);
  options.pidf_lo_level = absl::GetFlag(FLAGS_pidf_lo_level);
  options.pidf_lo_entity = absl::GetFlag(FLAGS_pidf_lo_entity);
  if (!options.pidf_lo_path.empty()) {
    if (name != "locate") return UsageError("--pidf_lo is for locate");
    if (operands.size() != 1) {
      return UsageError("--pidf_lo writes the location of one image; give exactly one");
    }
  }
  if (!(options.pidf_lo_level > 0 && options.pidf_lo_level < 1)) {
    return UsageError("--pidf_lo_level must be in (0, 1), e.g. 0.9");
  }
  absl::StatusOr<v1::LocateOptions> locate = LocateOptionsFromFlags();
  if (!locate.ok()) return UsageError(locate.status().message());
  options.locate = *std::move(locate);

  // Bad flag combinations are usage errors; unreadable token or certificate files are I/O errors.
  auto setup_error = [](const absl::Status& status) {
    if (status.code() == absl::StatusCode::kInvalidArgument) return UsageError(status.message());
    std::cerr << "error: " << status.message() << "\n";
    return kExitIoError;
  };
  absl::StatusOr<ClientOptions> client_options = ClientOptionsFromFlags();
  if (!client_options.ok()) return setup_error(client_options.status());
  if (!client_options->use_tls && !IsLoopback(client_options->target) &&
      (!client_options->token.empty() || !client_options->admin_token.empty())) {
    std::cerr << "warning: sending a bearer token to " << client_options->target
              << " without TLS; anyone on the path can read it (use --tls)\n";
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(*client_options);
  if (!client.ok()) return setup_error(client.status());

  if (name == "locate") return RunLocate(**client, operands, options, std::cout, std::cerr);
  if (name == "locate-incident") {
    return RunLocateIncident(**client, operands, options, std::cout, std::cerr);
  }
  if (name == "explain") return RunExplain(**client, operands[0], options, std::cout, std::cerr);
  if (name == "stream") return RunStream(**client, operands[0], options, std::cout, std::cerr);
  if (name == "status") return RunStatus(**client, options, std::cout, std::cerr);
  if (name == "swap-index") {
    return RunSwapIndex(**client, operands[0], options, std::cout, std::cerr);
  }
  return RunHealth(**client, options, std::cout, std::cerr);
}

}  // namespace
}  // namespace geoloc::client

int main(int argc, char** argv) { return geoloc::client::Main(argc, argv); }
