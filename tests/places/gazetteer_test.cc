#include "core/places/gazetteer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/places/gazetteer.pb.h"
#include "core/places/gazetteer_builder.h"
#include "core/places/place_description.h"
#include "gtest/gtest.h"

namespace geoloc::places {
namespace {

const std::string kTestdata = GEOLOC_PLACES_TESTDATA;

std::vector<PlaceRecord> TestPlaces() {
  absl::StatusOr<std::string> tsv = ReadFileToString(kTestdata + "/places.tsv");
  EXPECT_TRUE(tsv.ok()) << tsv.status();
  absl::StatusOr<std::vector<PlaceRecord>> places = ParsePlacesTsv(*tsv);
  EXPECT_TRUE(places.ok()) << places.status();
  return *places;
}

GazetteerInfo TestInfo() {
  return {"tests/places/testdata/places.tsv", "Place names from GeoNames, CC BY 4.0", "CC BY 4.0"};
}

std::shared_ptr<const Gazetteer> TestGazetteer() {
  absl::StatusOr<std::string> bytes = SerializeGazetteer(TestPlaces(), TestInfo());
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<std::shared_ptr<const Gazetteer>> g = Gazetteer::FromBytes(*bytes);
  EXPECT_TRUE(g.ok()) << g.status();
  return *g;
}

std::string Describe(const Gazetteer& g, geo::LatLon p) {
  std::optional<NearbyPlace> near = g.Nearest(p);
  EXPECT_TRUE(near.has_value());
  return near.has_value() ? DescribeNearby(*near) : "";
}

TEST(GazetteerTest, NamesTheNearestPlaceWithDistanceAndBearing) {
  std::shared_ptr<const Gazetteer> g = TestGazetteer();
  ASSERT_EQ(g->size(), 16u);
  EXPECT_EQ(g->attribution(), "Place names from GeoNames, CC BY 4.0");
  EXPECT_EQ(g->license(), "CC BY 4.0");
  // About 3.2 km north-east of Anadyr's point (0.02 degrees north, 0.04 degrees east).
  std::optional<NearbyPlace> near = g->Nearest({64.75424, 177.55030});
  ASSERT_TRUE(near.has_value());
  EXPECT_EQ(near->place.name, "Anadyr");
  EXPECT_EQ(near->place.region, "Chukotka");
  EXPECT_EQ(near->place.country, "Russia");
  EXPECT_EQ(near->place.country_code, "RU");
  EXPECT_EQ(near->place.population, 10332u);
  EXPECT_NEAR(near->distance_km, 2.91, 0.05);
  EXPECT_GT(near->bearing_deg, 22.5);
  EXPECT_LT(near->bearing_deg, 67.5);
  EXPECT_EQ(DescribeNearby(*near), "2.9 km NE of Anadyr, Chukotka, Russia");
  // Exactly at a place; far from everything; an empty region.
  EXPECT_EQ(Describe(*g, {51.50853, -0.12574}), "London, England, United Kingdom");
  EXPECT_EQ(Describe(*g, {1.28967, 103.85007}), "Singapore");
  EXPECT_EQ(Describe(*g, {48.85341 - 0.9, 2.34880}), "100 km S of Paris, Île-de-France, France");
}

TEST(GazetteerTest, NearestCrossesTheAntimeridianAndReachesThePoles) {
  std::shared_ptr<const Gazetteer> g = TestGazetteer();
  // Just east of 180 degrees from Anadyr (177.5 E): Anadyr is 2.6 degrees of longitude away,
  // Lavrentiya (171 W) 9 degrees.
  EXPECT_EQ(g->Nearest({64.8, -179.9})->place.name, "Anadyr");
  EXPECT_EQ(g->Nearest({-20.0, 179.99})->place.name, "Suva");
  EXPECT_EQ(g->Nearest({-21.0, -177.0})->place.name, "Nuku‘alofa");
  EXPECT_EQ(g->Nearest({90.0, 0.0})->place.name, "Longyearbyen");
  EXPECT_EQ(g->Nearest({-90.0, 0.0})->place.name, "Ushuaia");
  // Longitudes wrap.
  EXPECT_EQ(g->Nearest({51.5, 359.9})->place.name, "London");
  EXPECT_FALSE(g->Nearest({std::nan(""), 0.0}).has_value());
}

TEST(GazetteerTest, SameRecordsInAnyOrderGiveTheSameBytes) {
  std::vector<PlaceRecord> places = TestPlaces();
  absl::StatusOr<std::string> a = SerializeGazetteer(places, TestInfo());
  ASSERT_TRUE(a.ok()) << a.status();
  std::mt19937 rng(3);
  std::shuffle(places.begin(), places.end(), rng);
  places.push_back(places.front());  // an exact duplicate is dropped
  absl::StatusOr<std::string> b = SerializeGazetteer(places, TestInfo());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
}

// The committed places.gaz (used by the server and CLI tests) is what the builder makes from
// places.tsv with tests/places/testdata/*.txt, so the two cannot drift apart.
TEST(GazetteerTest, CommittedFileMatchesItsTsv) {
  absl::StatusOr<std::string> committed = ReadFileToString(kTestdata + "/places.gaz");
  ASSERT_TRUE(committed.ok()) << committed.status();
  GazetteerInfo info;
  info.source = *ReadFileToString(kTestdata + "/source.txt");
  info.attribution = *ReadFileToString(kTestdata + "/attribution.txt");
  info.license = *ReadFileToString(kTestdata + "/license.txt");
  for (std::string* s : {&info.source, &info.attribution, &info.license}) {
    while (!s->empty() && s->back() == '\n') s->pop_back();
  }
  absl::StatusOr<std::string> built = SerializeGazetteer(TestPlaces(), info);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(*committed, *built)
      << "rebuild: geoloc-gazetteer build --tsv places.tsv --out places.gaz --source_file "
         "source.txt --attribution_file attribution.txt --license_file license.txt";
}

TEST(GazetteerTest, WriteThenLoadRoundTripsAndLoadNamesThePath) {
  const std::string dir = ::testing::TempDir() + "/gazetteer_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/places.gaz";
  ASSERT_TRUE(WriteGazetteer(path, TestPlaces(), TestInfo()).ok());
  absl::StatusOr<std::shared_ptr<const Gazetteer>> g = Gazetteer::Load(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->size(), 16u);

  absl::StatusOr<std::shared_ptr<const Gazetteer>> missing = Gazetteer::Load(dir + "/none.gaz");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("none.gaz"), absl::string_view::npos);
}

TEST(GazetteerTest, DamagedFilesAreRefusedWithAClearError) {
  absl::StatusOr<std::string> good = SerializeGazetteer(TestPlaces(), TestInfo());
  ASSERT_TRUE(good.ok());
  auto expect_refused = [](absl::string_view bytes, absl::StatusCode code,
                           absl::string_view says) {
    absl::StatusOr<std::shared_ptr<const Gazetteer>> g = Gazetteer::FromBytes(bytes);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), code) << g.status();
    EXPECT_NE(g.status().message().find(says), absl::string_view::npos) << g.status();
  };
  // A flipped byte in the payload, a truncated file, a missing checksum line, another file.
  std::string flipped = *good;
  flipped[flipped.size() - 3] ^= 0x20;
  expect_refused(flipped, absl::StatusCode::kDataLoss, "checksum mismatch");
  expect_refused(absl::string_view(*good).substr(0, good->size() - 10),
                 absl::StatusCode::kDataLoss, "checksum mismatch");
  expect_refused(absl::string_view(*good).substr(0, 30), absl::StatusCode::kDataLoss,
                 "no checksum line");
  expect_refused("name\tlatitude\n", absl::StatusCode::kDataLoss, "not a gazetteer file");
  expect_refused("", absl::StatusCode::kDataLoss, "not a gazetteer file");
}

