// Tests of the synthetic world: layout, geography, determinism, the files written, whether the
// pictures carry place and region information, and the geoloc-synth command line.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tools/synth/geography.h"
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

WorldOptions SmallOptions(uint64_t seed = 1) {
  WorldOptions o;
  o.seed = seed;
  o.kind = WorldKind::kFixed;
  o.fixed.num_regions = 3;
  o.fixed.cities_per_region = 2;
  o.fixed.places_per_city = 3;
  o.fixed.database_views_per_place = 2;
  o.fixed.query_views_per_place = 1;
  o.image_width = 96;
  o.image_height = 72;
  o.threads = 2;
  return o;
}

using SynthDirTest = test_util::WorldDirTest;

// ---------------------------------------------------------------------------------------------
// Options and layout

TEST(WorldPresetTest, FixedPresetsHaveTheDocumentedSizes) {
  const std::map<std::string, size_t> expected = {{"fixed-tiny", 96}, {"fixed-small", 1008}};
  for (const auto& [name, images] : expected) {
    auto options = WorldPreset(name);
    ASSERT_TRUE(options.ok()) << name << ": " << options.status();
    EXPECT_TRUE(ValidateWorldOptions(*options).ok()) << name;
    EXPECT_EQ(PlanWorld(*options).images.size(), images) << name;
  }
  auto unknown = WorldPreset("huge");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("tiny, small, medium, large, fixed-tiny, fixed-small"));
}

TEST(ValidateTest, RejectsEachOutOfRangeFieldByName) {
  struct Case {
    const char* field;
    void (*mutate)(WorldOptions&);
  };
  const Case cases[] = {
      {"num_regions", [](WorldOptions& o) { o.fixed.num_regions = 0; }},
      {"num_regions", [](WorldOptions& o) { o.fixed.num_regions = kMaxRegions + 1; }},
      {"cities_per_region", [](WorldOptions& o) { o.fixed.cities_per_region = 0; }},
      {"cities_per_region", [](WorldOptions& o) { o.fixed.cities_per_region = 65; }},
      {"places_per_city", [](WorldOptions& o) { o.fixed.places_per_city = 0; }},
      {"places_per_city", [](WorldOptions& o) { o.fixed.places_per_city = 100000; }},
      {"database_views_per_place", [](WorldOptions& o) { o.fixed.database_views_per_place = 0; }},
      {"query_views_per_place", [](WorldOptions& o) { o.fixed.query_views_per_place = -1; }},
      {"image_width", [](WorldOptions& o) { o.image_width = 8; }},
      {"image_height", [](WorldOptions& o) { o.image_height = 5000; }},
      {"jpeg_quality", [](WorldOptions& o) { o.jpeg_quality = 101; }},
      {"city_radius_km", [](WorldOptions& o) { o.fixed.city_radius_km = 0.01; }},
      {"city_radius_km", [](WorldOptions& o) { o.fixed.city_radius_km = std::nan(""); }},
      {"threads", [](WorldOptions& o) { o.threads = -2; }},
  };
  EXPECT_TRUE(ValidateWorldOptions(SmallOptions()).ok());
  for (const Case& c : cases) {
    WorldOptions o = SmallOptions();
    c.mutate(o);
    const absl::Status status = ValidateWorldOptions(o);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field));
    EXPECT_TRUE(PlanWorld(o).images.empty()) << c.field;
  }
}

