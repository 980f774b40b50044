#include "tools/synth/synthetic_world.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/common/file_util.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "opencv2/imgcodecs.hpp"
#include "tools/synth/distractors.h"
#include "tools/synth/exif.h"
#include "tools/synth/fixed_world.h"
#include "tools/synth/geography.h"
#include "tools/synth/photo.h"
#include "tools/synth/planet.h"
#include "tools/synth/planet_scene.h"
#include "tools/synth/scene.h"
#include "tools/synth/validation.h"

namespace geoloc::synth {
namespace fs = std::filesystem;
namespace {

constexpr int kMinImageSide = 32;
constexpr int kMaxImageSide = 4096;

constexpr char kWorldCsv[] = "world.csv";
constexpr char kCitiesCsv[] = "cities.csv";
constexpr char kImagesDir[] = "images";
constexpr char kFixedCsvHeader[] = "path,lat,lon,place,split,city,region,view";
constexpr char kCitiesCsvHeader[] =
    "city,lat,lon,region,region_name,mp16_photos,places,images";
// Every CSV a world directory may hold; the split CSVs are written before world.csv, which marks a
// complete world.
constexpr const char* kOurCsvs[] = {"world.csv", "database.csv", "query.csv", "train.csv",
                                    "val.csv",   "calib.csv",    "test.csv",  "cities.csv"};
constexpr Split kFixedSplits[] = {Split::kDatabase, Split::kQuery};
constexpr Split kPlanetSplits[] = {Split::kTrain, Split::kDatabase, Split::kVal, Split::kCalib,
                                   Split::kTest};

struct Preset {
  const char* name;
  WorldKind kind;
  // planet
  int cities, places;
  // fixed
  int regions, cities_per_region, places_per_city, database_views, query_views;
  int width, height;
};
constexpr Preset kPresets[] = {
    {"tiny", WorldKind::kPlanet, 6, 100, 0, 0, 0, 0, 0, 160, 120},
    {"small", WorldKind::kPlanet, 24, 500, 0, 0, 0, 0, 0, 320, 240},
    {"medium", WorldKind::kPlanet, 150, 4500, 0, 0, 0, 0, 0, 320, 240},
    {"large", WorldKind::kPlanet, 600, 45000, 0, 0, 0, 0, 0, 320, 240},
    {"fixed-tiny", WorldKind::kFixed, 0, 0, 4, 2, 4, 2, 1, 320, 240},
    {"fixed-small", WorldKind::kFixed, 0, 0, 6, 3, 14, 3, 1, 320, 240},
};

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

bool IsOurCsv(const fs::path& path) {
  std::ifstream in(path);
  std::string first_line;
  return in && std::getline(in, first_line) &&
         (first_line == kFixedCsvHeader || first_line == kPlanetCsvHeader ||
          first_line == kCitiesCsvHeader);
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
      const bool ours = std::any_of(std::begin(kOurCsvs), std::end(kOurCsvs),
                                    [&](const char* csv) { return name == csv; });
      if (ours) {
        previous_world = previous_world && IsOurCsv(it->path());
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
          dir, " is not empty and does not look like a synthetic world (only our CSVs and ",
          "images/); choose an empty or new directory, or pass --force to write into it anyway"));
    }
    // world.csv goes first: until the new one is written, the directory is an incomplete world.
    std::stable_partition(csv_files.begin(), csv_files.end(),
                          [](const fs::path& p) { return p.filename() == kWorldCsv; });
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

absl::Status WriteFile(const std::string& path, absl::string_view bytes) {
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

std::string FixedCsv(const World& world, std::optional<Split> split) {
  std::string csv = absl::StrCat(kFixedCsvHeader, "\n");
  csv.reserve(world.images.size() * 96);
  for (const ImageRecord& r : world.images) {
    if (split && r.split != *split) continue;
    absl::StrAppendFormat(&csv, "%s,%.8f,%.8f,%d,%s,%s,%d,%d\n", r.path, r.lat, r.lon, r.place,
                          SplitName(r.split), world.cities[r.city].name, r.region, r.view);
  }
  return csv;
}

std::string PlanetCsv(const World& world, std::optional<Split> split) {
  std::string csv = absl::StrCat(kPlanetCsvHeader, "\n");
  csv.reserve(world.images.size() * 200);
  for (const ImageRecord& r : world.images) {
    if (split && r.split != *split) continue;
    const Capture& c = r.capture;
    const double tag_error_m =
        HaversineKm({r.lat, r.lon}, {r.true_lat, r.true_lon}) * 1000.0;
    absl::StrAppendFormat(
        &csv, "%s,%.8f,%.8f,%.8f,%.8f,%s,%.2f,%d,%s,%s,%d,%d,%d,%s,%d,%.1f,%.1f,%s,%s,%s,%d,%d,%d,%d,%d\n",
        r.path, r.lat, r.lon, r.true_lat, r.true_lon, TagKindName(r.tag), tag_error_m, r.place,
        SplitName(r.split), world.cities[r.city].name, r.region, r.neighbourhood,
        r.localizable() ? 1 : 0, SceneKindName(r.scene), r.view, c.heading_deg, c.fov_deg,
        TimeOfDayName(c.time), WeatherName(c.weather), SeasonName(c.season), c.occluders, c.width,
        c.height, c.orientation, c.jpeg_quality);
  }
  return csv;
}

std::string CitiesCsv(const World& world) {
  std::vector<int64_t> places(world.cities.size()), images(world.cities.size());
  for (const Place& p : world.places) ++places[p.city];
  for (const ImageRecord& r : world.images) ++images[r.city];
  std::string csv = absl::StrCat(kCitiesCsvHeader, "\n");
  for (size_t c = 0; c < world.cities.size(); ++c) {
    const City& city = world.cities[c];
    absl::StrAppendFormat(&csv, "%s,%.6f,%.6f,%d,%s,%d,%d,%d\n", city.name, city.lat, city.lon,
                          city.region, RegionName(city.region), city.photos, places[c], images[c]);
  }
  return csv;
}

bool BelongsTo(const World& world, const ImageRecord& record) {
  if (record.city < 0 || record.city >= static_cast<int>(world.cities.size()) ||
      world.cities[record.city].region != record.region || record.place < 0 || record.view < 0) {
    return false;
  }
  if (world.options.kind == WorldKind::kPlanet) {
    if (record.place >= static_cast<int64_t>(world.places.size())) return false;
    const Place& p = world.places[static_cast<size_t>(record.place)];
    if (p.city != record.city || record.capture.width < 1 || record.capture.height < 1) {
      return false;
    }
  }
  return true;
}

// The file's bytes for an upright picture: rotated and tagged as the capture says, JPEG-encoded.
absl::StatusOr<std::string> Encode(const cv::Mat& upright, const ImageRecord& record,
                                   const WorldOptions& options) {
  const int quality =
      options.kind == WorldKind::kFixed ? options.jpeg_quality : record.capture.jpeg_quality;
  const int orientation = options.kind == WorldKind::kFixed ? 1 : record.capture.orientation;
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", StoredForOrientation(upright, orientation), jpeg,
                    {cv::IMWRITE_JPEG_QUALITY, quality})) {
    return absl::InternalError(absl::StrCat("cannot encode ", record.path));
  }
  std::string bytes(jpeg.begin(), jpeg.end());
  if (orientation == 1) return bytes;
  return WithOrientationTag(bytes, orientation);
}

