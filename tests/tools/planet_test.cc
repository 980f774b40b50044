// Tests of the planet world (the proving ground, docs/SYNTH.md): presets, options, splits,
// geography drawn from MP-16, geotag noise, coverage, distractors, capture conditions,
// determinism, the files written (CSV columns, EXIF orientation) and the command line.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tools/synth/mp16_points.h"
#include "tools/synth/planet.h"
#include "tools/synth/synthetic_world.h"
#include "tests/tools/world_test_util.h"

namespace geoloc::synth {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using test_util::Digests;
using test_util::RunResult;
using test_util::RunSynth;
using test_util::TestHaversineKm;

const World& SmallWorld() {
  static const World* const kWorld = new World(PlanWorld(*WorldPreset("small")));
  return *kWorld;
}

// A quick world for files: tiny at a small image size.
WorldOptions QuickOptions(uint64_t seed = 1) {
  WorldOptions o = *WorldPreset("tiny");
  o.seed = seed;
  o.planet.places = 24;
  o.planet.cities = 4;
  o.image_width = 64;
  o.image_height = 48;
  o.threads = 2;
  return o;
}

using PlanetDirTest = test_util::WorldDirTest;

// ---------------------------------------------------------------------------------------------
// Presets and options

TEST(PlanetPresetTest, PresetsAreValidAndHaveTheDocumentedScale) {
  struct Expected {
    const char* name;
    size_t min_images, max_images;
  };
  // The counts are drawn (coverage is heavy-tailed), so the header documents them roughly.
  const Expected expected[] = {{"tiny", 400, 800},
                               {"small", 2000, 3000},
                               {"medium", 18000, 26000},
                               {"large", 200000, 260000}};
  for (const Expected& e : expected) {
    auto options = WorldPreset(e.name);
    ASSERT_TRUE(options.ok()) << e.name << ": " << options.status();
    EXPECT_EQ(options->kind, WorldKind::kPlanet);
    EXPECT_TRUE(ValidateWorldOptions(*options).ok()) << e.name;
    const World world = PlanWorld(*options);
    EXPECT_GE(world.images.size(), e.min_images) << e.name;
    EXPECT_LE(world.images.size(), e.max_images) << e.name;
    EXPECT_EQ(world.cities.size(), static_cast<size_t>(options->planet.cities)) << e.name;
    EXPECT_EQ(world.places.size(), static_cast<size_t>(options->planet.places)) << e.name;
  }
}

TEST(PlanetValidateTest, RejectsEachOutOfRangeFieldByName) {
  struct Case {
    const char* field;
    void (*mutate)(WorldOptions&);
  };
  const Case cases[] = {
      {"cities", [](WorldOptions& o) { o.planet.cities = 0; }},
      {"places", [](WorldOptions& o) { o.planet.places = o.planet.cities - 1; }},
      {"train_place_share", [](WorldOptions& o) { o.planet.train_place_share = 1.5; }},
      {"unindexed_share", [](WorldOptions& o) { o.planet.unindexed_share = -0.1; }},
      {"views_alpha", [](WorldOptions& o) { o.planet.views_alpha = 0; }},
      {"max_views", [](WorldOptions& o) { o.planet.max_views = 0; }},
      {"distractor_share", [](WorldOptions& o) { o.planet.distractor_share = std::nan(""); }},
      {"min_place_separation_m", [](WorldOptions& o) { o.planet.min_place_separation_m = 0; }},
      {"manual_tag_share", [](WorldOptions& o) { o.planet.tags.manual_share = 0.99; }},
      {"gross_tag_max_km", [](WorldOptions& o) { o.planet.tags.gross_max_km = 0.5; }},
      {"query_rain_share", [](WorldOptions& o) { o.planet.queries.rain_share = 0.95; }},
      {"collection_fov_hi_deg", [](WorldOptions& o) { o.planet.collection.fov_hi_deg = 10; }},
      {"the world would have", [](WorldOptions& o) {
         o.planet.places = 1'000'000;
         o.planet.max_views = 1000;
         o.planet.views_alpha = 0.5;
       }},
  };
  for (const Case& c : cases) {
    WorldOptions o = *WorldPreset("tiny");
    c.mutate(o);
    const absl::Status status = ValidateWorldOptions(o);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field));
    EXPECT_TRUE(PlanWorld(o).images.empty()) << c.field;
  }
}

