#include "tools/synth/synthetic_world.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/common/file_util.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "opencv2/imgcodecs.hpp"
#include "tools/synth/geography.h"
#include "tools/synth/random.h"
#include "tools/synth/scene.h"

namespace geoloc::synth {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxCitiesPerRegion = 64;
constexpr int kMaxViewsPerPlace = 100;
constexpr int kMinImageSide = 32;
constexpr int kMaxImageSide = 4096;
constexpr double kMinCityRadiusKm = 0.2;
constexpr double kMaxCityRadiusKm = 20.0;
// Keeps the plan (about 100 bytes per image) and the run within reason.
constexpr int64_t kMaxImages = 10'000'000;
// Cities are at least this much farther apart than two radii, so no two cities' places mix.
constexpr double kCityGapKm = 20.0;

constexpr char kCsvName[] = "world.csv";
// The same rows split in two, for building a bundle from the database split and evaluating on the
// queries. Written before world.csv, which marks a complete world.
constexpr const char* kSplitCsvNames[] = {"database.csv", "query.csv"};
constexpr char kImagesDir[] = "images";
constexpr char kCsvHeader[] = "path,lat,lon,place,split,city,region,view";

absl::Status CheckRange(absl::string_view field, double value, double lo, double hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " = ", value, " is out of range [", lo, ", ", hi, "]"));
}

struct PlannedCity {
  City city;
  bool straddles_antimeridian = false;
};

// Real anchors first (region by region), then any further cities near a random anchor of their
// region, each at least two radii plus a gap from every other city.
std::vector<PlannedCity> PlanCities(const WorldOptions& options) {
  const auto& regions = AnchorRegions();
  const double min_gap_km = 2 * options.city_radius_km + kCityGapKm;
  std::vector<PlannedCity> cities(static_cast<size_t>(options.num_regions) *
                                  options.cities_per_region);
  std::vector<LatLon> taken;
  std::map<std::string, int> uses;  // anchor name -> cities named after it so far
  auto slot = [&](int region, int k) -> PlannedCity& {
    return cities[static_cast<size_t>(region) * options.cities_per_region + k];
  };
  for (int r = 0; r < options.num_regions; ++r) {
    const auto& anchors = regions[r].anchors;
    for (int k = 0; k < options.cities_per_region && k < static_cast<int>(anchors.size()); ++k) {
      const Anchor& a = anchors[k];
      slot(r, k) = {City{a.name, a.lat, WrapLongitude(a.lon), r}, a.straddles_antimeridian};
      taken.push_back({a.lat, a.lon});
      uses[a.name] = 1;
    }
  }
  for (int r = 0; r < options.num_regions; ++r) {
    const auto& anchors = regions[r].anchors;
    for (int k = static_cast<int>(anchors.size()); k < options.cities_per_region; ++k) {
      Rng rng(StreamSeed(options.seed, Stream::kExtraCity, static_cast<uint64_t>(r),
                         static_cast<uint64_t>(k)));
      const Anchor* anchor = nullptr;
      LatLon where;
      // Candidates spread further out as attempts accumulate, so a free spot is always found.
      for (int attempt = 0; attempt < 100000; ++attempt) {
        anchor = &anchors[rng.UniformInt(0, static_cast<int>(anchors.size()) - 1)];
        const double bearing = rng.Uniform(0, 2 * 3.14159265358979323846);
        const double reach = std::max(2 * min_gap_km, 400.0) * (1.0 + attempt / 200.0);
        const double distance = rng.Uniform(min_gap_km, reach);
        where = Destination({anchor->lat, anchor->lon}, distance * std::sin(bearing),
                            distance * std::cos(bearing));
        if (std::fabs(where.lat) > 85.0) continue;
        const bool clear = std::all_of(taken.begin(), taken.end(), [&](const LatLon& other) {
          return HaversineKm(other, where) >= min_gap_km;
        });
        if (clear) break;
      }
      taken.push_back(where);
      const int n = ++uses[anchor->name];
      slot(r, k) = {City{absl::StrCat(anchor->name, "-", n), where.lat, where.lon, r}, false};
    }
  }
  return cities;
}

