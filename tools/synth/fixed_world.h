// The fixed world's layout (WorldKind::kFixed, presets fixed-tiny and fixed-small): real anchor
// cities region by region, places on a jittered hexagonal lattice around each city centre, a fixed
// number of database and query views per place, all at the place's exact coordinates. Kept byte
// for byte from the first generation of the generator for the tests that depend on it.
//
//   GEOLOC_RETURN_IF_ERROR(ValidateFixedLayout(options));
//   World world = PlanFixedWorld(options);
//
// Internal to geoloc_synth (synthetic_world.h is the API). Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_FIXED_WORLD_H_
#define GEOLOC_TOOLS_SYNTH_FIXED_WORLD_H_

#include "absl/status/status.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::synth {

// Checks options.fixed (and the image count it implies); InvalidArgument naming the field.
absl::Status ValidateFixedLayout(const WorldOptions& options);

// Precondition: ValidateWorldOptions(options).ok() and options.kind == WorldKind::kFixed.
World PlanFixedWorld(const WorldOptions& options);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_FIXED_WORLD_H_
