// geoloc-synth: writes a deterministic synthetic world of geotagged photos (docs/SYNTH.md).
//
//   geoloc-synth --preset small --out /tmp/world
//   geoloc-synth --preset medium --out /tmp/w --seed 7 --gross_tag_share 0.05
//   geoloc-synth --preset fixed-tiny --out /tmp/f --image_width 224 --image_height 224
//
// Exit status: 0 on success, 2 on bad flags or options, 1 when generation fails (e.g. the output
// directory cannot be written). Progress goes to stderr, the summary to stdout.
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/common/command_line.h"
#include "core/common/logging.h"
#include "tools/synth/geography.h"
#include "tools/synth/synthetic_world.h"

ABSL_FLAG(std::string, preset, "small",
          "World: tiny, small, medium, large (planet) or fixed-tiny, fixed-small (docs/SYNTH.md)");
ABSL_FLAG(std::string, out, "", "Output directory (required): receives the CSVs and images/");
ABSL_FLAG(bool, force, false,
          "Write into a non-empty directory even if it does not look like a synthetic world");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(bool, dry_run, false,
          "Plan the world and print its summary without writing anything (--out not needed)");
// Overrides of the preset's WorldOptions; unset flags keep the preset's value.
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "World seed (preset: 1)");
ABSL_FLAG(std::optional<int>, image_width, std::nullopt,
          "Image width in pixels (planet: the collection's long side)");
ABSL_FLAG(std::optional<int>, image_height, std::nullopt, "Image height in pixels");
ABSL_FLAG(std::optional<int>, jpeg_quality, std::nullopt,
          "Fixed worlds: JPEG quality 1..100 (planets draw it per photo)");
ABSL_FLAG(std::optional<int>, threads, std::nullopt,
          "Worker threads, 0 = all cores (never changes the output)");
// Fixed worlds.
ABSL_FLAG(std::optional<int>, num_regions, std::nullopt, "Fixed: regions, 1..16");
ABSL_FLAG(std::optional<int>, cities_per_region, std::nullopt, "Fixed: cities per region, 1..64");
ABSL_FLAG(std::optional<int>, places_per_city, std::nullopt, "Fixed: places per city");
ABSL_FLAG(std::optional<int>, database_views_per_place, std::nullopt,
          "Fixed: database views per place, 1..100");
ABSL_FLAG(std::optional<int>, query_views_per_place, std::nullopt,
          "Fixed: query views per place, 0..100");
ABSL_FLAG(std::optional<double>, city_radius_km, std::nullopt,
          "Fixed: radius of a city's places around its centre, km (preset: 3)");
// Planet worlds: layout and coverage.
ABSL_FLAG(std::optional<int>, cities, std::nullopt, "Planet: cities drawn from MP-16");
ABSL_FLAG(std::optional<int>, places, std::nullopt, "Planet: places over all cities");
ABSL_FLAG(std::optional<double>, train_place_share, std::nullopt,
          "Planet: share of places whose photos form the training split (0.5)");
ABSL_FLAG(std::optional<double>, query_place_share, std::nullopt,
          "Planet: share of the other places that queries photograph (0.6)");
ABSL_FLAG(std::optional<double>, unindexed_share, std::nullopt,
          "Planet: share of query places with no database photo (0.2)");
ABSL_FLAG(std::optional<double>, views_alpha, std::nullopt,
          "Planet: collection photos per place n follow P(n >= v) = v^-alpha (1.2)");
ABSL_FLAG(std::optional<int>, max_views, std::nullopt,
          "Planet: most collection photos of one place (60)");
ABSL_FLAG(std::optional<double>, query_views_alpha, std::nullopt,
          "Planet: the same law for query photos per query place (1.0)");
ABSL_FLAG(std::optional<int>, max_query_views, std::nullopt,
          "Planet: most query photos of one place (12)");
ABSL_FLAG(std::optional<double>, distractor_share, std::nullopt,
          "Planet: distractors per collection photo (0.1)");