// ---------------------------------------------------------------------------------------------
// Splits

TEST(PlanetSplitTest, TrainingAndQueryPlacesAreDisjointAndEachQueryPlaceHasOneSplit) {
  const World& world = SmallWorld();
  std::map<int64_t, std::set<Split>> splits_of;
  std::map<Split, int> photos;
  for (const ImageRecord& r : world.images) {
    splits_of[r.place].insert(r.split);
    photos[r.split] += r.localizable();
  }
  int query_places = 0, indexed_query_places = 0;
  for (const auto& [place, splits] : splits_of) {
    if (splits.count(Split::kTrain)) {
      EXPECT_EQ(splits.size(), 1u) << "training place " << place << " appears in another split";
      continue;
    }
    int query_splits = 0;
    for (Split s : splits) query_splits += IsQuerySplit(s);
    EXPECT_LE(query_splits, 1) << "place " << place;
    query_places += query_splits;
    indexed_query_places += query_splits && splits.count(Split::kDatabase);
    for (Split s : splits) EXPECT_NE(s, Split::kQuery) << "planets have no plain query split";
  }
  for (Split s : {Split::kTrain, Split::kDatabase, Split::kVal, Split::kCalib, Split::kTest}) {
    EXPECT_GT(photos[s], 100) << SplitName(s);
  }
  // unindexed_share 0.2 of the query places have no database photo.
  ASSERT_GT(query_places, 100);
  EXPECT_NEAR(1.0 - static_cast<double>(indexed_query_places) / query_places, 0.2, 0.07);
}

TEST(PlanetSplitTest, QueriesCarryTheirExactPositionAndCamerasStandNearTheirPlace) {
  const World& world = SmallWorld();
  const double radius_km = world.options.planet.view_radius_m / 1000;
  for (const ImageRecord& r : world.images) {
    const Place& p = world.places[r.place];
    EXPECT_LE(TestHaversineKm(p.lat, p.lon, r.true_lat, r.true_lon), radius_km + 1e-9) << r.path;
    if (IsQuerySplit(r.split)) {
      EXPECT_EQ(r.lat, r.true_lat) << r.path;
      EXPECT_EQ(r.lon, r.true_lon) << r.path;
      EXPECT_EQ(r.tag, TagKind::kExact);
    } else {
      EXPECT_NE(r.tag, TagKind::kExact) << r.path;
    }
    EXPECT_EQ(r.city, p.city);
    EXPECT_EQ(r.region, world.cities[p.city].region);
    EXPECT_EQ(r.neighbourhood, p.neighbourhood);
  }
}

// ---------------------------------------------------------------------------------------------
// Geography

TEST(PlanetGeographyTest, PlacesLieAroundRealPhotoLocationsAndKeepTheirDistance) {
  const World& world = SmallWorld();
  const std::vector<LatLon>& mp16 = Mp16Points();
  ASSERT_EQ(mp16.size(), static_cast<size_t>(kMp16PointCount));
  double closest = 1e9;
  for (size_t i = 0; i < world.places.size(); ++i) {
    const Place& p = world.places[i];
    // Within 2 km of a real photo (jitter sigma 150 m, grown only where crowded).
    double nearest = 1e9;
    for (const LatLon& q : mp16) {
      if (std::fabs(q.lat - p.lat) > 0.1) continue;
      nearest = std::min(nearest, TestHaversineKm(p.lat, p.lon, q.lat, q.lon));
    }
    EXPECT_LT(nearest, 2.0) << "place " << i;
    for (size_t j = i + 1; j < world.places.size(); ++j) {
      closest = std::min(closest, TestHaversineKm(p.lat, p.lon, world.places[j].lat,
                                                  world.places[j].lon));
    }
  }
  EXPECT_GE(closest, world.options.planet.min_place_separation_m / 1000 - 1e-9);
}