TEST(PlanWorldTest, CountsSplitsIdsAndPathsFollowTheOptions) {
  WorldOptions o = SmallOptions();
  o.fixed.places_per_city = 5;
  o.fixed.query_views_per_place = 2;
  const World world = PlanWorld(o);
  ASSERT_EQ(world.cities.size(), 6u);
  ASSERT_EQ(world.images.size(), 6u * 5 * 4);
  int database = 0, query = 0;
  std::set<std::string> paths, names;
  for (const City& c : world.cities) names.insert(c.name);
  EXPECT_EQ(names.size(), world.cities.size()) << "city names must be unique";
  for (size_t i = 0; i < world.images.size(); ++i) {
    const ImageRecord& r = world.images[i];
    // Place by place, views in order, database views first.
    EXPECT_EQ(r.place, static_cast<int64_t>(i / 4));
    EXPECT_EQ(r.view, static_cast<int>(i % 4));
    EXPECT_EQ(r.split, r.view < 2 ? Split::kDatabase : Split::kQuery);
    EXPECT_EQ(r.city, static_cast<int>(r.place / 5));
    EXPECT_EQ(r.region, world.cities[r.city].region);
    EXPECT_EQ(r.region, r.city / 2);
    EXPECT_EQ(r.path, absl::StrFormat("images/%s/p%06d_v%d.jpg", world.cities[r.city].name, r.place,
                                      r.view));
    paths.insert(r.path);
    (r.split == Split::kDatabase ? database : query)++;
    // Every view of a place shares its exact coordinates.
    const ImageRecord& first = world.images[i - i % 4];
    EXPECT_EQ(r.lat, first.lat);
    EXPECT_EQ(r.lon, first.lon);
  }
  EXPECT_EQ(database, 60);
  EXPECT_EQ(query, 60);
  EXPECT_EQ(paths.size(), world.images.size());
  EXPECT_EQ(SplitName(Split::kDatabase), "database");
  EXPECT_EQ(SplitName(Split::kQuery), "query");
}

TEST(PlanWorldTest, LayoutDependsOnTheSeed) {
  const World a = PlanWorld(SmallOptions(1));
  const World b = PlanWorld(SmallOptions(2));
  ASSERT_EQ(a.images.size(), b.images.size());
  int moved = 0;
  for (size_t i = 0; i < a.images.size(); ++i) moved += a.images[i].lat != b.images[i].lat;
  EXPECT_EQ(moved, static_cast<int>(a.images.size()));
  // Real anchor cities stay where they are.
  EXPECT_EQ(a.cities[0].name, "wrangel");
  EXPECT_EQ(b.cities[0].name, "wrangel");
}

// ---------------------------------------------------------------------------------------------
// Geography

TEST(GeographyTest, AnchorsAreRealCitiesInTheirRegions) {
  WorldOptions o = SmallOptions();
  o.fixed.num_regions = kMaxRegions;
  o.fixed.cities_per_region = 8;
  o.fixed.places_per_city = 1;
  const World world = PlanWorld(o);
  ASSERT_EQ(world.cities.size(), 128u);
  std::map<std::string, const City*> by_name;
  for (const City& c : world.cities) by_name[c.name] = &c;
  ASSERT_TRUE(by_name.count("paris"));
  EXPECT_NEAR(by_name["paris"]->lat, 48.8566, 1e-9);
  EXPECT_NEAR(by_name["paris"]->lon, 2.3522, 1e-9);
  EXPECT_EQ(RegionName(by_name["paris"]->region), "western_europe");
  EXPECT_EQ(world.cities[0].name, "wrangel");
  EXPECT_EQ(world.cities[8].name, "taveuni");
  EXPECT_EQ(world.cities[16].name, "longyearbyen");
  EXPECT_EQ(RegionName(0), "bering");
  EXPECT_EQ(RegionName(kMaxRegions), "");
  EXPECT_EQ(static_cast<int>(AnchorRegions().size()), kMaxRegions);
  // Paris-London by an independent haversine: 343.56 km.
  EXPECT_NEAR(TestHaversineKm(by_name["paris"]->lat, by_name["paris"]->lon, by_name["london"]->lat,
                              by_name["london"]->lon),
              343.56, 0.01);
  // No two anchors closer than the 80 km the header promises (so radii up to 20 km never mix).
  for (size_t i = 0; i < world.cities.size(); ++i) {
    for (size_t j = i + 1; j < world.cities.size(); ++j) {
      const City& a = world.cities[i];
      const City& b = world.cities[j];
      EXPECT_GT(TestHaversineKm(a.lat, a.lon, b.lat, b.lon), 80.0) << a.name << " " << b.name;
    }
  }
}

