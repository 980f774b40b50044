#include "client/commands.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/client_flags.h"
#include "client/exit_codes.h"
#include "client/geojson.h"
#include "client/image_files.h"
#include "client/output_format.h"
#include "core/common/file_util.h"
#include "core/common/mutex.h"
#include "core/common/sha256.h"
#include "google/protobuf/struct.pb.h"
#include "proto/pidf_lo.h"

namespace geoloc::client {
namespace {

enum class Credentials { kToken, kAdminToken, kNone };

// "error: flood.jpg: Locate failed: UNAVAILABLE: ... (is geolocd running at ...?)".
void ReportRpcError(std::ostream& err, absl::string_view what, const absl::Status& status,
                    const Client& client, Credentials credentials) {
  err << "error: " << what << " failed: " << FormatStatus(status);
  const ClientOptions& options = client.options();
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      err << " (is geolocd running and reachable at " << options.target << "?"
          << (options.use_tls ? " with TLS, also check --ca_cert and --server_name" : "") << ")";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      err << " (raise the deadline: --deadline_ms, or --stream_deadline_ms for stream)";
      break;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      if (credentials == Credentials::kToken) {
        err << " (check --token_file or $" << kTokenEnvVar << ")";
      } else if (credentials == Credentials::kAdminToken) {
        err << " (check --admin_token_file or $" << kAdminTokenEnvVar << ")";
      }
      break;
    default:
      break;
  }
  err << "\n";
}

void ReportIoError(std::ostream& err, absl::string_view what, const absl::Status& status) {
  err << "error: " << what << ": " << status.message() << "\n";
}

// Prints `message` as one JSON line; false (and a message on `err`) if it cannot be printed.
bool PrintJsonLine(const google::protobuf::Message& message, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::string> line = ToJsonLine(message);
  if (!line.ok()) {
    err << "error: " << line.status().message() << "\n";
    return false;
  }
  out << *line << "\n";
  return true;
}

// Writes the map; returns an exit code.
int WriteGeoJson(const GeoJsonBuilder& map, const std::string& path, std::ostream& err) {
  absl::StatusOr<std::string> json = map.ToJson();
  if (!json.ok()) {
    err << "error: " << json.status().message() << "\n";
    return kExitRpcError;  // the server sent something that is not printable
  }
  absl::Status written = WriteFileAtomically(path, *json);
  if (!written.ok()) {
    ReportIoError(err, absl::StrCat("cannot write GeoJSON ", path), written);
    return kExitIoError;
  }
  return kExitOk;
}

// The file name shown for a stream item, and sent as its item_id.
std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

v1::LocateOptions LocateOptionsFor(const CommandOptions& options) {
  v1::LocateOptions locate = options.locate;
  if (!options.geojson_path.empty()) locate.set_return_cell_polygons(true);
  // An explicit list of region levels must hold the PIDF-LO's (an empty list: the server's).
  if (!options.pidf_lo_path.empty() && !locate.region_levels().empty() &&
      std::none_of(locate.region_levels().begin(), locate.region_levels().end(),
                   [&](double level) { return std::abs(level - options.pidf_lo_level) < 1e-6; })) {
    locate.add_region_levels(options.pidf_lo_level);
  }
  return locate;
}

// Writes the answer's PIDF-LO; returns an exit code.
int WritePidfLoFile(const std::string& image, const std::string& entity,
                    const v1::LocateResponse& response, const CommandOptions& options,
                    std::ostream& out, std::ostream& err) {
  pidf::PidfLoAnswerOptions answer;
  answer.level = options.pidf_lo_level;
  answer.entity = entity;
  answer.timestamp = absl::Now();
  answer.image_name = BaseName(image);
  absl::StatusOr<pidf::PidfLoDocument> doc = pidf::PidfLoFromLocateResponse(response, answer);
  if (!doc.ok()) {
    err << "error: --pidf_lo_level: " << doc.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> xml = pidf::WritePidfLo(*doc);
  if (!xml.ok()) {
    err << "error: " << image
        << ": the answer cannot be written as PIDF-LO: " << xml.status().message() << "\n";
    return kExitRpcError;  // the server sent something no location object can carry
  }
  absl::Status written = WriteFileAtomically(options.pidf_lo_path, *xml);
  if (!written.ok()) {
    ReportIoError(err, absl::StrCat("cannot write PIDF-LO ", options.pidf_lo_path), written);
    return kExitIoError;
  }
  if (!options.json) {
    out << "PIDF-LO written to " << options.pidf_lo_path << " ("
        << (doc->regions.empty() ? std::string("circle only")
                                 : absl::StrCat("circle and ", doc->regions[0].id, ", ",
                                                doc->regions[0].pieces.size(), " polygon(s)"))
        << ")\n";
  }
  return kExitOk;
}

}  // namespace

int RunLocate(Client& client, const std::vector<std::string>& images, const CommandOptions& options,
              std::ostream& out, std::ostream& err) {
  int exit_code = kExitOk;
  auto fail = [&exit_code](int code) {
    if (exit_code == kExitOk) exit_code = code;
  };
  if (!options.pidf_lo_path.empty() && images.size() != 1) {
    err << "error: --pidf_lo writes the location of one image; give exactly one\n";
    return kExitUsage;
  }
  GeoJsonBuilder map;
  int located = 0;
  for (const std::string& path : images) {
    absl::StatusOr<std::string> bytes = ReadImageFile(path);
    if (!bytes.ok()) {
      ReportIoError(err, absl::StrCat("cannot read image ", path), bytes.status());
      fail(kExitIoError);
      continue;
    }
    const std::string entity = options.pidf_lo_path.empty() || !options.pidf_lo_entity.empty()
                                   ? options.pidf_lo_entity
                                   : pidf::ContentUri(*bytes);
    v1::LocateRequest request;
    request.set_image(*std::move(bytes));
    *request.mutable_options() = LocateOptionsFor(options);
    absl::StatusOr<v1::LocateResponse> response = client.Locate(request, options.call);
    if (!response.ok()) {
      ReportRpcError(err, absl::StrCat(path, ": Locate"), response.status(), client,
                     Credentials::kToken);
      fail(kExitRpcError);
      continue;
    }
    ++located;
    if (options.json) {
      if (!PrintJsonLine(*response, out, err)) fail(kExitRpcError);
    } else {
      if (located > 1) out << "\n";
      out << FormatLocate(path, *response, options.locate.return_neighbors());
    }
    if (!options.geojson_path.empty()) map.AddLocateResponse(path, *response);
    if (!options.pidf_lo_path.empty()) {
      const int code = WritePidfLoFile(path, entity, *response, options, out, err);
      if (code != kExitOk) fail(code);
    }
  }
  out.flush();
  if (!options.geojson_path.empty() && located > 0) {
    const int code = WriteGeoJson(map, options.geojson_path, err);
    if (code != kExitOk) {
      fail(code);
    } else if (!options.json) {
      out << "map written to " << options.geojson_path << " (" << map.feature_count()
          << " features)\n";
    }
  }
  return exit_code;
}

int RunExplain(Client& client, const std::string& image, const CommandOptions& options,
               std::ostream& out, std::ostream& err) {
  const int targets = (options.peak.has_value() ? 1 : 0) + (options.neighbor.has_value() ? 1 : 0) +
                      (options.cell.empty() ? 0 : 1);
  if (targets > 1) {
    err << "error: explain takes at most one of --peak, --neighbor and --cell\n";
    return kExitUsage;
  }
  if (options.out_path.empty()) {
    err << "error: explain needs --out FILE.png for the overlay\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> bytes = ReadImageFile(image);
  if (!bytes.ok()) {
    ReportIoError(err, absl::StrCat("cannot read image ", image), bytes.status());
    return kExitIoError;
  }
  v1::ExplainRequest request;
  request.set_image(*std::move(bytes));
  if (options.peak.has_value()) request.set_peak_index(*options.peak);
  if (options.neighbor.has_value()) request.set_neighbor_id(*options.neighbor);
  if (!options.cell.empty()) request.set_cell_token(options.cell);
  *request.mutable_options() = LocateOptionsFor(options);
  request.set_return_overlay(true);

  absl::StatusOr<v1::ExplainResponse> response = client.Explain(request, options.call);
  if (!response.ok()) {
    ReportRpcError(err, absl::StrCat(image, ": Explain"), response.status(), client,
                   Credentials::kToken);
    return kExitRpcError;
  }
  if (response->overlay_png().empty()) {
    err << "error: " << image << ": the server returned no overlay image\n";
    return kExitRpcError;
  }
  absl::Status written = WriteFileAtomically(options.out_path, response->overlay_png());
  if (!written.ok()) {
    ReportIoError(err, absl::StrCat("cannot write overlay ", options.out_path), written);
    return kExitIoError;
  }
  // The PNG is in its file; JSON output and --map carry everything else.
  v1::ExplainResponse without_png = *response;
  without_png.clear_overlay_png();
  if (!options.map_path.empty()) {
    absl::StatusOr<std::string> json = ToJsonLine(without_png);
    absl::Status map_written =
        json.ok() ? WriteFileAtomically(options.map_path, *json + "\n") : json.status();
    if (!map_written.ok()) {
      ReportIoError(err, absl::StrCat("cannot write saliency map ", options.map_path), map_written);
      return kExitIoError;
    }
  }
  if (!options.geojson_path.empty()) {
    GeoJsonBuilder map;
    map.AddExplainTarget(image, *response);
    const int code = WriteGeoJson(map, options.geojson_path, err);
    if (code != kExitOk) return code;
  }
  if (options.json) {
    return PrintJsonLine(without_png, out, err) ? kExitOk : kExitRpcError;
  }
  out << FormatExplain(image, *response);
  out << "  overlay written to " << options.out_path << " (" << response->overlay_png().size()
      << " bytes)\n";
  if (!options.map_path.empty()) out << "  saliency map written to " << options.map_path << "\n";
  if (!options.geojson_path.empty()) out << "  map written to " << options.geojson_path << "\n";
  return kExitOk;
}

int RunStream(Client& client, const std::string& dir, const CommandOptions& options,
              std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<std::string>> paths = ListImageFiles(dir);
  if (!paths.ok()) {
    ReportIoError(err, "cannot list images", paths.status());
    return kExitIoError;
  }
  if (paths->empty()) {
    err << "error: " << dir << " holds no image files (.jpg .jpeg .png .webp .bmp .tif .tiff)\n";
    return kExitIoError;
  }

  // The source runs on the client's writer thread, the sink on this one: one mutex orders
  // their output lines and guards the totals and the map.
  struct Shared {
    Mutex mu;
    StreamTotals totals ABSL_GUARDED_BY(mu);
    bool print_failed ABSL_GUARDED_BY(mu) = false;
    GeoJsonBuilder map ABSL_GUARDED_BY(mu);
  } shared;
  {
    MutexLock lock(&shared.mu);
    shared.totals.images = static_cast<int64_t>(paths->size());
  }
  size_t next_index = 0;  // the source's own (one thread)
  const v1::LocateOptions locate = LocateOptionsFor(options);

  Client::StreamSource source = [&]() -> std::optional<v1::LocateStreamRequest> {
    while (next_index < paths->size()) {
      const std::string& path = (*paths)[next_index++];
      absl::StatusOr<std::string> bytes = ReadImageFile(path);
      if (!bytes.ok()) {
        MutexLock lock(&shared.mu);
        ++shared.totals.unreadable;
        ReportIoError(err, absl::StrCat("cannot read image ", path), bytes.status());
        continue;
      }
      v1::LocateStreamRequest request;
      request.set_item_id(BaseName(path));
      request.set_image(*std::move(bytes));
      *request.mutable_options() = locate;
      return request;
    }
    return std::nullopt;
  };
  Client::StreamSink sink = [&](const v1::LocateStreamResponse& response) {
    MutexLock lock(&shared.mu);
    if (response.status().code() == 0) {
      ++shared.totals.ok;
      if (!options.geojson_path.empty()) {
        shared.map.AddLocateResponse(response.item_id(), response.result());
      }
    } else {
      ++shared.totals.errors;
    }
    if (options.json) {
      if (!PrintJsonLine(response, out, err)) shared.print_failed = true;
    } else {
      out << FormatStreamItem(response.item_id(), response) << "\n";
    }
    out.flush();
  };

  StreamOptions stream_options;
  stream_options.max_in_flight = options.max_in_flight;
  stream_options.deadline = options.stream_deadline;
  const absl::Time start = absl::Now();
  absl::StatusOr<StreamSummary> summary = client.LocateStream(source, sink, stream_options);
  // LocateStream has joined its writer: the source and the sink are done.
  MutexLock lock(&shared.mu);
  StreamTotals& totals = shared.totals;
  totals.elapsed = absl::Now() - start;

  (options.json ? err : out) << FormatStreamSummary(totals) << "\n";
  if (!options.geojson_path.empty() && totals.ok > 0) {
    const int code = WriteGeoJson(shared.map, options.geojson_path, err);
    if (code != kExitOk) return code;
    if (!options.json) out << "map written to " << options.geojson_path << "\n";
  }
  if (!summary.ok()) {
    ReportRpcError(err, "LocateStream", summary.status(), client, Credentials::kToken);
    return kExitRpcError;
  }
  if (totals.errors > 0 || shared.print_failed) return kExitRpcError;
  if (totals.unreadable > 0) return kExitIoError;
  return kExitOk;
}

int RunStatus(Client& client, const CommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::GetStatusResponse> status = client.GetStatus(options.call);
  if (!status.ok()) {
    ReportRpcError(err, "GetStatus", status.status(), client, Credentials::kAdminToken);
    return kExitRpcError;
  }
  if (options.json) return PrintJsonLine(*status, out, err) ? kExitOk : kExitRpcError;
  out << FormatServerStatus(*status);
  return kExitOk;
}

int RunSwapIndex(Client& client, const std::string& bundle_path, const CommandOptions& options,
                 std::ostream& out, std::ostream& err) {
  v1::SwapIndexRequest request;
  request.set_bundle_path(bundle_path);
  absl::StatusOr<v1::SwapIndexResponse> response = client.SwapIndex(request, options.call);
  if (!response.ok()) {
    ReportRpcError(err, absl::StrCat("SwapIndex ", bundle_path), response.status(), client,
                   Credentials::kAdminToken);
    return kExitRpcError;
  }
  if (options.json) return PrintJsonLine(*response, out, err) ? kExitOk : kExitRpcError;
  out << FormatSwapIndex(*response);
  return kExitOk;
}

int RunHealth(Client& client, const CommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<ServingStatus> status = client.Health(options.service, options.call);
  if (!status.ok()) {
    ReportRpcError(err,
                   options.service.empty() ? std::string("Health")
                                           : absl::StrCat("Health of ", options.service),
                   status.status(), client, Credentials::kNone);
    return kExitRpcError;
  }
  // grpc.health.v1.HealthCheckResponse in protobuf JSON: {"status":"SERVING"}.
  if (options.json) {
    google::protobuf::Struct response;
    (*response.mutable_fields())["status"].set_string_value(
        std::string(ServingStatusName(*status)));
    if (!PrintJsonLine(response, out, err)) return kExitRpcError;
  } else {
    out << (options.service.empty() ? std::string("server") : options.service) << ": "
        << ServingStatusName(*status) << "\n";
  }
  return *status == ServingStatus::kServing ? kExitOk : kExitRpcError;
}

}  // namespace geoloc::client