ABSL_FLAG(std::optional<double>, query_distractor_share, std::nullopt,
          "Planet: distractors per query photo (0.15)");
ABSL_FLAG(std::optional<double>, view_radius_m, std::nullopt,
          "Planet: camera positions within this distance of the place (15)");
ABSL_FLAG(std::optional<double>, min_place_separation_m, std::nullopt,
          "Planet: places at least this far apart (50)");
ABSL_FLAG(std::optional<double>, place_jitter_m, std::nullopt,
          "Planet: places lie around real photo locations with this Gaussian sigma (150)");
ABSL_FLAG(std::optional<double>, neighbourhood_km, std::nullopt,
          "Planet: side of a neighbourhood square (1.5)");
ABSL_FLAG(std::optional<bool>, appearance_change, std::nullopt,
          "Planet: false keeps every photo in daylight, clear weather, no occluders and the base "
          "camera (viewpoint still varies); for ablations");
// Planet worlds: geotags of the collection.
ABSL_FLAG(std::optional<double>, gps_sigma_m, std::nullopt,
          "Planet: device GPS error, sigma per axis in metres (8)");
ABSL_FLAG(std::optional<double>, manual_tag_share, std::nullopt,
          "Planet: share of photos placed by hand on a map (0.2)");
ABSL_FLAG(std::optional<double>, manual_tag_median_m, std::nullopt,
          "Planet: median error of a hand-placed tag, metres (60)");
ABSL_FLAG(std::optional<double>, city_snap_share, std::nullopt,
          "Planet: share of photos tagged at the city centre (0.03)");
ABSL_FLAG(std::optional<double>, gross_tag_share, std::nullopt,
          "Planet: share of photos tagged kilometres off (0.03)");
ABSL_FLAG(std::optional<double>, gross_tag_min_km, std::nullopt,
          "Planet: gross errors from this distance (1)");
ABSL_FLAG(std::optional<double>, gross_tag_max_km, std::nullopt,
          "Planet: gross errors up to this distance (100)");