TEST(GazetteerTest, InconsistentContentsAreRefused) {
  GazetteerFile file;
  file.set_format_version(kGazetteerFormatVersion + 1);
  EXPECT_EQ(Gazetteer::FromFile(file).status().code(), absl::StatusCode::kFailedPrecondition);
  file.set_format_version(kGazetteerFormatVersion);
  EXPECT_EQ(Gazetteer::FromFile(file).status().code(), absl::StatusCode::kDataLoss);  // no places
  file.add_countries()->set_code("RU");
  file.add_regions()->set_country(0);
  file.add_place_name("Anadyr");
  file.add_place_lat_e5(6473424);
  file.add_place_lon_e5(17751030);
  file.add_place_region(0);
  file.add_place_population(10332);
  ASSERT_TRUE(Gazetteer::FromFile(file).ok());
  GazetteerFile bad = file;
  bad.set_place_region(0, 1);
  EXPECT_EQ(Gazetteer::FromFile(bad).status().code(), absl::StatusCode::kDataLoss);
  bad = file;
  bad.set_place_lat_e5(0, 9100000);
  EXPECT_EQ(Gazetteer::FromFile(bad).status().code(), absl::StatusCode::kDataLoss);
  bad = file;
  bad.add_place_name("Extra");
  EXPECT_EQ(Gazetteer::FromFile(bad).status().code(), absl::StatusCode::kDataLoss);
  bad = file;
  bad.mutable_regions(0)->set_country(3);
  EXPECT_EQ(Gazetteer::FromFile(bad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(GazetteerTest, TsvAndRecordErrorsNameTheProblem) {
  EXPECT_EQ(ParsePlacesTsv("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePlacesTsv("name\tlat\n").status().code(), absl::StatusCode::kInvalidArgument);
  const std::string header = absl::StrCat(kPlacesTsvHeader, "\n");
  absl::Status columns = ParsePlacesTsv(header + "Anadyr\t64.7\t177.5\tRU\n").status();
  EXPECT_NE(columns.message().find("line 2"), absl::string_view::npos) << columns;
  EXPECT_FALSE(ParsePlacesTsv(header + "Anadyr\tnorth\t177.5\tRU\tRussia\t\t1\n").ok());
  EXPECT_FALSE(ParsePlacesTsv(header + "Anadyr\t64.7\t177.5\tRU\tRussia\t\tmany\n").ok());
  absl::StatusOr<std::vector<PlaceRecord>> ok =
      ParsePlacesTsv(header + "Anadyr\t64.7\t177.5\tRU\tRussia\t\t\r\n\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].population, 0u);
  EXPECT_EQ((*ok)[0].region, "");

  std::vector<PlaceRecord> two_names = TestPlaces();
  two_names[0].country = "Russian Federation";  // Anadyr; Lavrentiya says "Russia"
  absl::Status s = SerializeGazetteer(two_names, TestInfo()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("two names"), absl::string_view::npos) << s;
  std::vector<PlaceRecord> bad_location = TestPlaces();
  bad_location[1].location.lat = 95;
  EXPECT_EQ(SerializeGazetteer(bad_location, TestInfo()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SerializeGazetteer({}, TestInfo()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::places
