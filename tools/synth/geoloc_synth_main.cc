// geoloc-synth: writes a deterministic synthetic world of geotagged photos (docs/SYNTH.md).
//
//   geoloc-synth --preset small --out /tmp/world
//   geoloc-synth --preset tiny --out /tmp/w --seed 7 --image_width 224 --image_height 224
//
// Exit status: 0 on success, 2 on bad flags or options, 1 when generation fails (e.g. the output
// directory cannot be written). Progress goes to stderr, the summary to stdout.
#include <cstdio>
#include <filesystem>
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
#include "tools/synth/synthetic_world.h"

ABSL_FLAG(std::string, preset, "small",
          "World size: tiny (96 images), small (1,008), medium (10,000) or large (102,400)");
ABSL_FLAG(std::string, out, "", "Output directory (required): receives world.csv and images/");
ABSL_FLAG(bool, force, false,
          "Write into a non-empty directory even if it does not look like a synthetic world");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
// Overrides of the preset's WorldOptions; unset flags keep the preset's value.
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "World seed (preset: 1)");
ABSL_FLAG(std::optional<int>, num_regions, std::nullopt, "Regions, 1..16");
ABSL_FLAG(std::optional<int>, cities_per_region, std::nullopt, "Cities per region, 1..64");
ABSL_FLAG(std::optional<int>, places_per_city, std::nullopt, "Places per city");
ABSL_FLAG(std::optional<int>, database_views_per_place, std::nullopt,
          "Database views per place, 1..100");
ABSL_FLAG(std::optional<int>, query_views_per_place, std::nullopt, "Query views per place, 0..100");
ABSL_FLAG(std::optional<int>, image_width, std::nullopt, "Image width in pixels (preset: 320)");
ABSL_FLAG(std::optional<int>, image_height, std::nullopt, "Image height in pixels (preset: 240)");
ABSL_FLAG(std::optional<int>, jpeg_quality, std::nullopt, "JPEG quality 1..100 (preset: 90)");
ABSL_FLAG(std::optional<double>, city_radius_km, std::nullopt,
          "Radius of a city's places around its centre, km (preset: 3)");
ABSL_FLAG(std::optional<int>, threads, std::nullopt,
          "Worker threads, 0 = all cores (never changes the output)");

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

std::string HumanBytes(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) return absl::StrFormat("%.2f GiB", bytes / double(1 << 30));
  if (bytes >= (uint64_t{1} << 20)) return absl::StrFormat("%.1f MiB", bytes / double(1 << 20));
  return absl::StrFormat("%.1f KiB", bytes / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> positional = geoloc::ParseCommandLineOrExit(
      argc, argv, "geoloc-synth",
      "writes a deterministic synthetic world of geotagged photos (docs/SYNTH.md).\n"
      "Usage: geoloc-synth --preset tiny|small|medium|large --out DIR [--seed N] [overrides]");
  if (positional.size() > 1) {
    return Fail(kUsageError, absl::StrCat("unexpected argument '", positional[1],
                                          "' (all options are --flags; see --help)"));
  }
  const absl::StatusOr<geoloc::LogLevel> level =
      geoloc::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail(kUsageError, level.status().message());
  geoloc::SetMinLogLevel(*level);

  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    return Fail(kUsageError, "--out is required: the directory to write the world into");
  }
  const std::string preset = absl::GetFlag(FLAGS_preset);
  absl::StatusOr<geoloc::synth::WorldOptions> options = geoloc::synth::WorldPreset(preset);
  if (!options.ok()) return Fail(kUsageError, options.status().message());
  Override(FLAGS_seed, &options->seed);
  Override(FLAGS_num_regions, &options->num_regions);
  Override(FLAGS_cities_per_region, &options->cities_per_region);
  Override(FLAGS_places_per_city, &options->places_per_city);
  Override(FLAGS_database_views_per_place, &options->database_views_per_place);
  Override(FLAGS_query_views_per_place, &options->query_views_per_place);
  Override(FLAGS_image_width, &options->image_width);
  Override(FLAGS_image_height, &options->image_height);
  Override(FLAGS_jpeg_quality, &options->jpeg_quality);
  Override(FLAGS_city_radius_km, &options->city_radius_km);
  Override(FLAGS_threads, &options->threads);
  if (absl::Status valid = geoloc::synth::ValidateWorldOptions(*options); !valid.ok()) {
    return Fail(kUsageError, absl::StrCat("invalid options: ", valid.message()));
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

  std::vector<std::string> regions;
  for (int r = 0; r < options->num_regions; ++r) {
    regions.emplace_back(geoloc::synth::RegionName(r));
  }
  const int64_t images = static_cast<int64_t>(world->images.size());
  const int views = options->database_views_per_place + options->query_views_per_place;
  const int threads = options->threads > 0
                          ? options->threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("geoloc-synth: wrote %s\n", (fs::path(out) / "world.csv").string().c_str());
  std::printf("  preset   %s, seed %llu\n", preset.c_str(),
              static_cast<unsigned long long>(options->seed));
  std::printf("  regions  %d (%s)\n", options->num_regions, absl::StrJoin(regions, ", ").c_str());
  std::printf("  cities   %zu (%d per region)\n", world->cities.size(), options->cities_per_region);
  std::printf("  places   %lld (%d per city, within %g km, >= %g m apart)\n",
              static_cast<long long>(images / views), options->places_per_city,
              options->city_radius_km, geoloc::synth::kMinPlaceSeparationKm * 1000);
  std::printf("  images   %lld: database %lld, query %lld (%dx%d JPEG, quality %d)\n",
              static_cast<long long>(images), static_cast<long long>(database),
              static_cast<long long>(images - database), options->image_width,
              options->image_height, options->jpeg_quality);
  std::printf("  bytes    %llu (%s)\n", static_cast<unsigned long long>(bytes),
              HumanBytes(bytes).c_str());
  std::printf("  time     %.2f s, %.1f images/s on %d threads\n", seconds,
              seconds > 0 ? images / seconds : 0.0, threads);
  return 0;
}