TEST(PlanetGeographyTest, CitiesFollowPhotoDensity) {
  const World& world = SmallWorld();
  // Cities are listed largest first, and places follow their photo counts (at least one each).
  std::vector<int> places(world.cities.size());
  for (const Place& p : world.places) ++places[p.city];
  int64_t photos = 0;
  for (const City& c : world.cities) photos += c.photos;
  for (size_t c = 0; c < world.cities.size(); ++c) {
    if (c > 0) {
      EXPECT_GE(world.cities[c - 1].photos, world.cities[c].photos);
    }
    const double expected = 1 + (world.options.planet.places - static_cast<double>(world.cities.size())) *
                                    world.cities[c].photos / photos;
    EXPECT_NEAR(places[c], expected, 1.0) << world.cities[c].name;
    EXPECT_GE(places[c], 1);
    EXPECT_EQ(RegionName(world.cities[c].region).empty(), false);
  }
  // The clusters: every MP-16 photo in exactly one, each within 60 km of its centre.
  const std::vector<PhotoCluster>& clusters = Mp16Cities();
  size_t total = 0;
  for (const PhotoCluster& cluster : clusters) {
    total += cluster.photos.size();
    for (int i : {cluster.photos.front(), cluster.photos.back()}) {
      const LatLon& q = Mp16Points()[i];
      EXPECT_LT(TestHaversineKm(cluster.centre.lat, cluster.centre.lon, q.lat, q.lon), 60.0);
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kMp16PointCount));
  EXPECT_GT(clusters.front().photos.size(), 1000u);  // the densest city (London in MP-16)
}

TEST(PlanetGeographyTest, CoverageIsHeavyTailed) {
  const World& world = SmallWorld();
  std::map<int64_t, int> collection;  // place -> localizable train or database photos
  for (const ImageRecord& r : world.images) {
    if (!IsQuerySplit(r.split) && r.localizable()) ++collection[r.place];
  }
  int ones = 0, most = 0;
  for (const auto& [place, n] : collection) ones += n == 1, most = std::max(most, n);
  // P(n = 1) = 1 - 2^-1.2 = 0.565 under the Pareto law with alpha 1.2.
  EXPECT_NEAR(static_cast<double>(ones) / collection.size(), 0.565, 0.06);
  EXPECT_GE(most, 20) << "popular places have dozens of photos";
}

// ---------------------------------------------------------------------------------------------
// Geotags, distractors, conditions

TEST(PlanetGeotagTest, CollectionTagsHaveTheConfiguredErrors) {
  const World& world = SmallWorld();
  const GeotagNoise& noise = world.options.planet.tags;
  std::map<TagKind, int> kinds;
  std::vector<double> gps_errors_m;
  int total = 0;
  for (const ImageRecord& r : world.images) {
    if (IsQuerySplit(r.split)) continue;
    ++total;
    ++kinds[r.tag];
    const double error_km = TestHaversineKm(r.lat, r.lon, r.true_lat, r.true_lon);
    switch (r.tag) {
      case TagKind::kGps:
        gps_errors_m.push_back(error_km * 1000);
        break;
      case TagKind::kGross:
        EXPECT_GE(error_km, noise.gross_min_km * 0.999);
        EXPECT_LE(error_km, noise.gross_max_km * 1.001);
        break;
      case TagKind::kCitySnap:
        EXPECT_EQ(r.lat, world.cities[r.city].lat);
        EXPECT_EQ(r.lon, world.cities[r.city].lon);
        break;
      default:
        break;
    }
  }
  ASSERT_GT(total, 1500);
  EXPECT_NEAR(static_cast<double>(kinds[TagKind::kGross]) / total, noise.gross_share, 0.015);
  EXPECT_NEAR(static_cast<double>(kinds[TagKind::kCitySnap]) / total, noise.city_snap_share, 0.015);
  EXPECT_NEAR(static_cast<double>(kinds[TagKind::kManual]) / total, noise.manual_share, 0.03);
  // A 2-D Gaussian of sigma s per axis has a median radial error of s sqrt(2 ln 2) = 1.177 s.
  std::sort(gps_errors_m.begin(), gps_errors_m.end());
  EXPECT_NEAR(gps_errors_m[gps_errors_m.size() / 2], 1.1774 * noise.gps_sigma_m, 1.0);
}

