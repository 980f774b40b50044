// Coordinates from file names in the VPR-datasets naming convention
// (gmberton/VPR-datasets-downloader):
//
//   @utm_east@utm_north@utm_zone_number@utm_zone_letter@lat@lon@pano_id@tile_num@heading@pitch@
//   roll@height@timestamp@note@.jpg
//
//   GEOLOC_ASSIGN_OR_RETURN(geo::LatLon p,
//       ParseVprFilename("@0543256.96@4178906.96@10@S@37.75709@-122.50633@@@@@@@@.jpg"));
//
// Only the base name is looked at (directories are ignored). Field 5 is the latitude and field 6
// the longitude (counting the fields between '@'s from 1); the UTM fields and everything after
// field 6 are ignored, and may be empty.
//
//   input                                          result
//   name not starting with '@'                     INVALID_ARGUMENT ("not a VPR file name")
//   fewer than 6 '@'-separated fields              INVALID_ARGUMENT
//   lat/lon not a number, NaN/inf, out of range    INVALID_ARGUMENT naming the field
//
// Pure function: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_VPR_FILENAME_H_
#define GEOLOC_CORE_INDEX_VPR_FILENAME_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/geo/lat_lon.h"

namespace geoloc::index {

absl::StatusOr<geo::LatLon> ParseVprFilename(absl::string_view path);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_VPR_FILENAME_H_