// Planet worlds: the two capture profiles (collection: train and database; query: val, calib,
// test).
#define GEOLOC_PROFILE_FLAGS(profile)                                                          \
  ABSL_FLAG(std::optional<double>, profile##_night_share, std::nullopt,                       \
            "Planet, " #profile " photos: share taken at night");                              \
  ABSL_FLAG(std::optional<double>, profile##_dusk_share, std::nullopt,                        \
            "Planet, " #profile " photos: share taken at dusk or dawn");                       \
  ABSL_FLAG(std::optional<double>, profile##_overcast_share, std::nullopt,                    \
            "Planet, " #profile " photos: share under an overcast sky");                       \
  ABSL_FLAG(std::optional<double>, profile##_fog_share, std::nullopt,                         \
            "Planet, " #profile " photos: share in fog or smoke");                             \
  ABSL_FLAG(std::optional<double>, profile##_rain_share, std::nullopt,                        \
            "Planet, " #profile " photos: share in rain");                                     \
  ABSL_FLAG(std::optional<double>, profile##_landmark_share, std::nullopt,                    \
            "Planet, " #profile " photos: share aimed at the place's landmark");               \
  ABSL_FLAG(std::optional<double>, profile##_portrait_share, std::nullopt,                    \
            "Planet, " #profile " photos: share held upright");                                \
  ABSL_FLAG(std::optional<double>, profile##_exif_rotated_share, std::nullopt,                \
            "Planet, " #profile " photos: share stored rotated with an EXIF Orientation tag"); \
  ABSL_FLAG(std::optional<double>, profile##_occluders_mean, std::nullopt,                    \
            "Planet, " #profile " photos: mean vehicles and people in front")

GEOLOC_PROFILE_FLAGS(collection);
GEOLOC_PROFILE_FLAGS(query);

namespace {

constexpr int kUsageError = 2;
constexpr int kRunError = 1;

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "geoloc-synth: error: %s\n", std::string(message).c_str());
  return code;
}

template <typename T>
void Override(const absl::Flag<std::optional<T>>& flag, T* field) {
  if (const std::optional<T> value = absl::GetFlag(flag)) *field = *value;
}

template <typename T>
bool IsSet(const absl::Flag<std::optional<T>>& flag) {
  return absl::GetFlag(flag).has_value();
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) return absl::StrFormat("%.2f GiB", bytes / double(1 << 30));
  if (bytes >= (uint64_t{1} << 20)) return absl::StrFormat("%.1f MiB", bytes / double(1 << 20));
  return absl::StrFormat("%.1f KiB", bytes / 1024.0);
}

#define GEOLOC_OVERRIDE_PROFILE(profile, target)                                  \
  do {                                                                            \
    Override(FLAGS_##profile##_night_share, &(target).night_share);               \
    Override(FLAGS_##profile##_dusk_share, &(target).dusk_share);                 \
    Override(FLAGS_##profile##_overcast_share, &(target).overcast_share);         \
    Override(FLAGS_##profile##_fog_share, &(target).fog_share);                   \
    Override(FLAGS_##profile##_rain_share, &(target).rain_share);                 \
    Override(FLAGS_##profile##_landmark_share, &(target).landmark_share);         \
    Override(FLAGS_##profile##_portrait_share, &(target).portrait_share);         \
    Override(FLAGS_##profile##_exif_rotated_share, &(target).exif_rotated_share); \
    Override(FLAGS_##profile##_occluders_mean, &(target).occluders_mean);         \
  } while (false)

// Applies the flags that fit the preset's kind; a flag of the other kind is a usage error.
absl::Status ApplyOverrides(geoloc::synth::WorldOptions& o) {
  Override(FLAGS_seed, &o.seed);
  Override(FLAGS_image_width, &o.image_width);
  Override(FLAGS_image_height, &o.image_height);
  Override(FLAGS_jpeg_quality, &o.jpeg_quality);
  Override(FLAGS_threads, &o.threads);
  const bool fixed_flags = IsSet(FLAGS_num_regions) || IsSet(FLAGS_cities_per_region) ||
                           IsSet(FLAGS_places_per_city) || IsSet(FLAGS_database_views_per_place) ||
                           IsSet(FLAGS_query_views_per_place) || IsSet(FLAGS_city_radius_km);
  if (o.kind == geoloc::synth::WorldKind::kPlanet) {
    if (fixed_flags) {
      return absl::InvalidArgumentError(
          "--num_regions, --cities_per_region, --places_per_city, --database_views_per_place, "
          "--query_views_per_place and --city_radius_km shape fixed worlds only (preset "
          "fixed-tiny or fixed-small)");
    }
    geoloc::synth::PlanetLayout& p = o.planet;
    Override(FLAGS_cities, &p.cities);
    Override(FLAGS_places, &p.places);
    Override(FLAGS_train_place_share, &p.train_place_share);
    Override(FLAGS_query_place_share, &p.query_place_share);
    Override(FLAGS_unindexed_share, &p.unindexed_share);
    Override(FLAGS_views_alpha, &p.views_alpha);
    Override(FLAGS_max_views, &p.max_views);
    Override(FLAGS_query_views_alpha, &p.query_views_alpha);
    Override(FLAGS_max_query_views, &p.max_query_views);
    Override(FLAGS_distractor_share, &p.distractor_share);
    Override(FLAGS_query_distractor_share, &p.query_distractor_share);
    Override(FLAGS_view_radius_m, &p.view_radius_m);
    Override(FLAGS_min_place_separation_m, &p.min_place_separation_m);
    Override(FLAGS_place_jitter_m, &p.place_jitter_m);
    Override(FLAGS_neighbourhood_km, &p.neighbourhood_km);
    Override(FLAGS_appearance_change, &p.appearance_change);
    Override(FLAGS_gps_sigma_m, &p.tags.gps_sigma_m);
    Override(FLAGS_manual_tag_share, &p.tags.manual_share);
    Override(FLAGS_manual_tag_median_m, &p.tags.manual_median_m);
    Override(FLAGS_city_snap_share, &p.tags.city_snap_share);
    Override(FLAGS_gross_tag_share, &p.tags.gross_share);
    Override(FLAGS_gross_tag_min_km, &p.tags.gross_min_km);
    Override(FLAGS_gross_tag_max_km, &p.tags.gross_max_km);
    GEOLOC_OVERRIDE_PROFILE(collection, p.collection);
    GEOLOC_OVERRIDE_PROFILE(query, p.queries);
    return absl::OkStatus();
  }
  const bool planet_flags = IsSet(FLAGS_cities) || IsSet(FLAGS_places) ||
                            IsSet(FLAGS_distractor_share) || IsSet(FLAGS_gross_tag_share) ||
                            IsSet(FLAGS_appearance_change);
  if (planet_flags) {
    return absl::InvalidArgumentError(
        "planet flags (--cities, --places, --distractor_share, ...) do not apply to fixed worlds");
  }
  geoloc::synth::FixedLayout& f = o.fixed;
  Override(FLAGS_num_regions, &f.num_regions);
  Override(FLAGS_cities_per_region, &f.cities_per_region);
  Override(FLAGS_places_per_city, &f.places_per_city);
  Override(FLAGS_database_views_per_place, &f.database_views_per_place);
  Override(FLAGS_query_views_per_place, &f.query_views_per_place);
  Override(FLAGS_city_radius_km, &f.city_radius_km);
  return absl::OkStatus();
}

void PrintPlanetSummary(const geoloc::synth::World& world) {
  using geoloc::synth::Split;
  std::map<Split, std::pair<int64_t, int64_t>> counts;  // split -> localizable, distractors
  std::vector<double> tag_errors_m;
  for (const auto& r : world.images) {
    auto& c = counts[r.split];
    (r.localizable() ? c.first : c.second)++;
    if (!geoloc::synth::IsQuerySplit(r.split)) {
      tag_errors_m.push_back(
          geoloc::synth::HaversineKm({r.lat, r.lon}, {r.true_lat, r.true_lon}) * 1000);
    }
  }
  std::printf("  cities   %zu (%zu regions in play), places %zu, neighbourhoods %zu\n",
              world.cities.size(),
              [&] {
                std::vector<bool> seen(geoloc::synth::kMaxRegions);
                size_t n = 0;
                for (const auto& c : world.cities) n += !seen[c.region], seen[c.region] = true;
                return n;
              }(),
              world.places.size(), world.neighbourhoods.size());
  for (Split s : {Split::kTrain, Split::kDatabase, Split::kVal, Split::kCalib, Split::kTest}) {
    std::printf("  %-8s %lld photos + %lld distractors\n",
                std::string(geoloc::synth::SplitName(s)).c_str(),
                static_cast<long long>(counts[s].first), static_cast<long long>(counts[s].second));
  }
  if (!tag_errors_m.empty()) {
    std::sort(tag_errors_m.begin(), tag_errors_m.end());
    double sum = 0;
    int64_t over_1km = 0;
    for (double e : tag_errors_m) sum += e, over_1km += e > 1000;
    std::printf("  geotags  median error %.1f m, mean %.0f m, %.1f%% over 1 km (train + database)\n",
                tag_errors_m[tag_errors_m.size() / 2], sum / tag_errors_m.size(),
                100.0 * over_1km / tag_errors_m.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> positional = geoloc::ParseCommandLineOrExit(
      argc, argv, "geoloc-synth",
      "writes a deterministic synthetic world of geotagged photos (docs/SYNTH.md).\n"
      "Usage: geoloc-synth --preset tiny|small|medium|large|fixed-tiny|fixed-small --out DIR\n"
      "       [--seed N] [overrides]");
  if (positional.size() > 1) {
    return Fail(kUsageError, absl::StrCat("unexpected argument '", positional[1],
                                          "' (all options are --flags; see --help)"));
  }
  const absl::StatusOr<geoloc::LogLevel> level =
      geoloc::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail(kUsageError, level.status().message());
  geoloc::SetMinLogLevel(*level);

  const std::string out = absl::GetFlag(FLAGS_out);
  const bool dry_run = absl::GetFlag(FLAGS_dry_run);
  if (out.empty() && !dry_run) {
    return Fail(kUsageError, "--out is required: the directory to write the world into");
  }
  const std::string preset = absl::GetFlag(FLAGS_preset);
  absl::StatusOr<geoloc::synth::WorldOptions> options = geoloc::synth::WorldPreset(preset);
  if (!options.ok()) return Fail(kUsageError, options.status().message());
  if (absl::Status applied = ApplyOverrides(*options); !applied.ok()) {
    return Fail(kUsageError, applied.message());
  }
  if (absl::Status valid = geoloc::synth::ValidateWorldOptions(*options); !valid.ok()) {
    return Fail(kUsageError, absl::StrCat("invalid options: ", valid.message()));
  }

  if (dry_run) {
    const geoloc::synth::World plan = geoloc::synth::PlanWorld(*options);
    std::printf("geoloc-synth: planned (nothing written)\n  preset   %s, seed %llu\n",
                preset.c_str(), static_cast<unsigned long long>(options->seed));
    std::printf("  images   %zu\n", plan.images.size());
    if (options->kind == geoloc::synth::WorldKind::kPlanet) PrintPlanetSummary(plan);
    return 0;
  }
  geoloc::synth::GenerateOptions generate;
  generate.force = absl::GetFlag(FLAGS_force);
  generate.show_progress = true;
  const absl::Time start = absl::Now();
  absl::StatusOr<geoloc::synth::World> world =
      geoloc::synth::GenerateWorld(*options, out, generate);
  if (!world.ok()) return Fail(kRunError, world.status().message());
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  int64_t database = 0;
  std::error_code ec;
  for (const auto& record : world->images) {
    const uintmax_t size = fs::file_size(fs::path(out) / record.path, ec);
    if (!ec) bytes += size;
    if (record.split == geoloc::synth::Split::kDatabase) ++database;
  }
  const uintmax_t csv_size = fs::file_size(fs::path(out) / "world.csv", ec);
  if (!ec) bytes += csv_size;

  const int64_t images = static_cast<int64_t>(world->images.size());
  const int threads = options->threads > 0
                          ? options->threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("geoloc-synth: wrote %s\n", (fs::path(out) / "world.csv").string().c_str());
  std::printf("  preset   %s, seed %llu\n", preset.c_str(),
              static_cast<unsigned long long>(options->seed));
  if (options->kind == geoloc::synth::WorldKind::kFixed) {
    const geoloc::synth::FixedLayout& f = options->fixed;
    std::vector<std::string> regions;
    for (int r = 0; r < f.num_regions; ++r) {
      regions.emplace_back(geoloc::synth::RegionName(r));
    }
    const int views = f.database_views_per_place + f.query_views_per_place;
    std::printf("  regions  %d (%s)\n", f.num_regions, absl::StrJoin(regions, ", ").c_str());
    std::printf("  cities   %zu (%d per region)\n", world->cities.size(), f.cities_per_region);
    std::printf("  places   %lld (%d per city, within %g km, >= %g m apart)\n",
                static_cast<long long>(images / views), f.places_per_city, f.city_radius_km,
                geoloc::synth::kMinPlaceSeparationKm * 1000);
    std::printf("  images   %lld: database %lld, query %lld (%dx%d JPEG, quality %d)\n",
                static_cast<long long>(images), static_cast<long long>(database),
                static_cast<long long>(images - database), options->image_width,
                options->image_height, options->jpeg_quality);
  } else {
    std::printf("  images   %lld (base %dx%d)\n", static_cast<long long>(images),
                options->image_width, options->image_height);
    PrintPlanetSummary(*world);
  }
  std::printf("  bytes    %llu (%s)\n", static_cast<unsigned long long>(bytes),
              HumanBytes(bytes).c_str());
  std::printf("  time     %.2f s, %.1f images/s on %d threads\n", seconds,
              seconds > 0 ? images / seconds : 0.0, threads);
  return 0;
}