TEST(GeographyTest, WrapAndDestinationKnownAnswers) {
  EXPECT_EQ(WrapLongitude(180.0), -180.0);
  EXPECT_EQ(WrapLongitude(-180.0), -180.0);
  EXPECT_DOUBLE_EQ(WrapLongitude(190.0), -170.0);
  EXPECT_DOUBLE_EQ(WrapLongitude(-190.0), 170.0);
  EXPECT_DOUBLE_EQ(WrapLongitude(540.0), -180.0);
  // 1 km north is 1 / (6371.0088 * pi / 180) degrees of latitude.
  const LatLon north = Destination({10.0, 20.0}, 0.0, 1.0);
  EXPECT_NEAR(north.lat, 10.0 + 0.00899320363724538, 1e-10);
  EXPECT_NEAR(north.lon, 20.0, 1e-12);
  // Going east across the antimeridian wraps to negative longitudes, and back.
  const LatLon east = Destination({0.0, 179.999}, 1.0, 0.0);
  EXPECT_LT(east.lon, -179.99);
  EXPECT_NEAR(TestHaversineKm(0.0, 179.999, east.lat, east.lon), 1.0, 1e-9);
  const LatLon west = Destination({71.24, -180.0}, -2.0, 0.5);
  EXPECT_GT(west.lon, 179.9);
  EXPECT_NEAR(TestHaversineKm(71.24, -180.0, west.lat, west.lon), std::hypot(2.0, 0.5), 1e-9);
  EXPECT_NEAR(HaversineKm({48.8566, 2.3522}, {51.5074, -0.1278}), 343.56, 0.01);
}

// Every world has a city straddling longitude 180 and one above 70 N.
TEST(GeographyTest, AntimeridianAndArcticCitiesInEveryWorld) {
  std::vector<WorldOptions> worlds;
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    for (int regions : {1, 2, 4}) {
      for (int places : {2, 3, 14}) {
        WorldOptions o = SmallOptions(seed);
        o.fixed.num_regions = regions;
        o.fixed.cities_per_region = 1;
        o.fixed.places_per_city = places;
        worlds.push_back(o);
      }
    }
  }
  worlds.push_back(*WorldPreset("fixed-tiny"));
  worlds.push_back(*WorldPreset("fixed-small"));
  for (const WorldOptions& o : worlds) {
    const World world = PlanWorld(o);
    std::map<int, std::pair<bool, bool>> sides;  // city -> (has lon > 179, has lon < -179)
    bool arctic = false;
    for (const ImageRecord& r : world.images) {
      if (r.lon > 179) sides[r.city].first = true;
      if (r.lon < -179) sides[r.city].second = true;
      if (r.lat > 70) arctic = true;
      EXPECT_GE(r.lon, -180.0);
      EXPECT_LT(r.lon, 180.0);
    }
    bool straddles = false;
    for (const auto& [city, s] : sides) straddles = straddles || (s.first && s.second);
    EXPECT_TRUE(straddles) << "seed " << o.seed << " regions " << o.fixed.num_regions << " places "
                           << o.fixed.places_per_city;
    EXPECT_TRUE(arctic) << "seed " << o.seed;
  }
}

TEST(GeographyTest, PlacesLieWithinTheRadiusAndAtLeast100MetresApart) {
  std::vector<WorldOptions> worlds = {*WorldPreset("fixed-small")};
  WorldOptions dense = SmallOptions(7);
  dense.fixed.num_regions = 2;
  dense.fixed.cities_per_region = 2;
  dense.fixed.city_radius_km = 1.0;
  dense.fixed.places_per_city = 150;  // close to the capacity of a 1 km city
  worlds.push_back(dense);
  WorldOptions extra = SmallOptions(3);
  extra.fixed.num_regions = 2;
  extra.fixed.cities_per_region = 20;  // 12 generated cities per region beyond the 8 anchors
  extra.fixed.places_per_city = 2;
  extra.fixed.city_radius_km = 20;
  worlds.push_back(extra);
  for (const WorldOptions& o : worlds) {
    const World world = PlanWorld(o);
    const int views = o.fixed.database_views_per_place + o.fixed.query_views_per_place;
    std::vector<const ImageRecord*> places;
    for (size_t i = 0; i < world.images.size(); i += views) places.push_back(&world.images[i]);
    ASSERT_EQ(places.size(), world.cities.size() * o.fixed.places_per_city);
    for (const ImageRecord* p : places) {
      const City& c = world.cities[p->city];
      EXPECT_LE(TestHaversineKm(c.lat, c.lon, p->lat, p->lon), o.fixed.city_radius_km + 1e-9) << p->path;
    }
    double closest = 1e9;
    for (size_t i = 0; i < places.size(); ++i) {
      for (size_t j = i + 1; j < places.size(); ++j) {
        closest = std::min(closest, TestHaversineKm(places[i]->lat, places[i]->lon, places[j]->lat,
                                                    places[j]->lon));
      }
    }
    EXPECT_GE(closest, kMinPlaceSeparationKm) << "radius " << o.fixed.city_radius_km;
    // Cities never overlap: centres more than two radii apart.
    for (size_t i = 0; i < world.cities.size(); ++i) {
      for (size_t j = i + 1; j < world.cities.size(); ++j) {
        const City& a = world.cities[i];
        const City& b = world.cities[j];
        EXPECT_GT(TestHaversineKm(a.lat, a.lon, b.lat, b.lon), 2 * o.fixed.city_radius_km)
            << a.name << " " << b.name;
      }
    }
  }
}

