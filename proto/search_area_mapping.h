// The one mapping between the API's SearchArea (geoloc.v1) and the engine's geo::SearchArea, used
// by the server's request mapping and by the CLI's --area-* flags (and so by the HTTP API, which
// carries LocateOptions through protobuf's JSON mapping).
//
//   GEOLOC_ASSIGN_OR_RETURN(geo::SearchArea area, api::SearchAreaFromProto(options.area()));
//   *options.mutable_area() = api::SearchAreaToProto(area);
//
// SearchAreaFromProto: an unset shape is no area (whatever the mode); a mode the enum does not
// name is INVALID_ARGUMENT ("area.mode = 7 ..."). Values are not range-checked here (that is
// geo::ValidateSearchAreaValues, through engine::ValidateLocateParams). Pure functions.
#ifndef GEOLOC_PROTO_SEARCH_AREA_MAPPING_H_
#define GEOLOC_PROTO_SEARCH_AREA_MAPPING_H_

#include "absl/status/statusor.h"
#include "core/geo/search_area.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::api {

absl::StatusOr<geo::SearchArea> SearchAreaFromProto(const v1::SearchArea& area);
v1::SearchArea SearchAreaToProto(const geo::SearchArea& area);

}  // namespace geoloc::api

#endif  // GEOLOC_PROTO_SEARCH_AREA_MAPPING_H_
