#include "core/places/gazetteer_builder.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/places/gazetteer.h"
#include "core/places/gazetteer.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace geoloc::places {
namespace {

int32_t ToE5(double degrees) { return static_cast<int32_t>(std::lround(degrees * 1e5)); }

// The sort key: what a place is, at the stored precision.
using PlaceKey = std::tuple<const std::string&, const std::string&, const std::string&, int32_t,
                            int32_t, uint32_t>;
PlaceKey Key(const PlaceRecord& p) {
  return PlaceKey(p.country_code, p.region, p.name, ToE5(p.location.lat), ToE5(p.location.lon),
                  p.population);
}

absl::Status CheckRecord(const PlaceRecord& p, size_t i) {
  if (p.name.empty()) return absl::InvalidArgumentError(absl::StrCat("place ", i, ": no name"));
  if (p.country_code.empty() || p.country.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("place ", i, " (", p.name, "): no country code or country name"));
  }
  if (absl::Status s = geo::ValidateLatLon(p.location); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("place ", i, " (", p.name, "): ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PlaceRecord>> ParsePlacesTsv(absl::string_view text) {
  std::vector<PlaceRecord> places;
  size_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1) {
      if (line != kPlacesTsvHeader) {
        return absl::InvalidArgumentError(absl::StrCat(
            "places TSV: line 1 must be the header '", kPlacesTsvHeader, "', not '", line, "'"));
      }
      continue;
    }
    if (line.empty()) continue;
    const std::vector<absl::string_view> cols = absl::StrSplit(line, '\t');
    if (cols.size() != 7) {
      return absl::InvalidArgumentError(absl::StrCat("places TSV: line ", line_number, " has ",
                                                     cols.size(), " columns, not 7"));
    }
    PlaceRecord p;
    p.name = std::string(cols[0]);
    if (!absl::SimpleAtod(cols[1], &p.location.lat) ||
        !absl::SimpleAtod(cols[2], &p.location.lon)) {
      return absl::InvalidArgumentError(
          absl::StrCat("places TSV: line ", line_number, ": latitude or longitude is not a number"));
    }
    p.country_code = std::string(cols[3]);
    p.country = std::string(cols[4]);
    p.region = std::string(cols[5]);
    if (!cols[6].empty() && !absl::SimpleAtoi(cols[6], &p.population)) {
      return absl::InvalidArgumentError(
          absl::StrCat("places TSV: line ", line_number, ": population '", cols[6],
                       "' is not a whole number"));
    }
    places.push_back(std::move(p));
  }
  if (line_number == 0 || text.empty()) {
    return absl::InvalidArgumentError("places TSV: empty (no header line)");
  }
  return places;
}

absl::StatusOr<std::string> SerializeGazetteer(std::vector<PlaceRecord> places,
                                               const GazetteerInfo& info) {
  if (places.empty()) return absl::InvalidArgumentError("gazetteer: no places");
  for (size_t i = 0; i < places.size(); ++i) GEOLOC_RETURN_IF_ERROR(CheckRecord(places[i], i));
  std::sort(places.begin(), places.end(),
            [](const PlaceRecord& a, const PlaceRecord& b) { return Key(a) < Key(b); });
  places.erase(std::unique(places.begin(), places.end(),
                           [](const PlaceRecord& a, const PlaceRecord& b) {
                             return Key(a) == Key(b) && a.country == b.country;
                           }),
               places.end());

  GazetteerFile file;
  file.set_format_version(kGazetteerFormatVersion);
  file.set_source(info.source);
  file.set_attribution(info.attribution);
  file.set_license(info.license);
  // Countries by code and regions by (country, name): places are sorted the same way, so both
  // tables come out sorted and each entry is added when first seen.
  std::map<std::string, uint32_t> country_index;
  std::map<std::pair<uint32_t, std::string>, uint32_t> region_index;
  for (const PlaceRecord& p : places) {
    auto [country, added] =
        country_index.try_emplace(p.country_code, static_cast<uint32_t>(file.countries_size()));
    if (added) {
      GazetteerCountry* c = file.add_countries();
      c->set_code(p.country_code);
      c->set_name(p.country);
    } else if (file.countries(static_cast<int>(country->second)).name() != p.country) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gazetteer: country code ", p.country_code, " has two names: '",
          file.countries(static_cast<int>(country->second)).name(), "' and '", p.country, "'"));
    }
    auto [region, region_added] = region_index.try_emplace(
        std::make_pair(country->second, p.region), static_cast<uint32_t>(file.regions_size()));
    if (region_added) {
      GazetteerRegion* r = file.add_regions();
      r->set_name(p.region);
      r->set_country(country->second);
    }
    file.add_place_name(p.name);
    file.add_place_lat_e5(ToE5(p.location.lat));
    file.add_place_lon_e5(ToE5(p.location.lon));
    file.add_place_region(region->second);
    file.add_place_population(p.population);
  }
  // Deterministic bytes (no map fields today; this keeps it so).
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    if (!file.SerializeToCodedStream(&out)) {
      return absl::InternalError("gazetteer: serialisation failed");
    }
  }
  return absl::StrCat(kGazetteerMagic, "sha256 ", Sha256Hex(bytes), "\n", bytes);
}

absl::Status WriteGazetteer(const std::string& path, std::vector<PlaceRecord> places,
                            const GazetteerInfo& info) {
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, SerializeGazetteer(std::move(places), info));
  GEOLOC_RETURN_IF_ERROR(Gazetteer::FromBytes(bytes).status());
  return WriteFileAtomically(path, bytes);
}

}  // namespace geoloc::places