TEST(GeographyTest, ExtraCitiesAreNamedAfterAnchorsOfTheirRegion) {
  WorldOptions o = SmallOptions();
  o.fixed.num_regions = 1;
  o.fixed.cities_per_region = 10;
  const World world = PlanWorld(o);
  ASSERT_EQ(world.cities.size(), 10u);
  for (int i = 8; i < 10; ++i) {
    const std::string& name = world.cities[i].name;
    const std::string anchor = name.substr(0, name.find('-'));
    EXPECT_NE(name.find('-'), std::string::npos) << name;
    bool found = false;
    for (const Anchor& a : AnchorRegions()[0].anchors) found = found || anchor == a.name;
    EXPECT_TRUE(found) << name;
    EXPECT_EQ(world.cities[i].region, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

struct CsvRow {
  std::string path, split, city;
  double lat = 0, lon = 0;
  int64_t place = 0;
  int region = 0, view = 0;
};

std::vector<CsvRow> ReadCsv(const fs::path& file, std::string* header) {
  std::ifstream in(file);
  std::vector<CsvRow> rows;
  std::string line;
  std::getline(in, *header);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    EXPECT_EQ(f.size(), 8u) << line;
    if (f.size() != 8) continue;
    CsvRow r;
    r.path = f[0];
    EXPECT_TRUE(absl::SimpleAtod(f[1], &r.lat)) << line;
    EXPECT_TRUE(absl::SimpleAtod(f[2], &r.lon)) << line;
    EXPECT_TRUE(absl::SimpleAtoi(f[3], &r.place)) << line;
    r.split = f[4];
    r.city = f[5];
    EXPECT_TRUE(absl::SimpleAtoi(f[6], &r.region)) << line;
    EXPECT_TRUE(absl::SimpleAtoi(f[7], &r.view)) << line;
    // At least 7 decimals.
    EXPECT_GE(f[1].size() - f[1].find('.') - 1, 7u) << f[1];
    rows.push_back(r);
  }
  return rows;
}

TEST_F(SynthDirTest, SameOptionsGiveIdenticalFilesWhateverTheThreadCount) {
  WorldOptions o = SmallOptions();
  o.threads = 1;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "a").string()).ok());
  o.threads = 3;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "b").string()).ok());
  const auto a = Digests(dir_ / "a");
  const auto b = Digests(dir_ / "b");
  EXPECT_EQ(a.size(), 18u * 3 + 3);  // images + world.csv, database.csv, query.csv
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a.count("world.csv"));
}

TEST_F(SynthDirTest, DifferentSeedsGiveDifferentImages) {
  ASSERT_TRUE(GenerateWorld(SmallOptions(1), (dir_ / "a").string()).ok());
  ASSERT_TRUE(GenerateWorld(SmallOptions(2), (dir_ / "b").string()).ok());
  const auto a = Digests(dir_ / "a");
  const auto b = Digests(dir_ / "b");
  ASSERT_EQ(a.size(), b.size());
  int same = 0;
  for (const auto& [path, digest] : a) same += b.count(path) && b.at(path) == digest;
  EXPECT_EQ(same, 0);
}