TEST(PlanetDistractorTest, SharesAndPixelsThatSayNothingOfWhere) {
  const World& world = SmallWorld();
  int collection = 0, collection_distractors = 0, queries = 0, query_distractors = 0;
  std::set<SceneKind> kinds;
  for (const ImageRecord& r : world.images) {
    const bool query = IsQuerySplit(r.split);
    if (r.localizable()) {
      (query ? queries : collection)++;
    } else {
      (query ? query_distractors : collection_distractors)++;
      kinds.insert(r.scene);
    }
  }
  EXPECT_NEAR(static_cast<double>(collection_distractors) / collection, 0.1, 0.025);
  EXPECT_NEAR(static_cast<double>(query_distractors) / queries, 0.15, 0.05);
  EXPECT_EQ(kinds.size(), 4u);  // indoor, sky, close-up, texture
  // A distractor's pixels do not change when it was taken somewhere else.
  const WorldOptions& o = world.options;
  int checked = 0;
  for (const ImageRecord& r : world.images) {
    if (r.localizable() || checked == 4) continue;
    ++checked;
    const cv::Mat here = RenderView(o, world, r);
    ASSERT_FALSE(here.empty());
    ImageRecord elsewhere = r;
    const Place& other = world.places[(r.place + world.places.size() / 2) % world.places.size()];
    elsewhere.true_lat = elsewhere.lat = other.lat;
    elsewhere.true_lon = elsewhere.lon = other.lon;
    World moved = world;
    moved.places[r.place].city = other.city;
    moved.places[r.place].lat = other.lat;
    elsewhere.city = other.city;
    elsewhere.region = other.region;
    const cv::Mat there = RenderView(o, moved, elsewhere);
    ASSERT_EQ(here.size(), there.size());
    EXPECT_EQ(cv::norm(here, there, cv::NORM_INF), 0) << r.path;
  }
  EXPECT_EQ(checked, 4);
}

TEST(PlanetCaptureTest, QueriesAndCollectionFollowTheirProfiles) {
  const World& world = SmallWorld();
  struct Counts {
    int n = 0, night = 0, dusk = 0, fog = 0, rain = 0, portrait = 0, rotated = 0;
    double occluders = 0;
  };
  Counts c[2];  // collection, queries
  for (const ImageRecord& r : world.images) {
    if (!r.localizable()) continue;
    Counts& k = c[IsQuerySplit(r.split) ? 1 : 0];
    ++k.n;
    k.night += r.capture.time == TimeOfDay::kNight;
    k.dusk += r.capture.time == TimeOfDay::kDusk;
    k.fog += r.capture.weather == Weather::kFog;
    k.rain += r.capture.weather == Weather::kRain;
    k.portrait += r.capture.height > r.capture.width;
    k.rotated += r.capture.orientation != 1;
    k.occluders += r.capture.occluders;
    EXPECT_TRUE(r.capture.orientation == 1 || r.capture.orientation == 3 ||
                r.capture.orientation == 6 || r.capture.orientation == 8);
    EXPECT_GE(r.capture.heading_deg, 0);
    EXPECT_LT(r.capture.heading_deg, 360);
    if (std::fabs(world.places[r.place].lat) < 23.44) {
      EXPECT_EQ(r.capture.season, Season::kNone);
    }
  }
  const CaptureProfile* profiles[2] = {&world.options.planet.collection,
                                       &world.options.planet.queries};
  for (int i = 0; i < 2; ++i) {
    const double n = c[i].n;
    ASSERT_GT(n, 400) << i;
    const double tolerance = 3.5 * std::sqrt(0.25 / n);  // 3.5 standard errors at worst
    EXPECT_NEAR(c[i].night / n, profiles[i]->night_share, tolerance) << i;
    EXPECT_NEAR(c[i].dusk / n, profiles[i]->dusk_share, tolerance) << i;
    EXPECT_NEAR(c[i].fog / n, profiles[i]->fog_share, tolerance) << i;
    EXPECT_NEAR(c[i].rain / n, profiles[i]->rain_share, tolerance) << i;
    EXPECT_NEAR(c[i].rotated / n, profiles[i]->exif_rotated_share, tolerance) << i;
    EXPECT_NEAR(c[i].occluders / n, profiles[i]->occluders_mean, 0.25) << i;
  }
  // Queries are taken in harder conditions than the collection.
  EXPECT_GT(c[1].night / static_cast<double>(c[1].n), 2 * c[0].night / static_cast<double>(c[0].n));
}

