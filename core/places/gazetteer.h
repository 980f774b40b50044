// Named places for offline reverse geocoding: the gazetteer file (gazetteer.proto, written by
// `geoloc-gazetteer build`, docs/PLACES.md) loaded into memory with a nearest-place index.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const Gazetteer> places, Gazetteer::Load(path));
//   std::optional<NearbyPlace> near = places->Nearest({64.76, 177.57});  // Anadyr, 3.2 km away
//
// Lifetime and threading: a Gazetteer is immutable once loaded; every method is const and safe
// from many threads at once. A Place or NearbyPlace views strings owned by the Gazetteer, so it
// must not outlive it (copy the strings out to keep them). The server shares one Gazetteer with
// every snapshot; it does not change on a bundle swap.
#ifndef GEOLOC_CORE_PLACES_GAZETTEER_H_
#define GEOLOC_CORE_PLACES_GAZETTEER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"
#include "core/places/nearest_point_index.h"

namespace geoloc::places {

class GazetteerFile;  // gazetteer.proto

// The format_version this code writes and reads.
inline constexpr uint32_t kGazetteerFormatVersion = 1;
// A gazetteer file is this line, then "sha256 " and the lower-case hex SHA-256 of the payload and
// a newline, then the payload: a binary GazetteerFile. The checksum catches a damaged or
// truncated file, which protobuf alone would often parse into wrong places.
inline constexpr absl::string_view kGazetteerMagic = "geoloc-gazetteer\n";
// More places than this is not a gazetteer of populated places (GeoNames has about 140,000 with
// 1,000 inhabitants or more, 13 million features in all); Load refuses it.
inline constexpr size_t kMaxGazetteerPlaces = 5'000'000;

// One named place. The views point into the Gazetteer.
struct Place {
  absl::string_view name;          // "Anadyr"
  absl::string_view region;        // first-level division, "Chukotka"; may be empty
  absl::string_view country;       // "Russia"
  absl::string_view country_code;  // ISO 3166-1 alpha-2, "RU"
  geo::LatLon location;
  uint32_t population = 0;  // 0 when unknown
};

// The place nearest to a point, and where the point lies from it.
struct NearbyPlace {
  Place place;
  double distance_km = 0;  // great-circle distance from the place to the point
  double bearing_deg = 0;  // initial bearing from the place to the point, clockwise from north
};

class Gazetteer {
 public:
  // Reads and checks a gazetteer file (errors name the path). Errors (nothing is loaded):
  //   problem                                         status
  //   the file cannot be read                         NOT_FOUND or the read error's code
  //   not a gazetteer file (no kGazetteerMagic line)  DATA_LOSS
  //   checksum line missing or digest mismatch        DATA_LOSS ("damaged or truncated")
  //   the payload does not parse                      DATA_LOSS
  //   format_version is not kGazetteerFormatVersion   FAILED_PRECONDITION
  //   a column's length differs from place_name's,    DATA_LOSS naming the column or place
  //     an index out of range, a coordinate out of
  //     range, an empty name, no places, more than
  //     kMaxGazetteerPlaces places
  static absl::StatusOr<std::shared_ptr<const Gazetteer>> Load(const std::string& path);
  // The same on the file's bytes.
  static absl::StatusOr<std::shared_ptr<const Gazetteer>> FromBytes(absl::string_view bytes);
  // The same checks on a parsed file (tests, the builder's self-check).
  static absl::StatusOr<std::shared_ptr<const Gazetteer>> FromFile(GazetteerFile file);

  ~Gazetteer();
  Gazetteer(const Gazetteer&) = delete;
  Gazetteer& operator=(const Gazetteer&) = delete;

  size_t size() const { return index_.size(); }
  // Place i, i < size().
  Place place(size_t i) const;
  // Where the names come from, the attribution their licence asks for, and the licence.
  const std::string& source() const;
  const std::string& attribution() const;
  const std::string& license() const;

  // The place nearest to `p` (great-circle distance) and the distance and bearing from it; nullopt
  // only when `p` is not finite. Longitudes wrap; latitudes are clamped to +-90.
  std::optional<NearbyPlace> Nearest(geo::LatLon p) const;

 private:
  Gazetteer(std::unique_ptr<const GazetteerFile> file, absl::Span<const geo::LatLon> locations);

  std::unique_ptr<const GazetteerFile> file_;
  NearestPointIndex index_;
};

}  // namespace geoloc::places

#endif  // GEOLOC_CORE_PLACES_GAZETTEER_H_