// The first error of many workers.
class FirstError {
 public:
  void Set(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (first_.ok()) first_ = std::move(status);
    failed_.store(true);
  }
  bool failed() const { return failed_.load(); }
  absl::Status Get() const {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status first_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> failed_{false};
};

}  // namespace

CaptureProfile DefaultCollectionCapture() {
  CaptureProfile p;
  p.night_share = 0.05;
  p.dusk_share = 0.1;
  p.overcast_share = 0.2;
  p.fog_share = 0.02;
  p.rain_share = 0.03;
  p.landmark_share = 0.5;
  p.fov_lo_deg = 50;
  p.fov_hi_deg = 75;
  p.portrait_share = 0.1;
  p.exif_rotated_share = 0.05;
  p.size_lo = 1;
  p.size_hi = 1;
  p.jpeg_quality_lo = 75;
  p.jpeg_quality_hi = 95;
  p.blur_hi = 0.8;
  p.occluders_mean = 0.5;
  return p;
}

CaptureProfile DefaultQueryCapture() {
  CaptureProfile p;
  p.night_share = 0.2;
  p.dusk_share = 0.15;
  p.overcast_share = 0.25;
  p.fog_share = 0.08;
  p.rain_share = 0.1;
  p.landmark_share = 0.5;
  p.fov_lo_deg = 40;
  p.fov_hi_deg = 85;
  p.portrait_share = 0.35;
  p.exif_rotated_share = 0.25;
  p.size_lo = 0.8;
  p.size_hi = 1.5;
  p.jpeg_quality_lo = 60;
  p.jpeg_quality_hi = 92;
  p.blur_hi = 1.6;
  p.occluders_mean = 1.5;
  return p;
}