TEST(PlanetCaptureTest, WithoutAppearanceChangeEveryPhotoIsABaseDaylightPhoto) {
  WorldOptions o = *WorldPreset("tiny");
  o.planet.appearance_change = false;
  const World world = PlanWorld(o);
  ASSERT_FALSE(world.images.empty());
  for (const ImageRecord& r : world.images) {
    EXPECT_EQ(r.capture.time, TimeOfDay::kDay);
    EXPECT_EQ(r.capture.weather, Weather::kClear);
    EXPECT_EQ(r.capture.season, Season::kNone);
    EXPECT_EQ(r.capture.occluders, 0);
    EXPECT_EQ(r.capture.orientation, 1);
    EXPECT_EQ(r.capture.width, o.image_width);
    EXPECT_EQ(r.capture.height, o.image_height);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

TEST_F(PlanetDirTest, SameOptionsGiveIdenticalFilesWhateverTheThreadCount) {
  WorldOptions o = QuickOptions();
  o.threads = 1;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "a").string()).ok());
  o.threads = 3;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "b").string()).ok());
  const auto a = Digests(dir_ / "a");
  EXPECT_EQ(a, Digests(dir_ / "b"));
  EXPECT_EQ(a.size(), PlanWorld(o).images.size() + 7);  // + world, 5 splits, cities
  ASSERT_TRUE(GenerateWorld(QuickOptions(2), (dir_ / "c").string()).ok());
  const auto c = Digests(dir_ / "c");
  EXPECT_NE(a.at("world.csv"), c.at("world.csv"));
}

std::vector<std::vector<std::string>> ReadRows(const fs::path& file, std::string* header) {
  std::ifstream in(file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, *header);
  while (std::getline(in, line)) rows.push_back(absl::StrSplit(line, ','));
  return rows;
}