absl::Status FsError(absl::string_view what, const std::string& path, const std::error_code& ec) {
  const std::string message = absl::StrCat(what, " ", path, ": ", ec.message());
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted ||
      ec == std::errc::read_only_file_system) {
    return absl::PermissionDeniedError(message);
  }
  if (ec == std::errc::not_a_directory || ec == std::errc::file_exists) {
    return absl::FailedPreconditionError(message);
  }
  if (ec == std::errc::no_space_on_device) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return FsError(what, path, std::error_code(errno, std::generic_category()));
}

bool IsWorldCsv(const fs::path& path) {
  std::ifstream in(path);
  std::string first_line;
  return in && std::getline(in, first_line) && first_line == kCsvHeader;
}

// Makes `dir` ready for a new world (see the table in the header).
absl::Status PrepareOutputDirectory(const std::string& dir, bool force) {
  const fs::path root(dir);
  std::error_code ec;
  const fs::file_status status = fs::status(root, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return FsError("cannot access", dir, ec);
  }
  if (!fs::exists(status)) {
    fs::create_directories(root, ec);
    if (ec) return FsError("cannot create output directory", dir, ec);
  } else {
    if (!fs::is_directory(status)) {
      return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
    }
    bool empty = true, previous_world = true;
    std::vector<fs::path> csv_files;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      empty = false;
      const std::string name = it->path().filename().string();
      const bool split_csv = name == kSplitCsvNames[0] || name == kSplitCsvNames[1];
      if (name == kCsvName || split_csv) {
        previous_world = previous_world && IsWorldCsv(it->path());
        csv_files.push_back(it->path());
      } else if (absl::StrContains(name, ".csv.tmp-")) {
        csv_files.push_back(it->path());  // left by an interrupted WriteFileAtomically
      } else if (name != kImagesDir || !it->is_directory()) {
        previous_world = false;
      }
    }
    if (ec) return FsError("cannot list", dir, ec);
    if (!empty && !previous_world && !force) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, " is not empty and does not look like a synthetic world (only world.csv and ",
          "images/); choose an empty or new directory, or pass --force to write into it anyway"));
    }
    // The old CSV goes first: until the new one is written, the directory is an incomplete world.
    for (const fs::path& csv : csv_files) {
      fs::remove(csv, ec);
      if (ec) return FsError("cannot remove", csv.string(), ec);
    }
    if (!empty && previous_world) {
      fs::remove_all(root / kImagesDir, ec);
      if (ec) return FsError("cannot remove", (root / kImagesDir).string(), ec);
    }
  }
  fs::create_directories(root / kImagesDir, ec);
  if (ec) return FsError("cannot create", (root / kImagesDir).string(), ec);
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::vector<uchar>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = ErrnoError("cannot write", path);
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return ErrnoError("cannot write", path);
  return absl::OkStatus();
}

// Flushes the file system holding `dir`, so the images are durable before the CSV says so.
absl::Status SyncFileSystem(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", dir);
  const int rc = ::syncfs(fd);
  absl::Status status = rc == 0 ? absl::OkStatus() : ErrnoError("cannot sync", dir);
  ::close(fd);
  return status;
}

// All rows, or only those of `split` when given.
std::string WorldCsv(const World& world, std::optional<Split> split = std::nullopt) {
  std::string csv = absl::StrCat(kCsvHeader, "\n");
  csv.reserve(world.images.size() * 96);
  for (const ImageRecord& r : world.images) {
    if (split && r.split != *split) continue;
    absl::StrAppendFormat(&csv, "%s,%.8f,%.8f,%d,%s,%s,%d,%d\n", r.path, r.lat, r.lon, r.place,
                          SplitName(r.split), world.cities[r.city].name, r.region, r.view);
  }
  return csv;
}

}  // namespace