absl::StatusOr<WorldOptions> WorldPreset(absl::string_view name) {
  for (const Preset& p : kPresets) {
    if (name != p.name) continue;
    WorldOptions options;
    options.kind = p.kind;
    options.image_width = p.width;
    options.image_height = p.height;
    if (p.kind == WorldKind::kPlanet) {
      options.planet.cities = p.cities;
      options.planet.places = p.places;
    } else {
      options.fixed.num_regions = p.regions;
      options.fixed.cities_per_region = p.cities_per_region;
      options.fixed.places_per_city = p.places_per_city;
      options.fixed.database_views_per_place = p.database_views;
      options.fixed.query_views_per_place = p.query_views;
    }
    return options;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown preset '", name, "' (valid: ", PresetNames(), ")"));
}

std::string PresetNames() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return absl::StrJoin(names, ", ");
}

absl::Status ValidateWorldOptions(const WorldOptions& o) {
  GEOLOC_RETURN_IF_ERROR(CheckRange("image_width", o.image_width, kMinImageSide, kMaxImageSide));
  GEOLOC_RETURN_IF_ERROR(CheckRange("image_height", o.image_height, kMinImageSide, kMaxImageSide));
  GEOLOC_RETURN_IF_ERROR(CheckRange("jpeg_quality", o.jpeg_quality, 1, 100));
  GEOLOC_RETURN_IF_ERROR(CheckRange("threads", o.threads, 0, 1024));
  switch (o.kind) {
    case WorldKind::kFixed:
      return ValidateFixedLayout(o);
    case WorldKind::kPlanet:
      return ValidatePlanetLayout(o);
  }
  return absl::InvalidArgumentError("unknown world kind");
}

absl::string_view RegionName(int region) {
  const auto& regions = AnchorRegions();
  if (region < 0 || region >= static_cast<int>(regions.size())) return "";
  return regions[region].name;
}

absl::string_view SplitName(Split split) {
  switch (split) {
    case Split::kDatabase:
      return "database";
    case Split::kQuery:
      return "query";
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kCalib:
      return "calib";
    case Split::kTest:
      return "test";
  }
  return "";
}

bool IsQuerySplit(Split split) {
  return split == Split::kQuery || split == Split::kVal || split == Split::kCalib ||
         split == Split::kTest;
}

absl::string_view SceneKindName(SceneKind kind) {
  switch (kind) {
    case SceneKind::kPlace:
      return "place";
    case SceneKind::kIndoor:
      return "indoor";
    case SceneKind::kSky:
      return "sky";
    case SceneKind::kCloseUp:
      return "closeup";
    case SceneKind::kTexture:
      return "texture";
  }
  return "";
}

absl::string_view TimeOfDayName(TimeOfDay t) {
  switch (t) {
    case TimeOfDay::kDay:
      return "day";
    case TimeOfDay::kDusk:
      return "dusk";
    case TimeOfDay::kNight:
      return "night";
  }
  return "";
}

absl::string_view WeatherName(Weather w) {
  switch (w) {
    case Weather::kClear:
      return "clear";
    case Weather::kOvercast:
      return "overcast";
    case Weather::kFog:
      return "fog";
    case Weather::kRain:
      return "rain";
  }
  return "";
}

absl::string_view SeasonName(Season s) {
  switch (s) {
    case Season::kNone:
      return "none";
    case Season::kSpring:
      return "spring";
    case Season::kSummer:
      return "summer";
    case Season::kAutumn:
      return "autumn";
    case Season::kWinter:
      return "winter";
  }
  return "";
}

absl::string_view TagKindName(TagKind k) {
  switch (k) {
    case TagKind::kExact:
      return "exact";
    case TagKind::kGps:
      return "gps";
    case TagKind::kManual:
      return "manual";
    case TagKind::kCitySnap:
      return "city_snap";
    case TagKind::kGross:
      return "gross";
  }
  return "";
}

World PlanWorld(const WorldOptions& options) {
  if (!ValidateWorldOptions(options).ok()) {
    World world;
    world.options = options;
    return world;
  }
  return options.kind == WorldKind::kFixed ? PlanFixedWorld(options) : PlanPlanet(options);
}

cv::Mat RenderView(const WorldOptions& options, const World& world, const ImageRecord& record) {
  if (!ValidateWorldOptions(options).ok() || !BelongsTo(world, record)) return cv::Mat();
  try {
    if (options.kind == WorldKind::kFixed) {
      const cv::Mat scene = RenderScene(options, record.region, record.place);
      return RenderViewOfScene(scene, options, record.place, record.view);
    }
    if (!record.localizable()) return RenderDistractor(options, record);
    const Panorama pano = RenderPanorama(options, world, record.place);
    return TakePhoto(options, world, pano, record);
  } catch (const cv::Exception&) {
    return cv::Mat();
  }
}