TEST_F(SynthDirTest, CsvParsesAndMatchesThePlanAndTheImages) {
  const WorldOptions o = SmallOptions();
  auto world = GenerateWorld(o, dir_.string());
  ASSERT_TRUE(world.ok()) << world.status();
  const World plan = PlanWorld(o);
  std::string header;
  const std::vector<CsvRow> rows = ReadCsv(dir_ / "world.csv", &header);
  EXPECT_EQ(header, "path,lat,lon,place,split,city,region,view");
  ASSERT_EQ(rows.size(), plan.images.size());
  ASSERT_EQ(world->images.size(), plan.images.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const ImageRecord& p = plan.images[i];
    EXPECT_EQ(rows[i].path, p.path);
    EXPECT_NEAR(rows[i].lat, p.lat, 5.1e-9);
    EXPECT_NEAR(rows[i].lon, p.lon, 5.1e-9);
    EXPECT_EQ(rows[i].place, p.place);
    EXPECT_EQ(rows[i].split, SplitName(p.split));
    EXPECT_EQ(rows[i].city, plan.cities[p.city].name);
    EXPECT_EQ(rows[i].region, p.region);
    EXPECT_EQ(rows[i].view, p.view);
    EXPECT_EQ(world->images[i].path, p.path);
    const cv::Mat image = cv::imread((dir_ / rows[i].path).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty()) << rows[i].path;
    EXPECT_EQ(image.cols, o.image_width);
    EXPECT_EQ(image.rows, o.image_height);
  }
  // The files are RenderView's pixels, JPEG-encoded.
  for (size_t i : {size_t{0}, size_t{4}, plan.images.size() - 1}) {
    const cv::Mat rendered = RenderView(o, plan, plan.images[i]);
    ASSERT_EQ(rendered.type(), CV_8UC3);
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", rendered, jpeg, {cv::IMWRITE_JPEG_QUALITY, o.jpeg_quality}));
    auto file = ReadFileToString((dir_ / plan.images[i].path).string());
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(*file, std::string(jpeg.begin(), jpeg.end())) << plan.images[i].path;
  }
  // database.csv and query.csv partition world.csv's rows by split, in the same order.
  std::string split_header;
  const std::vector<CsvRow> db = ReadCsv(dir_ / "database.csv", &split_header);
  EXPECT_EQ(split_header, header);
  const std::vector<CsvRow> queries = ReadCsv(dir_ / "query.csv", &split_header);
  EXPECT_EQ(split_header, header);
  ASSERT_EQ(db.size() + queries.size(), rows.size());
  size_t next_db = 0, next_query = 0;
  for (const CsvRow& row : rows) {
    const CsvRow& other = row.split == "database" ? db[next_db++] : queries[next_query++];
    EXPECT_EQ(other.path, row.path);
    EXPECT_EQ(other.split, row.split);
  }
  EXPECT_EQ(next_db, db.size());
  ImageRecord foreign = plan.images[0];
  foreign.city = 99;
  EXPECT_TRUE(RenderView(o, plan, foreign).empty());
}