absl::StatusOr<WorldOptions> WorldPreset(absl::string_view name) {
  struct Preset {
    const char* name;
    int regions, cities, places, database_views, query_views;
  };
  static constexpr Preset kPresets[] = {{"tiny", 4, 2, 4, 2, 1},
                                        {"small", 6, 3, 14, 3, 1},
                                        {"medium", 10, 5, 50, 3, 1},
                                        {"large", 16, 8, 200, 3, 1}};
  for (const Preset& p : kPresets) {
    if (name != p.name) continue;
    WorldOptions options;
    options.num_regions = p.regions;
    options.cities_per_region = p.cities;
    options.places_per_city = p.places;
    options.database_views_per_place = p.database_views;
    options.query_views_per_place = p.query_views;
    return options;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown preset '", name, "' (valid: tiny, small, medium, large)"));
}

absl::Status ValidateWorldOptions(const WorldOptions& o) {
  GEOLOC_RETURN_IF_ERROR(CheckRange("num_regions", o.num_regions, 1, kMaxRegions));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("cities_per_region", o.cities_per_region, 1, kMaxCitiesPerRegion));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("city_radius_km", o.city_radius_km, kMinCityRadiusKm, kMaxCityRadiusKm));
  if (o.places_per_city < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("places_per_city = ", o.places_per_city, " must be at least 1"));
  }
  const int capacity = PlaceCapacity(o.city_radius_km);
  if (o.places_per_city > capacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "places_per_city = ", o.places_per_city, " does not fit in city_radius_km = ",
        o.city_radius_km, ": at most ", capacity, " places fit ", kMinPlaceSeparationKm * 1000,
        " m apart; raise city_radius_km or lower places_per_city"));
  }
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("database_views_per_place", o.database_views_per_place, 1, kMaxViewsPerPlace));
  GEOLOC_RETURN_IF_ERROR(
      CheckRange("query_views_per_place", o.query_views_per_place, 0, kMaxViewsPerPlace));
  GEOLOC_RETURN_IF_ERROR(CheckRange("image_width", o.image_width, kMinImageSide, kMaxImageSide));
  GEOLOC_RETURN_IF_ERROR(CheckRange("image_height", o.image_height, kMinImageSide, kMaxImageSide));
  GEOLOC_RETURN_IF_ERROR(CheckRange("jpeg_quality", o.jpeg_quality, 1, 100));
  GEOLOC_RETURN_IF_ERROR(CheckRange("threads", o.threads, 0, 1024));
  const int64_t images = int64_t{o.num_regions} * o.cities_per_region * o.places_per_city *
                         (o.database_views_per_place + o.query_views_per_place);
  if (images > kMaxImages) {
    return absl::InvalidArgumentError(
        absl::StrCat("the world would have ", images, " images; at most ", kMaxImages));
  }
  return absl::OkStatus();
}

absl::string_view RegionName(int region) {
  const auto& regions = AnchorRegions();
  if (region < 0 || region >= static_cast<int>(regions.size())) return "";
  return regions[region].name;
}

absl::string_view SplitName(Split split) {
  return split == Split::kDatabase ? "database" : "query";
}

World PlanWorld(const WorldOptions& options) {
  World world;
  world.options = options;
  if (!ValidateWorldOptions(options).ok()) return world;
  const std::vector<PlannedCity> cities = PlanCities(options);
  const int views = options.database_views_per_place + options.query_views_per_place;
  world.cities.reserve(cities.size());
  world.images.reserve(cities.size() * options.places_per_city * views);
  int64_t place = 0;
  for (size_t c = 0; c < cities.size(); ++c) {
    const City& city = cities[c].city;
    world.cities.push_back(city);
    Rng rng(StreamSeed(options.seed, Stream::kPlaceLayout, c));
    const std::vector<Offset> offsets = LayoutPlaces(
        rng, options.city_radius_km, options.places_per_city, cities[c].straddles_antimeridian);
    for (const Offset& offset : offsets) {
      const LatLon where = Destination({city.lat, city.lon}, offset.east_km, offset.north_km);
      for (int v = 0; v < views; ++v) {
        ImageRecord r;
        r.path = absl::StrFormat("%s/%s/p%06d_v%d.jpg", kImagesDir, city.name, place, v);
        r.lat = where.lat;
        r.lon = where.lon;
        r.place = place;
        r.city = static_cast<int>(c);
        r.region = city.region;
        r.view = v;
        r.split = v < options.database_views_per_place ? Split::kDatabase : Split::kQuery;
        world.images.push_back(std::move(r));
      }
      ++place;
    }
  }
  return world;
}