absl::StatusOr<std::string> EncodeView(const WorldOptions& options, const World& world,
                                       const ImageRecord& record) {
  const cv::Mat upright = RenderView(options, world, record);
  if (upright.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(record.path, " does not belong to this world (or the options are invalid)"));
  }
  return Encode(upright, record, options);
}

absl::StatusOr<World> GenerateWorld(const WorldOptions& options, const std::string& out_dir,
                                    const GenerateOptions& generate) {
  GEOLOC_RETURN_IF_ERROR(ValidateWorldOptions(options));
  if (out_dir.empty()) return absl::InvalidArgumentError("no output directory given");
  GEOLOC_RETURN_IF_ERROR(PrepareOutputDirectory(out_dir, generate.force));
  World world = PlanWorld(options);
  const fs::path root(out_dir);
  std::vector<fs::path> dirs;
  if (options.kind == WorldKind::kFixed) {
    for (const City& city : world.cities) dirs.push_back(root / kImagesDir / city.name);
  } else {
    for (Split split : kPlanetSplits) dirs.push_back(root / kImagesDir / std::string(SplitName(split)));
  }
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return FsError("cannot create", dir.string(), ec);
  }

  // One task per place: its scene is rendered once and photographed for every view.
  std::vector<size_t> task_begin;
  for (size_t i = 0; i < world.images.size(); ++i) {
    if (i == 0 || world.images[i].place != world.images[i - 1].place) task_begin.push_back(i);
  }
  task_begin.push_back(world.images.size());
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
  FirstError error;
  ParallelFor(pool.get(), static_cast<int64_t>(task_begin.size()) - 1, [&](int64_t t) {
    if (error.failed()) return;
    const size_t begin = task_begin[t], end = task_begin[t + 1];
    const ImageRecord& first = world.images[begin];
    try {
      cv::Mat fixed_scene;
      std::optional<Panorama> pano;
      if (options.kind == WorldKind::kFixed) {
        fixed_scene = RenderScene(options, first.region, first.place);
      } else if (std::any_of(world.images.begin() + begin, world.images.begin() + end,
                             [](const ImageRecord& r) { return r.localizable(); })) {
        pano = RenderPanorama(options, world, first.place);
      }
      for (size_t i = begin; i < end; ++i) {
        const ImageRecord& r = world.images[i];
        cv::Mat upright;
        if (options.kind == WorldKind::kFixed) {
          upright = RenderViewOfScene(fixed_scene, options, r.place, r.view);
        } else if (r.localizable()) {
          upright = TakePhoto(options, world, *pano, r);
        } else {
          upright = RenderDistractor(options, r);
        }
        absl::StatusOr<std::string> bytes = Encode(upright, r, options);
        if (!bytes.ok()) {
          error.Set(bytes.status());
          return;
        }
        absl::Status written = WriteFile((root / r.path).string(), *bytes);
        if (!written.ok()) {
          error.Set(std::move(written));
          return;
        }
        if (progress) progress->Add(1);
      }
    } catch (const cv::Exception& e) {
      error.Set(absl::InternalError(absl::StrCat("rendering place ", first.place, ": ", e.what())));
    }
  });
  if (error.failed()) return error.Get();

  GEOLOC_RETURN_IF_ERROR(SyncFileSystem(out_dir));
  if (options.kind == WorldKind::kFixed) {
    for (Split split : kFixedSplits) {
      GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(
          (root / absl::StrCat(SplitName(split), ".csv")).string(), FixedCsv(world, split)));
    }
    GEOLOC_RETURN_IF_ERROR(
        WriteFileAtomically((root / kWorldCsv).string(), FixedCsv(world, std::nullopt)));
  } else {
    for (Split split : kPlanetSplits) {
      GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(
          (root / absl::StrCat(SplitName(split), ".csv")).string(), PlanetCsv(world, split)));
    }
    GEOLOC_RETURN_IF_ERROR(WriteFileAtomically((root / kCitiesCsv).string(), CitiesCsv(world)));
    GEOLOC_RETURN_IF_ERROR(
        WriteFileAtomically((root / kWorldCsv).string(), PlanetCsv(world, std::nullopt)));
  }
  if (progress) progress->Finish();
  return world;
}

}  // namespace geoloc::synth
