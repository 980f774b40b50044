// Deterministic synthetic worlds of geotagged photos for tests, demos, benchmarks and the proving
// ground (docs/SYNTH.md).
//
//   WorldOptions opts = WorldPreset("small").value();  opts.seed = 7;
//   GEOLOC_ASSIGN_OR_RETURN(World world, GenerateWorld(opts, "/tmp/world"));
//   // /tmp/world/{world,train,database,val,calib,test,cities}.csv and images/ now exist.
//
// Two kinds of world:
//   | kind    | presets                         | what it is                                       |
//   | planet  | tiny, small, medium, large      | the proving ground: places drawn from 100,000    |
//   |         |                                 | real photo locations (MP-16), visual signal at   |
//   |         |                                 | region, city, neighbourhood and place level,     |
//   |         |                                 | appearance change between photos, noisy geotags, |
//   |         |                                 | heavy-tailed coverage, distractors, and the      |
//   |         |                                 | splits train / database / val / calib / test     |
//   | fixed   | fixed-tiny, fixed-small         | the first generation, kept byte for byte for the |
//   |         |                                 | tests that depend on it: real anchor cities with |
//   |         |                                 | the antimeridian and polar edge cases, a fixed   |
//   |         |                                 | number of views per place with exact             |
//   |         |                                 | coordinates, splits database / query             |
//
// Fixed-world geography guarantees (docs/SYNTH.md has the city table):
//   | world                                  | guarantee                                          |
//   | any valid options                      | city 0 ("wrangel", 71.24 N) lies above 70 N        |
//   | places_per_city >= 2                   | city 0's places lie on both sides of longitude 180 |
//   | num_regions >= 2 (>= 3)                | also "taveuni" (Fiji, on 180) ("longyearbyen" 78 N)|
//   | any valid options                      | places within city_radius_km of their city centre, |
//   |                                        | any two places >= kMinPlaceSeparationKm apart      |
// Planet guarantees: training places and query places (val, calib, test) are disjoint; every
// query place lies in one query split; every image's true position lies within view_radius_m of
// its place; any two places are at least min_place_separation_m apart; a query's lat/lon is its
// exact true position; distractors carry localizable = false and pixels drawn from their own
// stream only (nothing in them depends on where they were taken).
//
// Every byte written is a function of the options alone: the same options give the same files
// (with the same build of geoloc, OpenCV and libjpeg), whatever the number of threads.
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

// Fixed world: any two places of a world are at least this far apart, so a 25 m recall radius
// never matches a neighbouring place.
inline constexpr double kMinPlaceSeparationKm = 0.1;
// The built-in region table has this many regions (num_regions may not exceed it).
inline constexpr int kMaxRegions = 16;

enum class WorldKind { kPlanet, kFixed };

// The layout of a fixed world (ignored by planet worlds).
struct FixedLayout {
  int num_regions = 6;               // 1..kMaxRegions
  int cities_per_region = 3;         // 1..64; the first 8 are real anchor cities, then nearby ones
  int places_per_city = 6;           // at least 1; at most what fits at 100 m spacing in the radius
  int database_views_per_place = 3;  // 1..100
  int query_views_per_place = 1;     // 0..100
  double city_radius_km = 3.0;       // places lie within this radius of the city centre, 0.2..20
};

// How one kind of collection photographs its places (planet worlds). Shares are probabilities per
// photo; docs/SYNTH.md gives each default with its source.
struct CaptureProfile {
  double night_share = 0;      // taken at night (dark, artificial light)
  double dusk_share = 0;       // at dusk or dawn (warm, dim)
  double overcast_share = 0;   // weather: overcast (grey sky, low contrast)
  double fog_share = 0;        // fog or smoke (contrast falls with distance)
  double rain_share = 0;       // rain (dark, streaks, blur)
  double landmark_share = 0;   // aimed at the place's landmark (else any heading)
  double fov_lo_deg = 50, fov_hi_deg = 70;  // field of view along the long side (zoom)
  double portrait_share = 0;   // held upright (height > width)
  double exif_rotated_share = 0;  // stored rotated with an EXIF Orientation tag (6, 8 or 3)
  double size_lo = 1, size_hi = 1;  // long side, relative to WorldOptions::image_width
  int jpeg_quality_lo = 90, jpeg_quality_hi = 90;
  double blur_hi = 0;          // defocus sigma up to this, in pixels of the output
  double occluders_mean = 0;   // vehicles and people in front of the scene (Poisson mean)
};

// The defaults of a planet's two profiles (docs/SYNTH.md gives each value's source): a photo
// collection (train, database: mostly daylight, fair weather, cameras held level) and the queries
// (val, calib, test: photos sent in at any hour and in any weather, phones held upright, people and
// vehicles in the way).
CaptureProfile DefaultCollectionCapture();
CaptureProfile DefaultQueryCapture();

