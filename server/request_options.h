// Request options in: geoloc.v1 LocateOptions -> engine::LocateParams. This is where a caller's
// numbers first meet the engine, so nothing here may trust them; but the ranges are not written
// here: options are copied over the server's defaults and the result is checked once, by
// engine::ValidateLocateParams, whose limits (core/engine/locate_params.h,
// core/geo/estimator_options.h) name the options as the API does. No LibTorch, no gRPC service
// code (target geoloc_server_requests), so the sanitizer suites and the request fuzzer link it
// cheaply.
//
//   GEOLOC_ASSIGN_OR_RETURN(engine::LocateParams params,
//                           ToLocateParams(request.options(), config.defaults, config.max_k));
//
// Pure functions; safe from any thread.
//
// Option by option (an unset/zero option takes the server's default; anything else is checked
// against the named range, whose numbers are in core/engine/locate_params.h and
// core/geo/estimator_options.h):
//
//   option                 unset / 0 means     accepted                      refused, e.g.
//   k                      default k           1 .. --max_k (<= kMaxK)       "k = 900 exceeds ..."
//   estimator              default estimator   a value of the Estimator enum "estimator = 17 ..."
//   weight_exponent        default m           geo::kWeightExponentRange     "weight_exponent = -1"
//   bandwidth_km           default bandwidth   geo::kBandwidthKmRange        "bandwidth_km = 0 ..."
//   sigma_deg              default sigma       geo::kSigmaDegRange           "sigma_deg = -1 ..."
//   merge_radius_km        default (0: = h)    geo::kMergeRadiusKmRange      "merge_radius_km = -1"
//   max_peaks              default             kMaxPeaksRange                "max_peaks = 101 ..."
//   cell_levels            default levels      kMaxCellLevels levels, each   "cell_levels[2] = 31"
//                                              in kCellLevelRange
//   max_cells_per_level    default             kMaxCellsPerLevelRange        "... = 101 ..."
//   max_classifier_cells   default             kMaxClassifierCellsRange      "... = 1001 ..."
//   return_cell_polygons   false               any                           -
//   region_levels          --region_levels     kMaxRegionLevels levels, each "region_levels[1] = 1"
//                                              in kRegionLevelRange,
//                                              increasing
//   return_region_cells    false               any                           -
//   (abstain_below is the server's --abstain_below only: a caller cannot lower the bar)
//   return_neighbors       (read by the caller, not part of LocateParams)
//   include_thumbnails     false               any (with return_neighbors:   -
//                                              neighbor_thumbnails)
// Reals must be finite ("... must be a finite number").
//
// uint32 counts above INT_MAX are refused with the same message (the value as sent) before they
// are converted, so nothing wraps into range. Every message but the estimator's starts with
// "options: ".
#ifndef GEOLOC_SERVER_REQUEST_OPTIONS_H_
#define GEOLOC_SERVER_REQUEST_OPTIONS_H_

#include "absl/status/statusor.h"
#include "core/engine/locate_params.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::server {

// Unset/zero fields take `defaults`; INVALID_ARGUMENT naming the option when one is out of range
// (see the table above). `max_k` is the server's --max_k.
absl::StatusOr<engine::LocateParams> ToLocateParams(const geoloc::v1::LocateOptions& options,
                                                    const engine::LocateParams& defaults,
                                                    int max_k);

// The server's defaults as a LocateOptions message (GetStatus).
geoloc::v1::LocateOptions ToLocateOptions(const engine::LocateParams& params);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_REQUEST_OPTIONS_H_
