// A deterministic synthetic world of geotagged photos for tests, demos and benchmarks.
//
//   WorldOptions opts = WorldPreset("tiny").value();  opts.seed = 7;
//   GEOLOC_ASSIGN_OR_RETURN(World world, GenerateWorld(opts, "/tmp/world"));
//   // /tmp/world/world.csv and /tmp/world/images/<city>/p<place>_v<view>.jpg now exist.
//
// The world: cities around the globe (always including some that straddle longitude 180 and some
// above 70 degrees latitude), grouped into regions. Each place is a procedural scene drawn from its
// own seed; its style (palette, kinds of structures, sky and ground) is shared within its region
// so the region is learnable. Each place has several views (crop, scale, small rotation, colour
// shift, blur, noise); the first views go to the database split, the last to the query split.
// Every byte written is a function of the options alone: the same options give the same files
// (with the same build of geoloc, OpenCV and libjpeg), whatever the number of threads.
//
// Geography guarantees (docs/SYNTH.md has the city table):
//   | world                                  | guarantee                                          |
//   | any valid options                      | city 0 ("wrangel", 71.24 N) lies above 70 N        |
//   | places_per_city >= 2                   | city 0's places lie on both sides of longitude 180 |
//   | num_regions >= 2 (>= 3)                | also "taveuni" (Fiji, on 180) ("longyearbyen" 78 N)|
//   | any valid options                      | places within city_radius_km of their city centre, |
//   |                                        | any two places >= kMinPlaceSeparationKm apart      |
//
// Stateless functions, safe to call from any thread; GenerateWorld uses options.threads threads.
#ifndef GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_
#define GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace geoloc::synth {

// Any two places of a world are at least this far apart, so a 25 m recall radius never matches
// a neighbouring place.
inline constexpr double kMinPlaceSeparationKm = 0.1;
// The built-in region table has this many regions (num_regions may not exceed it).
inline constexpr int kMaxRegions = 16;

struct WorldOptions {
  uint64_t seed = 1;
  int num_regions = 6;               // 1..kMaxRegions
  int cities_per_region = 3;         // 1..64; the first 8 are real anchor cities, then nearby ones
  int places_per_city = 6;           // at least 1; at most what fits at 100 m spacing in the radius
  int database_views_per_place = 3;  // 1..100
  int query_views_per_place = 1;     // 0..100
  int image_width = 320;             // 32..4096
  int image_height = 240;            // 32..4096
  int jpeg_quality = 90;             // 1..100
  double city_radius_km = 3.0;       // places lie within this radius of the city centre, 0.2..20
  int threads = 0;                   // 0: hardware concurrency; never changes the output
};

// Named sizes (images = regions x cities x places x (database + query views)):
//   "tiny"   4 x 2 x  4 x (2 + 1) =      96 images, 320x240
//   "small"  6 x 3 x 14 x (3 + 1) =   1,008 images, 320x240
//   "medium" 10 x 5 x 50 x (3 + 1) =  10,000 images, 320x240
//   "large"  16 x 8 x 200 x (3 + 1) = 102,400 images, 320x240
// Unknown names are an InvalidArgument error naming the valid ones.
absl::StatusOr<WorldOptions> WorldPreset(absl::string_view name);

// OK, or InvalidArgument with a message naming the offending field, its value and the valid range.
absl::Status ValidateWorldOptions(const WorldOptions& options);

// The built-in region's name ("bering", "oceania", ...); "" when out of range.
absl::string_view RegionName(int region);

enum class Split { kDatabase, kQuery };
absl::string_view SplitName(Split split);  // "database" / "query"

struct City {
  std::string name;  // e.g. "suva"; "suva-2" for a further city near the same anchor. Unique.
  double lat = 0, lon = 0;  // the centre; lon in [-180, 180)
  int region = 0;
};

struct ImageRecord {
  std::string path;  // relative to the world's root directory: images/<city>/p<place>_v<view>.jpg
  double lat = 0, lon = 0;  // the place's coordinates, shared by all its views; lon in [-180, 180)
  int64_t place = 0;        // globally unique place id, 0..places-1, city by city
  int city = 0;             // index into World::cities
  int region = 0;
  int view = 0;  // 0..views-1; views below database_views_per_place are database views
  Split split = Split::kDatabase;
};

struct World {
  WorldOptions options;
  std::vector<City> cities;         // region by region
  std::vector<ImageRecord> images;  // place by place; database views first within each place
};

// The world's layout (cities, places, coordinates, splits) without rendering anything. Options
// that fail ValidateWorldOptions give a World with no cities and no images.
World PlanWorld(const WorldOptions& options);

// Renders one view of one place (BGR, image_width x image_height); deterministic. GenerateWorld
// writes exactly this image, JPEG-encoded at options.jpeg_quality. An empty Mat if the options
// are invalid or the record does not belong to `world`.
cv::Mat RenderView(const WorldOptions& options, const World& world, const ImageRecord& record);

struct GenerateOptions {
  // Write into a non-empty directory that does not look like a synthetic world (see below).
  bool force = false;
  // Report progress with geoloc::ProgressReporter on stderr (rate and ETA).
  bool show_progress = false;
};

// Plans, renders and writes every image as JPEG plus world.csv
// (header: path,lat,lon,place,split,city,region,view; one row per image in World::images order;
// lat/lon with 8 decimals; city is the city's name; split is SplitName), plus database.csv and
// query.csv holding the same rows of one split each (build a bundle from the first, evaluate on the
// second). The CSVs are written atomically after all images, world.csv last, so a world without
// world.csv is incomplete.
//
// What happens to `out_dir`:
//   | out_dir                                               | action                             |
//   | missing or empty                                      | created and filled                 |
//   | only our CSVs, images/ and CSV temporaries            | the CSVs and images/ are removed,  |
//   |   (a previous synthetic world, complete or not)       |   then regenerated                 |
//   | anything else                                         | FailedPrecondition, unless force:  |
//   |                                                       |   then world.csv is replaced and   |
//   |                                                       |   images are overwritten in place  |
// Errors: InvalidArgument (options), FailedPrecondition (out_dir), PermissionDenied / Internal
// (file system), each naming the path.
absl::StatusOr<World> GenerateWorld(const WorldOptions& options, const std::string& out_dir,
                                    const GenerateOptions& generate = GenerateOptions());

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_