// Geotag errors of the collection photos (train, database); queries carry exact positions.
struct GeotagNoise {
  double gps_sigma_m = 8;       // device GPS: Gaussian, this sigma per axis
  double manual_share = 0.2;    // placed by hand on a map: log-normal distance, random bearing
  double manual_median_m = 60;
  double city_snap_share = 0.03;  // tagged at the city centre (place-name geotagging)
  double gross_share = 0.03;    // kilometres off: log-uniform distance in [gross_min, gross_max]
  double gross_min_km = 1, gross_max_km = 100;
};

// The layout of a planet world (ignored by fixed worlds).
struct PlanetLayout {
  int cities = 20;                   // drawn from the MP-16 city clusters, by photo count
  int places = 400;                  // spread over the cities by their photo counts
  double train_place_share = 0.5;    // places whose photos form the training split
  double query_place_share = 0.6;    // of the other places: photographed by queries too
  double unindexed_share = 0.2;      // of the query places: no photo in the database
  double views_alpha = 1.2;          // collection photos per place n: P(n >= v) = v^-alpha
  int max_views = 60;
  double query_views_alpha = 1.0;    // query photos per query place, the same law
  int max_query_views = 12;
  double distractor_share = 0.1;         // per collection photo: one more photo of nothing
  double query_distractor_share = 0.15;  // per query photo
  double view_radius_m = 15;             // camera positions around the place
  double min_place_separation_m = 50;
  double place_jitter_m = 150;       // places lie around real photo locations, not on them
  double neighbourhood_km = 1.5;     // neighbourhoods: squares of this side around the centre
  bool appearance_change = true;     // false: every photo in daylight, clear, no occluders,
                                     // the base camera (for ablations)
  GeotagNoise tags;
  CaptureProfile collection = DefaultCollectionCapture();  // train and database
  CaptureProfile queries = DefaultQueryCapture();          // val, calib, test
};

struct WorldOptions {
  uint64_t seed = 1;
  WorldKind kind = WorldKind::kPlanet;
  int image_width = 320;   // 32..4096; planet: the collection's base size (long side)
  int image_height = 240;  // 32..4096
  int jpeg_quality = 90;   // 1..100; planet: the profiles' qualities apply instead
  int threads = 0;         // 0: hardware concurrency; never changes the output
  FixedLayout fixed;
  PlanetLayout planet;
};

// Named worlds. Planet presets (images are approximate: coverage is drawn):
//   "tiny"   6 cities,    100 places,    ~600 images, 160x120    (CI, seconds)
//   "small"  24 cities,   500 places,  ~2,500 images, 320x240    (the demo)
//   "medium" 150 cities, 4,500 places, ~21,000 images, 320x240   (the proving-ground report)
//   "large"  600 cities, 45,000 places, ~207,000 images, 320x240 (benchmarks)
// Fixed presets (images = regions x cities x places x (database + query views)):
//   "fixed-tiny"  4 x 2 x  4 x (2 + 1) =    96 images, 320x240
//   "fixed-small" 6 x 3 x 14 x (3 + 1) = 1,008 images, 320x240
// Unknown names are an InvalidArgument error naming the valid ones.
absl::StatusOr<WorldOptions> WorldPreset(absl::string_view name);
// The valid preset names, comma-separated (for usage messages).
std::string PresetNames();

// OK, or InvalidArgument with a message naming the offending field, its value and the valid range.
absl::Status ValidateWorldOptions(const WorldOptions& options);

// The built-in region's name ("bering", "oceania", ...); "" when out of range.
absl::string_view RegionName(int region);

// Fixed worlds use kDatabase and kQuery; planet worlds the other five and kDatabase.
enum class Split { kDatabase, kQuery, kTrain, kVal, kCalib, kTest };
// "database", "query", "train", "val", "calib", "test".
absl::string_view SplitName(Split split);
bool IsQuerySplit(Split split);  // query, val, calib, test

// What a photo shows: its place, or nothing that says where it was taken.
enum class SceneKind { kPlace, kIndoor, kSky, kCloseUp, kTexture };
absl::string_view SceneKindName(SceneKind kind);  // "place", "indoor", "sky", "closeup", "texture"

enum class TimeOfDay { kDay, kDusk, kNight };
enum class Weather { kClear, kOvercast, kFog, kRain };
// kNone in the tropics (|lat| < 23.44); otherwise from the month and the hemisphere.
enum class Season { kNone, kSpring, kSummer, kAutumn, kWinter };
// How a collection photo's geotag was made (queries: kExact).
enum class TagKind { kExact, kGps, kManual, kCitySnap, kGross };
absl::string_view TimeOfDayName(TimeOfDay t);  // "day", "dusk", "night"
absl::string_view WeatherName(Weather w);      // "clear", "overcast", "fog", "rain"
absl::string_view SeasonName(Season s);        // "none", "spring", "summer", "autumn", "winter"
absl::string_view TagKindName(TagKind k);      // "exact", "gps", "manual", "city_snap", "gross"