TEST_F(PlanetDirTest, CsvsDescribeEveryImageAndSplitThemByName) {
  const WorldOptions o = QuickOptions();
  auto world = GenerateWorld(o, dir_.string());
  ASSERT_TRUE(world.ok()) << world.status();
  std::string header;
  const auto rows = ReadRows(dir_ / "world.csv", &header);
  EXPECT_EQ(header, kPlanetCsvHeader);
  const std::vector<std::string> columns = absl::StrSplit(header, ',');
  ASSERT_EQ(rows.size(), world->images.size());
  std::map<std::string, size_t> split_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), columns.size()) << i;
    const ImageRecord& r = world->images[i];
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < columns.size(); ++c) row[columns[c]] = rows[i][c];
    EXPECT_EQ(row["path"], r.path);
    EXPECT_EQ(row["split"], SplitName(r.split));
    EXPECT_EQ(row["localizable"], r.localizable() ? "1" : "0");
    EXPECT_EQ(row["scene"], SceneKindName(r.scene));
    EXPECT_EQ(row["place"], absl::StrCat(r.place));
    double lat = 0, true_lat = 0;
    ASSERT_TRUE(absl::SimpleAtod(row["lat"], &lat));
    ASSERT_TRUE(absl::SimpleAtod(row["true_lat"], &true_lat));
    EXPECT_NEAR(lat, r.lat, 5.1e-9);
    EXPECT_NEAR(true_lat, r.true_lat, 5.1e-9);
    EXPECT_TRUE(absl::StartsWith(r.path, absl::StrCat("images/", SplitName(r.split), "/")));
    // The file name says nothing of the place, city or split order.
    EXPECT_EQ(fs::path(r.path).stem().string().size(), 16u);
    ++split_rows[row["split"]];
    // The file is EncodeView's bytes.
    if (i % 7 == 0) {
      auto bytes = EncodeView(o, *world, r);
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      auto file = ReadFileToString((dir_ / r.path).string());
      ASSERT_TRUE(file.ok());
      EXPECT_EQ(*file, *bytes) << r.path;
    }
  }
  for (const auto& [split, n] : split_rows) {
    std::string split_header;
    EXPECT_EQ(ReadRows(dir_ / (split + ".csv"), &split_header).size(), n) << split;
    EXPECT_EQ(split_header, kPlanetCsvHeader);
  }
  std::string cities_header;
  const auto cities = ReadRows(dir_ / "cities.csv", &cities_header);
  EXPECT_EQ(cities.size(), world->cities.size());
  EXPECT_THAT(cities_header, HasSubstr("region_name"));
}

TEST_F(PlanetDirTest, RotatedPhotosCarryTheirExifOrientation) {
  WorldOptions o = QuickOptions();
  o.planet.queries.exif_rotated_share = 1;
  o.planet.collection.exif_rotated_share = 1;
  auto world = GenerateWorld(o, dir_.string());
  ASSERT_TRUE(world.ok()) << world.status();
  int sideways = 0;
  for (const ImageRecord& r : world->images) {
    ASSERT_NE(r.capture.orientation, 1);
    const std::string path = (dir_ / r.path).string();
    const cv::Mat upright = cv::imread(path, cv::IMREAD_COLOR);  // applies EXIF
    const cv::Mat stored = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    ASSERT_FALSE(upright.empty());
    EXPECT_EQ(upright.cols, r.capture.width) << r.path;
    EXPECT_EQ(upright.rows, r.capture.height) << r.path;
    const bool swapped = r.capture.orientation == 6 || r.capture.orientation == 8;
    EXPECT_EQ(stored.cols, swapped ? r.capture.height : r.capture.width) << r.path;
    sideways += swapped;
    // What a viewer shows is the rendered picture (up to JPEG loss).
    const cv::Mat rendered = RenderView(o, *world, r);
    cv::Mat diff;
    cv::absdiff(rendered, upright, diff);
    EXPECT_LT(cv::mean(diff)[0], 12.0) << r.path;
  }
  EXPECT_GT(sideways, 0);
}

