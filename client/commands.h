// The geoloc CLI's subcommands, one function each, free of flag parsing so they can be called
// and tested directly.
//
//   CommandOptions options;
//   options.geojson_path = "flood.geojson";
//   int exit_code = RunLocate(*client, {"flood.jpg"}, options, std::cout, std::cerr);
//
// Each writes results to `out` and diagnostics ("error: ..." lines naming the gRPC code and the
// server's message, or the file and the reason) to `err`, and returns an exit code from
// exit_codes.h. With `json`, `out` gets only protobuf JSON, one object per line. Output files
// are written atomically (temporary file, then rename). Commands are called from one thread;
// RunStream uses the client's internal writer thread and serialises its own output.
#ifndef GEOLOC_CLIENT_COMMANDS_H_
#define GEOLOC_CLIENT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/geoloc_client.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::client {

struct CommandOptions {
  bool json = false;
  CallOptions call;
  v1::LocateOptions locate;
  // locate, explain, stream: write a GeoJSON FeatureCollection here (asks for cell polygons).
  std::string geojson_path;

  // locate (one image): write its PIDF-LO location object here (pidf_lo.h), with the region at
  // pidf_lo_level; the presentity is pidf_lo_entity, or the photo's content URI
  // (ni:///sha-256;... RFC 6920) when empty.
  std::string pidf_lo_path;
  double pidf_lo_level = 0.9;
  std::string pidf_lo_entity;

  // explain: at most one target; none means the top peak.
  std::optional<uint32_t> peak;
  std::optional<int64_t> neighbor;
  std::string cell;
  std::string out_path;  // the overlay PNG (required)
  std::string map_path;  // optional: the response as JSON, saliency map included, PNG left out

  // stream
  int max_in_flight = 16;
  absl::Duration stream_deadline = absl::InfiniteDuration();

  // health: the service to check ("" = the whole server).
  std::string service;
};

// Locates each image in turn; a failure is reported and the next image is still tried. Exit
// code: that of the first failure. With pidf_lo_path (one image only, else a usage error): a
// calibrated answer without a region at pidf_lo_level is a usage error (2) and writes no file.
int RunLocate(Client& client, const std::vector<std::string>& images, const CommandOptions& options,
              std::ostream& out, std::ostream& err);

// Locates the images as one incident (several photos of one place): the combined answer, then
// each photo's weight, support of each peak and whether it disagrees. Exit code: 3 when an image
// cannot be read (nothing is sent), 1 when the call fails.
int RunLocateIncident(Client& client, const std::vector<std::string>& images,
                      const CommandOptions& options, std::ostream& out, std::ostream& err);

// Explains one image, writes the overlay PNG to options.out_path, prints target and score.
int RunExplain(Client& client, const std::string& image, const CommandOptions& options,
               std::ostream& out, std::ostream& err);

// Sends every image directly inside `dir` through LocateStream; one line per item as answers
// arrive, then a summary (on `err` with --json so `out` stays JSON lines). Exit code: 1 when the
// stream failed or any item failed, else 3 when a file could not be read, else 0.
int RunStream(Client& client, const std::string& dir, const CommandOptions& options,
              std::ostream& out, std::ostream& err);

int RunStatus(Client& client, const CommandOptions& options, std::ostream& out, std::ostream& err);
int RunSwapIndex(Client& client, const std::string& bundle_path, const CommandOptions& options,
                 std::ostream& out, std::ostream& err);
// Exit code 0 only when the service is SERVING.
int RunHealth(Client& client, const CommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_COMMANDS_H_