TEST_F(SynthDirTest, OutputDirectoryRules) {
  const WorldOptions o = SmallOptions();
  // A directory with someone else's files is refused and left alone...
  const fs::path foreign = dir_ / "foreign";
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "keep me";
  auto refused = GenerateWorld(o, foreign.string());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("--force"));
  EXPECT_FALSE(fs::exists(foreign / "world.csv"));
  EXPECT_FALSE(fs::exists(foreign / "images"));
  // ...unless forced, which keeps the foreign file.
  GenerateOptions force;
  force.force = true;
  ASSERT_TRUE(GenerateWorld(o, foreign.string(), force).ok());
  EXPECT_TRUE(fs::exists(foreign / "world.csv"));
  EXPECT_TRUE(fs::exists(foreign / "notes.txt"));

  // A previous world is replaced, stale images included.
  const fs::path world = dir_ / "world";
  ASSERT_TRUE(GenerateWorld(o, world.string()).ok());
  EXPECT_TRUE(fs::exists(world / "images" / "taveuni"));
  WorldOptions smaller = o;
  smaller.fixed.num_regions = 1;
  ASSERT_TRUE(GenerateWorld(smaller, world.string()).ok());
  EXPECT_FALSE(fs::exists(world / "images" / "taveuni"));
  EXPECT_EQ(Digests(world).size(), 2u * 3 * 3 + 3);

  // A world directory that someone added a file to is no longer ours.
  std::ofstream(world / "extra.bin") << "x";
  EXPECT_EQ(GenerateWorld(o, world.string()).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Paths that cannot be directories.
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(GenerateWorld(o, (dir_ / "file").string()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const absl::Status under_file = GenerateWorld(o, (dir_ / "file" / "sub").string()).status();
  EXPECT_FALSE(under_file.ok());
  EXPECT_THAT(std::string(under_file.message()), HasSubstr("file"));
  EXPECT_EQ(GenerateWorld(o, "").status().code(), absl::StatusCode::kInvalidArgument);
  WorldOptions bad = o;
  bad.jpeg_quality = 0;
  EXPECT_EQ(GenerateWorld(bad, (dir_ / "bad").string()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

// ---------------------------------------------------------------------------------------------
// Is the world learnable? Two simple pixel statistics, compared by correlation:
//   colour histograms (8 bins per BGR channel): what a region's palette looks like;
//   tiny images (8x6, each channel standardised, which cancels the views' brightness, contrast and
//   white-balance shifts): where the large coloured shapes of a scene are.

double Correlation(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = a.size();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb + 1e-12);
}

std::vector<float> ColourHistogram(const cv::Mat& image) {
  std::vector<float> hist(512, 0.0f);
  for (int y = 0; y < image.rows; ++y) {
    const cv::Vec3b* row = image.ptr<cv::Vec3b>(y);
    for (int x = 0; x < image.cols; ++x) {
      hist[(row[x][0] / 32) * 64 + (row[x][1] / 32) * 8 + row[x][2] / 32] += 1;
    }
  }
  return hist;
}

std::vector<float> TinyImage(const cv::Mat& image) {
  cv::Mat tiny;
  cv::resize(image, tiny, cv::Size(8, 6), 0, 0, cv::INTER_AREA);
  tiny.convertTo(tiny, CV_32FC3);
  cv::Scalar mean, stddev;
  cv::meanStdDev(tiny, mean, stddev);
  std::vector<float> out;
  for (int y = 0; y < tiny.rows; ++y) {
    for (int x = 0; x < tiny.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        out.push_back(
            static_cast<float>((tiny.at<cv::Vec3f>(y, x)[c] - mean[c]) / (stddev[c] + 1e-6)));
      }
    }
  }
  return out;
}

class LearnabilityTest : public SynthDirTest {
 protected:
  void SetUp() override {
    SynthDirTest::SetUp();
    WorldOptions o = SmallOptions(11);
    o.fixed.num_regions = 4;
    o.fixed.cities_per_region = 2;
    o.fixed.places_per_city = 6;
    o.fixed.database_views_per_place = 2;
    o.fixed.query_views_per_place = 1;
    o.image_width = 160;
    o.image_height = 120;
    auto world = GenerateWorld(o, dir_.string());
    ASSERT_TRUE(world.ok()) << world.status();
    world_ = *world;
    for (const ImageRecord& r : world_.images) {
      const cv::Mat image = cv::imread((dir_ / r.path).string(), cv::IMREAD_COLOR);
      ASSERT_FALSE(image.empty());
      histograms_.push_back(ColourHistogram(image));
      tiny_.push_back(TinyImage(image));
    }
  }

  struct Means {
    double same_place = 0;             // two views of one place
    double same_region = 0;            // different places of one region (the hard negatives)
    double other_region = 0;           // places of different regions
    int query_nearest_same_place = 0;  // queries whose most similar database image shows the place
    int queries = 0;
  };

  Means Compare(const std::vector<std::vector<float>>& descriptors) const {
    Means m;
    double sums[3] = {0, 0, 0};
    int counts[3] = {0, 0, 0};
    const size_t n = world_.images.size();
    for (size_t i = 0; i < n; ++i) {
      const ImageRecord& q = world_.images[i];
      double best = -2;
      int64_t best_place = -1;
      for (size_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const ImageRecord& d = world_.images[j];
        const double s = Correlation(descriptors[i], descriptors[j]);
        const int kind = d.place == q.place ? 0 : d.region == q.region ? 1 : 2;
        sums[kind] += s;
        ++counts[kind];
        if (q.split == Split::kQuery && d.split == Split::kDatabase && s > best) {
          best = s;
          best_place = d.place;
        }
      }
      if (q.split == Split::kQuery) {
        ++m.queries;
        m.query_nearest_same_place += best_place == q.place;
      }
    }
    m.same_place = sums[0] / counts[0];
    m.same_region = sums[1] / counts[1];
    m.other_region = sums[2] / counts[2];
    return m;
  }

  World world_;
  std::vector<std::vector<float>> histograms_, tiny_;
};

TEST_F(LearnabilityTest, ViewsOfAPlaceLookMoreAlikeThanOtherPlaces) {
  const Means tiny = Compare(tiny_);
  EXPECT_GT(tiny.same_place, tiny.same_region + 0.15)
      << "tiny images: same place " << tiny.same_place << ", same region " << tiny.same_region;
  // 1-NN on tiny images alone finds the place for most queries (chance: 1 in 48).
  EXPECT_GT(tiny.query_nearest_same_place, tiny.queries * 3 / 4)
      << tiny.query_nearest_same_place << " of " << tiny.queries;
  const Means hist = Compare(histograms_);
  EXPECT_GT(hist.same_place, hist.same_region + 0.03)
      << "histograms: same place " << hist.same_place << ", same region " << hist.same_region;
}

TEST_F(LearnabilityTest, RegionStyleIsShared) {
  const Means hist = Compare(histograms_);
  EXPECT_GT(hist.same_region, hist.other_region + 0.15)
      << "histograms: within region " << hist.same_region << ", across " << hist.other_region;
  const Means tiny = Compare(tiny_);
  EXPECT_GT(tiny.same_region, tiny.other_region + 0.15)
      << "tiny images: within region " << tiny.same_region << ", across " << tiny.other_region;
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST_F(SynthDirTest, CommandLineWritesAWorldAndSummarises) {
  const fs::path out = dir_ / "w";
  const RunResult run = RunSynth(
      absl::StrCat("--preset=fixed-tiny --out=", out.string(),
                   " --num_regions=1 --cities_per_region=1 --places_per_city=2 --image_width=64"
                   " --image_height=48 --seed=5 --threads=2"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("images   6: database 4, query 2 (64x48"));
  EXPECT_THAT(run.output, HasSubstr("images/s"));
  std::string header;
  const std::vector<CsvRow> rows = ReadCsv(out / "world.csv", &header);
  ASSERT_EQ(rows.size(), 6u);
  // The command writes exactly what the library writes.
  WorldOptions o = *WorldPreset("fixed-tiny");
  o.fixed.num_regions = 1;
  o.fixed.cities_per_region = 1;
  o.fixed.places_per_city = 2;
  o.image_width = 64;
  o.image_height = 48;
  o.seed = 5;
  ASSERT_TRUE(GenerateWorld(o, (dir_ / "lib").string()).ok());
  EXPECT_EQ(Digests(out), Digests(dir_ / "lib"));
}

TEST_F(SynthDirTest, CommandLineErrorsExitNonZeroWithAMessage) {
  std::ofstream(dir_ / "file") << "x";
  const std::string out = absl::StrCat(" --out=", (dir_ / "w").string());
  const struct {
    std::string args;
    std::string message;
  } cases[] = {
      {"--preset=huge" + out, "unknown preset 'huge'"},
      {"--preset=tiny", "--out is required"},
      {"--preset=tiny --num_regions=0" + out, "num_regions"},
      {"--preset=tiny --jpeg_quality=101" + out, "jpeg_quality"},
      {"--preset=tiny --places_per_city=abc" + out, "places_per_city"},
      {"--preset=tiny --no_such_flag=1" + out, "no_such_flag"},
      {"--preset=tiny stray" + out, "unexpected argument 'stray'"},
      {"--preset=tiny --out=" + (dir_ / "file" / "sub").string(), "file/sub"},
      {"--preset=tiny --out=" + (dir_ / "file").string(), "not a directory"},
  };
  for (const auto& c : cases) {
    const RunResult run = RunSynth(c.args);
    EXPECT_NE(run.exit_code, 0) << c.args;
    EXPECT_THAT(run.output, HasSubstr(c.message)) << c.args;
  }
  EXPECT_FALSE(fs::exists(dir_ / "w" / "world.csv"));
}

}  // namespace
}  // namespace geoloc::synth