// The conditions one planet photo was taken under (fixed worlds leave the defaults).
struct Capture {
  double heading_deg = 0;  // camera azimuth, clockwise from north, [0, 360)
  double fov_deg = 60;     // along the long side
  double pitch = 0;        // vertical aim, in window heights (positive: up)
  double roll_deg = 0;
  TimeOfDay time = TimeOfDay::kDay;
  Weather weather = Weather::kClear;
  Season season = Season::kNone;
  bool snow = false;       // snow on the ground (winter in a cold climate)
  int occluders = 0;
  int width = 0, height = 0;  // the upright picture's size
  int jpeg_quality = 90;
  int orientation = 1;        // EXIF Orientation of the file (1: stored upright, no tag)
  double blur_sigma = 0;
  double noise_sigma = 0;
};

struct City {
  std::string name;  // unique; lower-case ASCII, digits, '-' and '_' (it names a directory)
  double lat = 0, lon = 0;  // the centre; lon in [-180, 180)
  int region = 0;
  int64_t photos = 0;       // planet: MP-16 photos in the city's cluster (its density weight)
};

struct Place {  // planet worlds
  double lat = 0, lon = 0;
  int city = 0;
  int region = 0;
  int neighbourhood = 0;         // index into World::neighbourhoods
  double landmark_heading_deg = 0;
  double street_heading_deg = 0;  // the street runs along this heading and its opposite
};

struct Neighbourhood {  // planet worlds: a square of the city's local grid
  int city = 0;
  int east = 0, north = 0;     // grid cell relative to the city centre
  double centre_distance_km = 0;
};

struct ImageRecord {
  // Relative to the world's root directory. Fixed: images/<city>/p<place>_v<view>.jpg; planet:
  // images/<split>/<16 hex digits>.jpg (names carry no label).
  std::string path;
  // The coordinates the CSV gives: fixed worlds, the place's; planet collection photos, the
  // (noisy) geotag; planet queries, the exact true position. lon in [-180, 180).
  double lat = 0, lon = 0;
  double true_lat = 0, true_lon = 0;  // where the camera was
  TagKind tag = TagKind::kExact;
  int64_t place = 0;        // globally unique place id
  int city = 0;             // index into World::cities
  int region = 0;
  int neighbourhood = -1;   // planet: index into World::neighbourhoods
  int view = 0;             // index of the photo within its place and split
  Split split = Split::kDatabase;
  SceneKind scene = SceneKind::kPlace;  // anything else: a distractor (not localizable)
  Capture capture;
  bool localizable() const { return scene == SceneKind::kPlace; }
};

struct World {
  WorldOptions options;
  std::vector<City> cities;
  std::vector<Place> places;                  // planet worlds
  std::vector<Neighbourhood> neighbourhoods;  // planet worlds
  // Fixed: place by place, database views first. Planet: place by place, each place's photos
  // split by split, its distractors after them.
  std::vector<ImageRecord> images;
};

// The world's layout (cities, places, coordinates, splits, conditions) without rendering
// anything. Options that fail ValidateWorldOptions give a World with no cities and no images.
World PlanWorld(const WorldOptions& options);

// Renders one image (BGR, upright, capture.width x capture.height for planets, image_width x
// image_height for fixed worlds); deterministic. GenerateWorld writes exactly this image,
// JPEG-encoded (planets: rotated and tagged as capture.orientation says). An empty Mat if the
// options are invalid or the record does not belong to `world`.
cv::Mat RenderView(const WorldOptions& options, const World& world, const ImageRecord& record);

// The file GenerateWorld writes for `record`: RenderView's pixels, JPEG-encoded at the record's
// quality (fixed: options.jpeg_quality), with an EXIF Orientation tag when capture.orientation is
// not 1. InvalidArgument for a record that does not belong to the world; Internal if encoding fails.
absl::StatusOr<std::string> EncodeView(const WorldOptions& options, const World& world,
                                       const ImageRecord& record);

struct GenerateOptions {
  // Write into a non-empty directory that does not look like a synthetic world (see below).
  bool force = false;
  // Report progress with geoloc::ProgressReporter on stderr (rate and ETA).
  bool show_progress = false;
};

// Plans, renders and writes every image as JPEG plus the CSVs:
//   fixed:  world.csv (header path,lat,lon,place,split,city,region,view), database.csv, query.csv
//   planet: world.csv (header kPlanetCsvHeader), train.csv, database.csv, val.csv, calib.csv,
//           test.csv (the same rows, one split each) and cities.csv
// lat/lon with 8 decimals. The CSVs are written atomically after all images, world.csv last, so a
// world without world.csv is incomplete.
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

// The planet CSVs' header (docs/SYNTH.md explains every column).
inline constexpr char kPlanetCsvHeader[] =
    "path,lat,lon,true_lat,true_lon,tag,tag_error_m,place,split,city,region,neighbourhood,"
    "localizable,scene,view,heading,fov,time,weather,season,occluders,width,height,orientation,"
    "jpeg_quality";

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_SYNTHETIC_WORLD_H_
