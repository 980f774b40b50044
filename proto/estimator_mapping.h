// The one mapping between the API's Estimator enum (geoloc.v1) and the engine's
// geo::EstimatorKind, used by the server's request and response mapping and by the CLI's flags.
// Names live in one table too (core/geo/estimator_options.h): the CLI parses a name with
// geo::ParseEstimatorKind and sends EstimatorToProto of it.
//
//   options.set_estimator(EstimatorToProto(geo::EstimatorKind::kGridKde));
//   std::optional<geo::EstimatorKind> kind = EstimatorFromProto(options.estimator());
//
// Adding an estimator: one row in the table of estimator_mapping.cc, and the enum value in
// proto/geoloc/v1/geoloc.proto (docs/DEVELOPING.md "Add an estimator"). Pure functions.
#ifndef GEOLOC_PROTO_ESTIMATOR_MAPPING_H_
#define GEOLOC_PROTO_ESTIMATOR_MAPPING_H_

#include <optional>
#include <string>

#include "core/geo/estimator_options.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::api {

v1::Estimator EstimatorToProto(geo::EstimatorKind kind);

// nullopt for ESTIMATOR_UNSPECIFIED (the server's default) and for numbers the enum does not name
// (proto3 enums are open: a caller may send any int32).
std::optional<geo::EstimatorKind> EstimatorFromProto(v1::Estimator estimator);

// "ESTIMATOR_NEAREST (1), ..., ESTIMATOR_SPHERICAL_KDE (5)": the values EstimatorFromProto maps.
std::string KnownProtoEstimators();

}  // namespace geoloc::api

#endif  // GEOLOC_PROTO_ESTIMATOR_MAPPING_H_
