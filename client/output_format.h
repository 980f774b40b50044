// What the geoloc CLI prints: plain-text reports for operators and one-line protobuf JSON for
// machines.
//
//   std::cout << FormatLocate("flood.jpg", response, /*show_neighbors=*/true);
//   GEOLOC_ASSIGN_OR_RETURN(std::string line, ToJsonLine(response));  // no trailing newline
//
// Text reports end with a newline; stream item lines are single lines. Coordinates are printed
// latitude first ("48.85820, 2.29450"), as people read them; GeoJSON (geojson.h) is the machine
// format with GeoJSON's [longitude, latitude] order. Stateless functions; thread-safe.
#ifndef GEOLOC_CLIENT_OUTPUT_FORMAT_H_
#define GEOLOC_CLIENT_OUTPUT_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "geoloc/v1/geoloc.pb.h"
#include "google/protobuf/message.h"

namespace geoloc::client {

// The message in protobuf's JSON mapping on one line, field names as in the .proto, default
// values included (a 0 probability is printed rather than dropped).
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message);

// "48.85820, 2.29450" (5 decimals: about 1 m).
std::string FormatLatLng(const v1::LatLng& location);
// "INVALID_ARGUMENT: cannot decode image".
std::string FormatStatus(const absl::Status& status);
// A google.rpc.Code number as its name ("INVALID_ARGUMENT"); unknown numbers as "CODE_<n>".
std::string StatusCodeName(int code);

// The answer for one image: estimates (fused, retrieval-only and classifier-only side by side
// when the bundle has a classifier), peaks, cells per level, classifier cells, neighbours (when
// `show_neighbors` and present), versions and timings.
std::string FormatLocate(absl::string_view image, const v1::LocateResponse& response,
                         bool show_neighbors);
std::string FormatExplain(absl::string_view image, const v1::ExplainResponse& response);
std::string FormatServerStatus(const v1::GetStatusResponse& status);
std::string FormatSwapIndex(const v1::SwapIndexResponse& response);
std::string FormatTimings(const v1::StageTimings& timings);
// "k 60, estimator kde, bandwidth 1 km, ..." for the options that are set.
std::string FormatLocateOptions(const v1::LocateOptions& options);

// One line per stream item: "ok     NAME  lat, lon  ± R km  confidence C" or
// "error  NAME  CODE: message".
std::string FormatStreamItem(absl::string_view name, const v1::LocateStreamResponse& response);

struct StreamTotals {
  int64_t images = 0;      // files found
  int64_t ok = 0;          // answered with status OK
  int64_t errors = 0;      // answered with an error status
  int64_t unreadable = 0;  // files that could not be read, never sent
  absl::Duration elapsed;
};
// "12 images: 11 ok, 1 error, 0 unreadable in 2.35 s (5.11 images/s)".
std::string FormatStreamSummary(const StreamTotals& totals);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_OUTPUT_FORMAT_H_