cv::Mat RenderView(const WorldOptions& options, const World& world, const ImageRecord& record) {
  if (!ValidateWorldOptions(options).ok()) return cv::Mat();
  if (record.city < 0 || record.city >= static_cast<int>(world.cities.size()) ||
      world.cities[record.city].region != record.region || record.place < 0 || record.view < 0) {
    return cv::Mat();
  }
  try {
    const cv::Mat scene = RenderScene(options, record.region, record.place);
    return RenderViewOfScene(scene, options, record.place, record.view);
  } catch (const cv::Exception&) {
    return cv::Mat();
  }
}

absl::StatusOr<World> GenerateWorld(const WorldOptions& options, const std::string& out_dir,
                                    const GenerateOptions& generate) {
  GEOLOC_RETURN_IF_ERROR(ValidateWorldOptions(options));
  if (out_dir.empty()) return absl::InvalidArgumentError("no output directory given");
  GEOLOC_RETURN_IF_ERROR(PrepareOutputDirectory(out_dir, generate.force));
  World world = PlanWorld(options);
  const fs::path root(out_dir);
  for (const City& city : world.cities) {
    std::error_code ec;
    const fs::path dir = root / kImagesDir / city.name;
    fs::create_directories(dir, ec);
    if (ec) return FsError("cannot create", dir.string(), ec);
  }

  const int views = options.database_views_per_place + options.query_views_per_place;
  const int64_t places = static_cast<int64_t>(world.images.size()) / views;
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // ParallelFor's calling thread works too, so the pool has one thread fewer.
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads - 1);
  std::unique_ptr<ProgressReporter> progress;
  if (generate.show_progress) {
    progress = std::make_unique<ProgressReporter>("synth", world.images.size(), "img");
  }
  const std::vector<int> jpeg_params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  absl::Status first_error;
  auto fail = [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.ok()) first_error = std::move(status);
    failed = true;
  };

  // One task per place: its scene is rendered once and photographed for every view.
  ParallelFor(pool.get(), places, [&](int64_t p) {
    if (failed) return;
    const ImageRecord* records = &world.images[static_cast<size_t>(p * views)];
    try {
      const cv::Mat scene = RenderScene(options, records[0].region, records[0].place);
      std::vector<uchar> jpeg;
      for (int v = 0; v < views; ++v) {
        const cv::Mat image = RenderViewOfScene(scene, options, records[v].place, records[v].view);
        if (!cv::imencode(".jpg", image, jpeg, jpeg_params)) {
          fail(absl::InternalError(absl::StrCat("cannot encode ", records[v].path)));
          return;
        }
        absl::Status written = WriteFile((root / records[v].path).string(), jpeg);
        if (!written.ok()) {
          fail(std::move(written));
          return;
        }
        if (progress) progress->Add(1);
      }
    } catch (const cv::Exception& e) {
      fail(absl::InternalError(absl::StrCat("rendering place ", p, ": ", e.what())));
    }
  });
  if (failed) return first_error;

  GEOLOC_RETURN_IF_ERROR(SyncFileSystem(out_dir));
  GEOLOC_RETURN_IF_ERROR(WriteFileAtomically((root / kSplitCsvNames[0]).string(),
                                             WorldCsv(world, Split::kDatabase)));
  GEOLOC_RETURN_IF_ERROR(
      WriteFileAtomically((root / kSplitCsvNames[1]).string(), WorldCsv(world, Split::kQuery)));
  GEOLOC_RETURN_IF_ERROR(WriteFileAtomically((root / kCsvName).string(), WorldCsv(world)));
  if (progress) progress->Finish();
  return world;
}

}  // namespace geoloc::synth