TEST_F(PlanetDirTest, AFixedWorldDirectoryIsReplacedByAPlanet) {
  WorldOptions fixed = *WorldPreset("fixed-tiny");
  fixed.image_width = 64;
  fixed.image_height = 48;
  ASSERT_TRUE(GenerateWorld(fixed, dir_.string()).ok());
  ASSERT_TRUE(fs::exists(dir_ / "query.csv"));
  ASSERT_TRUE(GenerateWorld(QuickOptions(), dir_.string()).ok());
  EXPECT_FALSE(fs::exists(dir_ / "query.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "test.csv"));
  EXPECT_FALSE(fs::exists(dir_ / "images" / "wrangel"));
}

// ---------------------------------------------------------------------------------------------
// Pictures: a region's photos look alike (colour histograms, the crudest statistic).

TEST(PlanetPictureTest, ARegionsPhotosShareItsLook) {
  WorldOptions o = *WorldPreset("tiny");
  o.image_width = 96;
  o.image_height = 72;
  const World world = PlanWorld(o);
  std::vector<std::vector<float>> hist;
  std::vector<int> region;
  for (const ImageRecord& r : world.images) {
    if (!r.localizable() || r.capture.time != TimeOfDay::kDay ||
        r.capture.weather != Weather::kClear) {
      continue;
    }
    const cv::Mat img = RenderView(o, world, r);
    ASSERT_FALSE(img.empty());
    std::vector<float> h(512, 0.0f);
    for (int y = 0; y < img.rows; ++y) {
      for (int x = 0; x < img.cols; ++x) {
        const cv::Vec3b v = img.at<cv::Vec3b>(y, x);
        h[(v[0] / 32) * 64 + (v[1] / 32) * 8 + v[2] / 32] += 1.0f / (img.rows * img.cols);
      }
    }
    hist.push_back(h);
    region.push_back(r.region);
  }
  ASSERT_GT(hist.size(), 40u);
  double same = 0, other = 0;
  int n_same = 0, n_other = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    for (size_t j = i + 1; j < hist.size(); ++j) {
      double overlap = 0;  // histogram intersection
      for (int b = 0; b < 512; ++b) overlap += std::min(hist[i][b], hist[j][b]);
      (region[i] == region[j] ? same : other) += overlap;
      (region[i] == region[j] ? n_same : n_other)++;
    }
  }
  ASSERT_GT(n_same, 0);
  ASSERT_GT(n_other, 0);
  EXPECT_GT(same / n_same, other / n_other + 0.05)
      << "within region " << same / n_same << ", across " << other / n_other;
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST_F(PlanetDirTest, CommandLineWritesThePlanetTheLibraryWrites) {
  const RunResult run =
      RunSynth(absl::StrCat("--preset=tiny --out=", (dir_ / "cli").string(),
                            " --places=24 --cities=4 --image_width=64 --image_height=48"
                            " --gross_tag_share=0.05 --query_night_share=0.5 --threads=2"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("places 24"));
  EXPECT_THAT(run.output, HasSubstr("test "));
  EXPECT_THAT(run.output, HasSubstr("geotags  median error"));
  WorldOptions o = QuickOptions();
  o.planet.tags.gross_share = 0.05;
  o.planet.queries.night_share = 0.5;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "lib").string()).ok());
  EXPECT_EQ(Digests(dir_ / "cli"), Digests(dir_ / "lib"));
}

TEST_F(PlanetDirTest, DryRunPlansWithoutWriting) {
  const RunResult run = RunSynth(absl::StrCat("--preset=medium --dry_run --out=",
                                              (dir_ / "never").string()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr(absl::StrCat(
                              "images   ", PlanWorld(*WorldPreset("medium")).images.size())));
  EXPECT_THAT(run.output, HasSubstr("nothing written"));
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}

TEST_F(PlanetDirTest, CommandLineRefusesFlagsOfTheOtherKind) {
  const std::string out = absl::StrCat(" --out=", (dir_ / "w").string());
  const RunResult fixed_on_planet = RunSynth("--preset=tiny --num_regions=2" + out);
  EXPECT_EQ(fixed_on_planet.exit_code, 2) << fixed_on_planet.output;
  EXPECT_THAT(fixed_on_planet.output, HasSubstr("fixed worlds only"));
  const RunResult planet_on_fixed = RunSynth("--preset=fixed-tiny --places=10" + out);
  EXPECT_EQ(planet_on_fixed.exit_code, 2) << planet_on_fixed.output;
  EXPECT_THAT(planet_on_fixed.output, HasSubstr("do not apply to fixed worlds"));
  const RunResult bad_share = RunSynth("--preset=tiny --query_fog_share=2" + out);
  EXPECT_EQ(bad_share.exit_code, 2) << bad_share.output;
  EXPECT_THAT(bad_share.output, HasSubstr("query_fog_share"));
  EXPECT_FALSE(fs::exists(dir_ / "w" / "world.csv"));
}

}  // namespace
}  // namespace geoloc::synth
