#include "core/places/gazetteer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/common/file_util.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/geo/distance.h"
#include "core/places/gazetteer.pb.h"

namespace geoloc::places {
namespace {

constexpr double kE5 = 1e-5;

geo::LatLon LocationOf(const GazetteerFile& file, int i) {
  return {file.place_lat_e5(i) * kE5, file.place_lon_e5(i) * kE5};
}

absl::Status CheckColumn(absl::string_view column, int size, int places) {
  if (size == places) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("gazetteer: column ", column, " has ", size,
                                          " entries for ", places, " places"));
}

absl::Status Validate(const GazetteerFile& file) {
  if (file.format_version() != kGazetteerFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("gazetteer: format_version ", file.format_version(), ", this build reads ",
                     kGazetteerFormatVersion, " (rebuild the file with this geoloc-gazetteer)"));
  }
  const int n = file.place_name_size();
  if (n == 0) return absl::DataLossError("gazetteer: no places");
  if (static_cast<size_t>(n) > kMaxGazetteerPlaces) {
    return absl::DataLossError(
        absl::StrCat("gazetteer: ", n, " places, more than the ", kMaxGazetteerPlaces, " allowed"));
  }
  GEOLOC_RETURN_IF_ERROR(CheckColumn("place_lat_e5", file.place_lat_e5_size(), n));
  GEOLOC_RETURN_IF_ERROR(CheckColumn("place_lon_e5", file.place_lon_e5_size(), n));
  GEOLOC_RETURN_IF_ERROR(CheckColumn("place_region", file.place_region_size(), n));
  GEOLOC_RETURN_IF_ERROR(CheckColumn("place_population", file.place_population_size(), n));
  for (int r = 0; r < file.regions_size(); ++r) {
    if (file.regions(r).country() >= static_cast<uint32_t>(file.countries_size())) {
      return absl::DataLossError(absl::StrCat("gazetteer: region ", r, " (", file.regions(r).name(),
                                              ") names country ", file.regions(r).country(),
                                              " of ", file.countries_size()));
    }
  }
  for (int i = 0; i < n; ++i) {
    if (file.place_name(i).empty()) {
      return absl::DataLossError(absl::StrCat("gazetteer: place ", i, " has no name"));
    }
    if (file.place_region(i) >= static_cast<uint32_t>(file.regions_size())) {
      return absl::DataLossError(absl::StrCat("gazetteer: place ", i, " (", file.place_name(i),
                                              ") names region ", file.place_region(i), " of ",
                                              file.regions_size()));
    }
    if (absl::Status s = geo::ValidateLatLon(LocationOf(file, i)); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat("gazetteer: place ", i, " (", file.place_name(i), "): ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Gazetteer>> Gazetteer::Load(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  absl::StatusOr<std::shared_ptr<const Gazetteer>> loaded = FromBytes(bytes);
  if (!loaded.ok()) return Annotate(loaded.status(), path);
  return loaded;
}

absl::StatusOr<std::shared_ptr<const Gazetteer>> Gazetteer::FromBytes(absl::string_view bytes) {
  if (!absl::ConsumePrefix(&bytes, kGazetteerMagic)) {
    return absl::DataLossError(
        "gazetteer: not a gazetteer file (it must start with a 'geoloc-gazetteer' line; build one "
        "with tools/gazetteer/build_gazetteer.sh)");
  }
  constexpr absl::string_view kChecksumPrefix = "sha256 ";
  constexpr size_t kHexDigits = 64;
  if (!absl::ConsumePrefix(&bytes, kChecksumPrefix) || bytes.size() < kHexDigits + 1 ||
      bytes[kHexDigits] != '\n') {
    return absl::DataLossError("gazetteer: no checksum line (the file is damaged or truncated)");
  }
  const absl::string_view expected = bytes.substr(0, kHexDigits);
  bytes.remove_prefix(kHexDigits + 1);
  if (Sha256Hex(bytes) != expected) {
    return absl::DataLossError(
        "gazetteer: checksum mismatch (the file is damaged or truncated; rebuild it)");
  }
  GazetteerFile file;
  if (!file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("gazetteer: the payload does not parse as a GazetteerFile");
  }
  return FromFile(std::move(file));
}

absl::StatusOr<std::shared_ptr<const Gazetteer>> Gazetteer::FromFile(GazetteerFile file) {
  GEOLOC_RETURN_IF_ERROR(Validate(file));
  std::vector<geo::LatLon> locations(static_cast<size_t>(file.place_name_size()));
  for (int i = 0; i < file.place_name_size(); ++i) locations[i] = LocationOf(file, i);
  auto owned = std::make_unique<const GazetteerFile>(std::move(file));
  return std::shared_ptr<const Gazetteer>(new Gazetteer(std::move(owned), locations));
}

Gazetteer::Gazetteer(std::unique_ptr<const GazetteerFile> file,
                     absl::Span<const geo::LatLon> locations)
    : file_(std::move(file)), index_(locations) {}

Gazetteer::~Gazetteer() = default;

const std::string& Gazetteer::source() const { return file_->source(); }
const std::string& Gazetteer::attribution() const { return file_->attribution(); }
const std::string& Gazetteer::license() const { return file_->license(); }

Place Gazetteer::place(size_t i) const {
  const int at = static_cast<int>(i);
  const GazetteerRegion& region = file_->regions(static_cast<int>(file_->place_region(at)));
  const GazetteerCountry& country = file_->countries(static_cast<int>(region.country()));
  Place p;
  p.name = file_->place_name(at);
  p.region = region.name();
  p.country = country.name();
  p.country_code = country.code();
  p.location = LocationOf(*file_, at);
  p.population = file_->place_population(at);
  return p;
}

std::optional<NearbyPlace> Gazetteer::Nearest(geo::LatLon p) const {
  const std::optional<size_t> i = index_.Nearest(p);
  if (!i.has_value()) return std::nullopt;
  const geo::LatLon at{std::clamp(p.lat, -90.0, 90.0), p.lon};
  NearbyPlace near;
  near.place = place(*i);
  near.distance_km = geo::HaversineKm(near.place.location, at);
  near.bearing_deg = geo::InitialBearingDeg(near.place.location, at);
  return near;
}

}  // namespace geoloc::places
