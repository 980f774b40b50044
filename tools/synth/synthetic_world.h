// A deterministic synthetic world of geotagged photos for tests, demos and benchmarks.
//
//   WorldOptions opts = WorldPreset("tiny");  opts.seed = 7;
//   GEOLOC_ASSIGN_OR_RETURN(World world, GenerateWorld(opts, "/tmp/world"));
//   // /tmp/world/world.csv and /tmp/world/images/<city>/<place>_<view>.jpg now exist.
//
// The world: cities around the globe (always including some that straddle longitude 180 and some
// above 70 degrees latitude), grouped into regions. Each place is a procedural scene drawn from its
// own seed; its style (palette, kinds of structures, sky and ground) is shared within its region
// so the region is learnable. Each place has several views (crop, scale, small rotation, colour
// shift, blur, noise); the first views go to the database split, the last to the query split.
// Every byte written is a function of the options alone: the same options give the same files.
//
// Stateless functions; GenerateWorld may use several threads internally.
#ifndef GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_
#define GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace geoloc::synth {

struct WorldOptions {
  uint64_t seed = 1;
  int num_regions = 6;
  int cities_per_region = 3;
  int places_per_city = 6;
  int database_views_per_place = 3;
  int query_views_per_place = 1;
  int image_width = 320;
  int image_height = 240;
  int jpeg_quality = 90;
  double city_radius_km = 3.0;   // places are spread within this radius of the city centre
  int threads = 0;               // 0: hardware concurrency
};

// Named sizes: "tiny" (about 100 images, a second), "small" (~1,000), "medium" (~10,000),
// "large" (~100,000). Unknown names are an error.
absl::StatusOr<WorldOptions> WorldPreset(absl::string_view name);

enum class Split { kDatabase, kQuery };
absl::string_view SplitName(Split split);  // "database" / "query"

struct City {
  std::string name;  // e.g. "suva" (names are generated, stable per seed)
  double lat = 0, lon = 0;
  int region = 0;
};

struct ImageRecord {
  std::string path;  // relative to the world's root directory
  double lat = 0, lon = 0;
  int64_t place = 0;  // globally unique place id
  int city = 0;       // index into World::cities
  int region = 0;
  int view = 0;
  Split split = Split::kDatabase;
};

struct World {
  WorldOptions options;
  std::vector<City> cities;
  std::vector<ImageRecord> images;  // database views first within each place, then queries
};

// The world's layout (cities, places, coordinates, splits) without rendering anything.
World PlanWorld(const WorldOptions& options);
// Renders one view of one place (BGR, image_width x image_height); deterministic.
cv::Mat RenderView(const WorldOptions& options, const World& world, const ImageRecord& record);
// Plans, renders and writes every image as JPEG plus world.csv
// (header: path,lat,lon,place,split,city,region,view). Writes atomically: the CSV last.
absl::StatusOr<World> GenerateWorld(const WorldOptions& options, const std::string& out_dir);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_
