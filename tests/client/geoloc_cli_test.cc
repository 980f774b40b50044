// The geoloc CLI, run as a user would (tests/support/command.h), against the fake server: human
// output, JSON lines, GeoJSON files, the explain PNG, stream summaries, TLS and mutual TLS, and a
// clear message plus the documented exit code for every failure. Every test of the `geoloc`
// command line is here (its --help/--version conventions: tests/tools/command_line_test.cc).
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/exit_codes.h"
#include "geoloc/v1/geoloc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"
#include "tests/support/tls_material.h"

namespace geoloc::client {
namespace {

using ::geoloc::client::testing::CliCommand;
using ::geoloc::client::testing::CommandResult;
using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::FakeServerOptions;
using ::geoloc::client::testing::ReadTestFile;
using ::geoloc::client::testing::RunCommand;
using ::geoloc::client::testing::ShellQuote;
using ::geoloc::client::testing::WriteTestFile;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::Not;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeServer::Start({});
    ASSERT_NE(server_, nullptr);
  }

  // Writes a fake image (text the fake server understands) and returns its path.
  std::string Image(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    WriteTestFile(path, contents);
    return path;
  }

  CommandResult Run(const std::string& args, const std::string& env = "GEOLOC_TOKEN=test-token") {
    return RunCommand(CliCommand(args, server_->address(), env));
  }

  std::unique_ptr<FakeServer> server_;
  const testing::ScratchDir scratch_{"cli"};
  const std::string dir_ = scratch_.path();
};

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return message;
}

const Struct& Props(const Value& feature) {
  return feature.struct_value().fields().at("properties").struct_value();
}
const Struct& Geometry(const Value& feature) {
  return feature.struct_value().fields().at("geometry").struct_value();
}

TEST_F(CliTest, LocatePrintsAReadableReport) {
  const std::string image = Image("eiffel.jpg", "LATLON 48.8582 2.2945");
  CommandResult run = Run(absl::StrCat("locate ", image, " --levels=10,13"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr(image));
  EXPECT_THAT(run.out, HasSubstr("best  48.85820, 2.29450  ± 1.50 km  weight share 0.500"));
  EXPECT_THAT(run.out, HasSubstr("peaks (estimator kde)"));
  EXPECT_THAT(run.out, HasSubstr("cells (retrieval)"));
  EXPECT_THAT(run.out, HasSubstr("c1300"));  // a level-13 cell
  EXPECT_THAT(run.out, HasSubstr(FakeServer::kModelVersion));
  EXPECT_THAT(run.out, HasSubstr(FakeServer::kBundleVersion));
  EXPECT_THAT(run.out, HasSubstr("timings: decode 1.00 ms"));
  EXPECT_THAT(run.out, Not(HasSubstr("classifier")));
  EXPECT_THAT(run.out, Not(HasSubstr("neighbours")));
  EXPECT_THAT(run.out, HasSubstr("not calibrated: no confidence region and no probability"));
}

// A server with a gazetteer names the answer's points: the report and the GeoJSON show the names.
TEST_F(CliTest, LocateShowsNamedPlacesInTheReportAndTheGeoJson) {
  const std::string image = Image("named.jpg", "LATLON 64.75 177.55 named");
  CommandResult run = Run(absl::StrCat("locate ", image, " --levels=10"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("  place 0.5 km NE of Fakeville, Region, Land\n"));
  // The peak rows and the cell rows end with their place.
  EXPECT_THAT(run.out, HasSubstr("1.50  1.5 km NE of Fakeville, Region, Land\n"));
  EXPECT_THAT(run.out, HasSubstr("  10.5 km NE of Fakeville, Region, Land\n"));

  const std::string geojson = dir_ + "/named.geojson";
  run = Run(absl::StrCat("locate ", image, " --levels=10 --geojson=", geojson));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const Struct collection = ParseJson<Struct>(ReadTestFile(geojson));
  std::map<std::string, std::string> place_by_kind;
  for (const Value& feature : collection.fields().at("features").list_value().values()) {
    const Struct& props = Props(feature);
    const std::string kind = props.fields().at("kind").string_value();
    if (props.fields().count("place") == 0) continue;
    if (place_by_kind.count(kind) == 0) {
      place_by_kind[kind] = props.fields().at("place").string_value();
    }
    EXPECT_EQ(props.fields().at("place_name").string_value(), "Fakeville");
    EXPECT_EQ(props.fields().at("place_country_code").string_value(), "FL");
    EXPECT_EQ(props.fields().at("place_bearing_deg").number_value(), 45);
  }
  EXPECT_EQ(place_by_kind["estimate"], "0.5 km NE of Fakeville, Region, Land");
  EXPECT_EQ(place_by_kind["peak"], "1.5 km NE of Fakeville, Region, Land");
  EXPECT_EQ(place_by_kind["cell"], "10.5 km NE of Fakeville, Region, Land");

  // Without names (a server with no gazetteer) the report has no place lines.
  const std::string plain = Image("plain.jpg", "LATLON 64.75 177.55");
  run = Run(absl::StrCat("locate ", plain));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("place")));
  EXPECT_THAT(run.out, Not(HasSubstr("Fakeville")));
}

TEST_F(CliTest, LocateShowsTheCalibratedRegionsAndProbabilities) {
  const std::string image = Image("cal.jpg", "LATLON 48.8582 2.2945 calibrated");
  const std::string geojson = dir_ + "/calibrated.geojson";
  CommandResult run = Run(absl::StrCat("locate ", image, " --geojson=", geojson));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("calibrated: P(localizable) 0.300  ABSTAINED (below 0.50)"));
  EXPECT_THAT(run.out, HasSubstr("P(within)  1 km 0.050  25 km 0.250"));
  EXPECT_THAT(run.out, HasSubstr("regions (score group 1)"));
  EXPECT_THAT(run.out, HasSubstr(" 0.50  >=  0.520          1234.5       1"));
  EXPECT_THAT(run.out, HasSubstr("the whole Earth"));
  EXPECT_THAT(run.out, Not(HasSubstr("not calibrated")));
  Struct collection = ParseJson<Struct>(ReadTestFile(geojson));
  int regions = 0;
  for (const Value& feature : collection.fields().at("features").list_value().values()) {
    const Struct& props = Props(feature);
    if (props.fields().at("kind").string_value() != "region") continue;
    ++regions;
    EXPECT_TRUE(props.fields().at("calibrated").bool_value());
    if (props.fields().at("level").number_value() == 0.5) {
      EXPECT_EQ(Geometry(feature).fields().at("type").string_value(), "MultiPolygon");
      EXPECT_DOUBLE_EQ(props.fields().at("area_km2").number_value(), 1234.5);
    }
  }
  EXPECT_EQ(regions, 2);
}

TEST_F(CliTest, LocateShowsClassifierSideBySideAndNeighbours) {
  const std::string image = Image("c.jpg", "LATLON 10 20 classifier");
  CommandResult run = Run(absl::StrCat("locate ", image, " --neighbors --k=3"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("fused (best)     10.25000    20.25000      12.00       0.550"));
  EXPECT_THAT(run.out, HasSubstr("retrieval        10.00000    20.00000       1.50       0.500"));
  EXPECT_THAT(run.out, HasSubstr("classifier       10.50000    20.50000      25.00       0.400"));
  EXPECT_THAT(run.out, HasSubstr("cells (classifier)"));
  EXPECT_THAT(run.out, HasSubstr("neighbours"));
  EXPECT_THAT(run.out, HasSubstr("db/img_2.jpg"));
  EXPECT_THAT(run.out, Not(HasSubstr("db/img_3.jpg")));  // k = 3
}

TEST_F(CliTest, LocateJsonIsOneResponsePerLine) {
  const std::string a = Image("a.jpg", "LATLON 1 2");
  const std::string b = Image("b.jpg", "LATLON 3 4");
  CommandResult run = Run(absl::StrCat("locate ", a, " ", b, " --json --peaks=2"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  v1::LocateResponse first = ParseJson<v1::LocateResponse>(lines[0]);
  v1::LocateResponse second = ParseJson<v1::LocateResponse>(lines[1]);
  EXPECT_EQ(first.best().location().latitude(), 1);
  EXPECT_EQ(second.best().location().longitude(), 4);
  EXPECT_EQ(second.peaks_size(), 2);
  EXPECT_THAT(lines[0], HasSubstr("\"model_version\""));  // field names as in the .proto
}

TEST_F(CliTest, LocateGeoJsonIsValidRfc7946) {
  const std::string image = Image("g.jpg", "LATLON 48.8582 2.2945 classifier");
  const std::string geojson = dir_ + "/map.geojson";
  CommandResult run = Run(absl::StrCat("locate ", image, " --geojson=", geojson));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("map written to " + geojson));

  Struct collection = ParseJson<Struct>(ReadTestFile(geojson));
  EXPECT_EQ(collection.fields().at("type").string_value(), "FeatureCollection");
  int peaks = 0, cells = 0, classifier_cells = 0, circles = 0;
  for (const Value& feature : collection.fields().at("features").list_value().values()) {
    EXPECT_EQ(feature.struct_value().fields().at("type").string_value(), "Feature");
    const auto& props = Props(feature).fields();
    const std::string kind = props.at("kind").string_value();
    const Struct& geometry = Geometry(feature);
    const std::string type = geometry.fields().at("type").string_value();
    const auto& coordinates = geometry.fields().at("coordinates").list_value().values();
    if (kind == "peak") {
      ASSERT_EQ(type, "Point");
      const int rank = static_cast<int>(props.at("rank").number_value());
      // [longitude, latitude]: the fake puts peak i at (48.8582 + 0.01 i, 2.2945).
      EXPECT_NEAR(coordinates[0].number_value(), 2.2945, 1e-9);
      EXPECT_NEAR(coordinates[1].number_value(), 48.8582 + 0.01 * rank, 1e-9);
      for (const char* key : {"mass", "density", "support", "radius_km"}) {
        EXPECT_TRUE(props.contains(key)) << key;
      }
      ++peaks;
      continue;
    }
    if (kind == "cell" || kind == "classifier_cell" || kind == "peak_radius") {
      ASSERT_EQ(type, "Polygon") << kind;
      ASSERT_EQ(coordinates.size(), 1);  // one exterior ring
      const auto& ring = coordinates[0].list_value().values();
      ASSERT_GE(ring.size(), 4);
      const auto& first = ring[0].list_value().values();
      const auto& last = ring[ring.size() - 1].list_value().values();
      EXPECT_EQ(first[0].number_value(), last[0].number_value()) << "ring not closed";
      EXPECT_EQ(first[1].number_value(), last[1].number_value()) << "ring not closed";
      for (const Value& position : ring) {
        const double lon = position.list_value().values(0).number_value();
        const double lat = position.list_value().values(1).number_value();
        // Near Paris: a swapped order would put longitude ~48 and latitude ~2.
        EXPECT_NEAR(lon, kind == "classifier_cell" ? 2.7945 : 2.2945, 1.0);
        EXPECT_NEAR(lat, kind == "classifier_cell" ? 49.3582 : 48.8582, 1.0);
      }
    }
    if (kind == "cell" || kind == "classifier_cell") {
      EXPECT_TRUE(props.contains("token"));
      EXPECT_TRUE(props.contains("level"));
      EXPECT_TRUE(props.contains("weight_share"));
      ++(kind == "cell" ? cells : classifier_cells);
    }
    if (kind == "peak_radius") ++circles;
  }
  EXPECT_EQ(peaks, 3);
  EXPECT_EQ(circles, 3);
  EXPECT_EQ(cells, 2);
  EXPECT_EQ(classifier_cells, 2);
}

TEST_F(CliTest, GeoJsonCellsOverTheAntimeridianAndThePoleDrawCorrectly) {
  const std::string fiji = Image("fiji.jpg", "LATLON -17 179.95");
  const std::string pole = Image("pole.jpg", "LATLON 89.5 10");
  const std::string geojson = dir_ + "/edge.geojson";
  CommandResult run = Run(absl::StrCat("locate ", fiji, " ", pole, " --geojson=", geojson));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  Struct collection = ParseJson<Struct>(ReadTestFile(geojson));
  int split_cells = 0, polar_cells = 0;
  for (const Value& feature : collection.fields().at("features").list_value().values()) {
    const auto& props = Props(feature).fields();
    if (props.at("kind").string_value() != "cell") continue;
    const Struct& geometry = Geometry(feature);
    const auto& coordinates = geometry.fields().at("coordinates").list_value().values();
    if (props.at("image").string_value() == fiji) {
      ASSERT_EQ(geometry.fields().at("type").string_value(), "MultiPolygon");
      ASSERT_EQ(coordinates.size(), 2);
      for (const Value& polygon : coordinates) {
        double min_lon = 180, max_lon = -180;
        for (const Value& position : polygon.list_value().values(0).list_value().values()) {
          const double lon = position.list_value().values(0).number_value();
          min_lon = std::min(min_lon, lon);
          max_lon = std::max(max_lon, lon);
        }
        EXPECT_LT(max_lon - min_lon, 1.0) << "a part spans the whole map";
      }
      ++split_cells;
    } else {
      bool reaches_pole = false;
      for (const Value& polygon : coordinates) {
        const auto& ring = geometry.fields().at("type").string_value() == "Polygon"
                               ? polygon.list_value().values()
                               : polygon.list_value().values(0).list_value().values();
        for (const Value& position : ring) {
          if (position.list_value().values_size() == 2 &&
              position.list_value().values(1).number_value() == 90.0) {
            reaches_pole = true;
          }
        }
      }
      EXPECT_TRUE(reaches_pole);
      ++polar_cells;
    }
  }
  EXPECT_EQ(split_cells, 2);
  EXPECT_EQ(polar_cells, 2);
}

TEST_F(CliTest, ExplainWritesThePngAndDescribesTheTarget) {
  const std::string image = Image("e.jpg", "LATLON 10 20");
  const std::string png = dir_ + "/overlay.png";
  const std::string map = dir_ + "/saliency.json";
  CommandResult run = Run(absl::StrCat("explain ", image, " --peak=1 --out=", png, " --map=", map));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(ReadTestFile(png), std::string(testing::kFakePng, testing::kFakePngSize));
  EXPECT_EQ(ReadTestFile(png).substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_THAT(run.out, HasSubstr("target  peak 1 at 10.01000,20.00000"));
  EXPECT_THAT(run.out, HasSubstr("score   0.7500"));
  EXPECT_THAT(run.out, HasSubstr("overlay written to " + png));
  v1::ExplainResponse saved = ParseJson<v1::ExplainResponse>(ReadTestFile(map));
  EXPECT_EQ(saved.saliency_size(), 12);
  EXPECT_EQ(saved.width(), 4u);
  EXPECT_TRUE(saved.overlay_png().empty());

  CommandResult json = Run(absl::StrCat("explain ", image, " --neighbor=77 --json --out=", png));
  ASSERT_EQ(json.exit_code, kExitOk) << json.err;
  v1::ExplainResponse printed = ParseJson<v1::ExplainResponse>(Lines(json.out).at(0));
  EXPECT_EQ(printed.neighbor().id(), 77);
}

TEST_F(CliTest, ExplainUsageAndServerErrors) {
  const std::string image = Image("e.jpg", "LATLON 10 20");
  const std::string png = dir_ + "/o.png";
  CommandResult two = Run(absl::StrCat("explain ", image, " --peak=0 --cell=k00 --out=", png));
  EXPECT_EQ(two.exit_code, kExitUsage);
  EXPECT_THAT(two.err, HasSubstr("at most one of --peak, --neighbor and --cell"));

  CommandResult no_out = Run(absl::StrCat("explain ", image));
  EXPECT_EQ(no_out.exit_code, kExitUsage);
  EXPECT_THAT(no_out.err, HasSubstr("--out"));

  CommandResult no_classifier = Run(absl::StrCat("explain ", image, " --cell=k00 --out=", png));
  EXPECT_EQ(no_classifier.exit_code, kExitRpcError);
  EXPECT_THAT(no_classifier.err,
              HasSubstr("FAILED_PRECONDITION: the bundle has no cell classifier"));
  EXPECT_FALSE(std::filesystem::exists(png));

  CommandResult unwritable =
      Run(absl::StrCat("explain ", image, " --out=", dir_, "/no/such/dir/o.png"));
  EXPECT_EQ(unwritable.exit_code, kExitIoError);
  EXPECT_THAT(unwritable.err, HasSubstr("cannot write overlay"));
}

TEST_F(CliTest, StreamReportsEveryItemAndASummary) {
  const testing::ScratchDir scratch("stream");
  const std::string& folder = scratch.path();
  for (int i = 0; i < 6; ++i) {
    WriteTestFile(absl::StrCat(folder, "/img", i, ".jpg"),
                  i == 3 ? "BAD" : absl::StrCat("LATLON ", i, " 1"));
  }
  WriteTestFile(folder + "/notes.txt", "not an image");
  CommandResult run = Run(absl::StrCat("stream ", folder, " --max_in_flight=2"));
  EXPECT_EQ(run.exit_code, kExitRpcError) << "one item failed";
  std::vector<std::string> lines = Lines(run.out);
  int ok = 0, errors = 0;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, "ok ")) ++ok;
    if (absl::StartsWith(line, "error ")) {
      ++errors;
      EXPECT_THAT(line, HasSubstr("img3.jpg  INVALID_ARGUMENT: cannot decode image"));
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(errors, 1);
  EXPECT_THAT(run.out, HasSubstr("6 images: 5 ok, 1 error, 0 unreadable in "));
  EXPECT_THAT(run.out, HasSubstr("images/s)"));
}

TEST_F(CliTest, StreamJsonLinesAndCleanExit) {
  const testing::ScratchDir scratch("stream");
  const std::string& folder = scratch.path();
  for (int i = 0; i < 4; ++i) {
    WriteTestFile(absl::StrCat(folder, "/p", i, ".png"), absl::StrCat("LATLON ", i, " 5"));
  }
  CommandResult run = Run(absl::StrCat("stream ", folder, " --json"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 4u) << run.out;
  std::set<std::string> ids;
  for (const std::string& line : lines) {
    v1::LocateStreamResponse response = ParseJson<v1::LocateStreamResponse>(line);
    EXPECT_EQ(response.status().code(), 0);
    ids.insert(response.item_id());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"p0.png", "p1.png", "p2.png", "p3.png"}));
  EXPECT_THAT(run.err, HasSubstr("4 images: 4 ok, 0 errors"));  // summary off stdout
}

TEST_F(CliTest, StatusSwapIndexAndHealth) {
  const std::string admin = dir_ + "/admin-token";
  WriteTestFile(admin, "admin-token\n");
  const std::string admin_flag = " --admin_token_file=" + admin;

  CommandResult status = Run("status" + admin_flag);
  ASSERT_EQ(status.exit_code, kExitOk) << status.err;
  EXPECT_THAT(status.out, HasSubstr("serving, up 1h 02m 05s"));
  EXPECT_THAT(status.out, HasSubstr("bundle     fake-bundle-v1"));
  EXPECT_THAT(status.out, HasSubstr("defaults   k 60, estimator kde, bandwidth 1 km"));
  EXPECT_THAT(status.out, HasSubstr("places     none: no gazetteer, answers carry no place names"));
  CommandResult status_json = Run("status --json" + admin_flag);
  ASSERT_EQ(status_json.exit_code, kExitOk) << status_json.err;
  EXPECT_EQ(ParseJson<v1::GetStatusResponse>(status_json.out).model().dim(), 512u);

  CommandResult swap = Run("swap-index /bundles/v2" + admin_flag);
  ASSERT_EQ(swap.exit_code, kExitOk) << swap.err;
  EXPECT_THAT(swap.out, HasSubstr("swapped in bundle v2 (was fake-bundle-v1)"));
  CommandResult bad_swap = Run("swap-index /bundles/missing" + admin_flag);
  EXPECT_EQ(bad_swap.exit_code, kExitRpcError);
  EXPECT_THAT(bad_swap.err, HasSubstr("FAILED_PRECONDITION: bundle /bundles/missing"));
  CommandResult no_admin = Run("status");  // the Geolocator token is not an admin token
  EXPECT_EQ(no_admin.exit_code, kExitRpcError);
  EXPECT_THAT(no_admin.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(no_admin.err, HasSubstr("--admin_token_file or $GEOLOC_ADMIN_TOKEN"));

  CommandResult health = Run("health", "");
  ASSERT_EQ(health.exit_code, kExitOk) << health.err;
  EXPECT_EQ(health.out, "server: SERVING\n");
  server_->SetServing("geoloc.v1.Geolocator", false);
  CommandResult draining = Run("health --service=geoloc.v1.Geolocator --json", "");
  EXPECT_EQ(draining.exit_code, kExitRpcError);
  EXPECT_EQ(draining.out, "{\"status\":\"NOT_SERVING\"}\n");
  CommandResult unknown = Run("health --service=nope", "");
  EXPECT_EQ(unknown.exit_code, kExitRpcError);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(CliTest, TokenFileTakesPrecedenceOverEnvironment) {
  const std::string image = Image("t.jpg", "LATLON 1 1");
  const std::string token = dir_ + "/token";
  WriteTestFile(token, "test-token\n");
  CommandResult run =
      Run(absl::StrCat("locate ", image, " --token_file=", token), "GEOLOC_TOKEN=wrong-token");
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  CommandResult env_only = Run(absl::StrCat("locate ", image), "GEOLOC_TOKEN=wrong-token");
  EXPECT_EQ(env_only.exit_code, kExitRpcError);
  EXPECT_THAT(env_only.err, HasSubstr("PERMISSION_DENIED"));
  CommandResult none = Run(absl::StrCat("locate ", image), "");
  EXPECT_EQ(none.exit_code, kExitRpcError);
  EXPECT_THAT(none.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(none.err, HasSubstr("--token_file or $GEOLOC_TOKEN"));
}

TEST_F(CliTest, FailuresExitWithTheDocumentedCodeAndAClearMessage) {
  const std::string image = Image("f.jpg", "LATLON 1 1");

  CommandResult down = RunCommand(CliCommand(absl::StrCat("locate ", image),
                                             absl::StrCat("127.0.0.1:", testing::UnusedPort())));
  EXPECT_EQ(down.exit_code, kExitRpcError);
  EXPECT_THAT(down.err, HasSubstr("Locate failed: UNAVAILABLE"));
  EXPECT_THAT(down.err, HasSubstr("is geolocd running"));

  CommandResult bad_flag = Run(absl::StrCat("locate ", image, " --no_such_flag=1"));
  EXPECT_EQ(bad_flag.exit_code, kExitUsage);
  EXPECT_THAT(bad_flag.err, HasSubstr("unknown flag --no_such_flag"));

  CommandResult bad_value = Run(absl::StrCat("locate ", image, " --k=lots"));
  EXPECT_EQ(bad_value.exit_code, kExitUsage);
  EXPECT_THAT(bad_value.err, HasSubstr("--k"));

  CommandResult bad_estimator = Run(absl::StrCat("locate ", image, " --estimator=median"));
  EXPECT_EQ(bad_estimator.exit_code, kExitUsage);
  EXPECT_THAT(bad_estimator.err, HasSubstr("unknown estimator 'median'"));

  CommandResult bad_level = Run(absl::StrCat("locate ", image, " --levels=10,31"));
  EXPECT_EQ(bad_level.exit_code, kExitUsage);
  EXPECT_THAT(bad_level.err, HasSubstr("'31' is not an S2 level"));

  CommandResult no_tls = Run(absl::StrCat("locate ", image, " --ca_cert=", dir_, "/ca.pem"));
  EXPECT_EQ(no_tls.exit_code, kExitUsage);
  EXPECT_THAT(no_tls.err, HasSubstr("need TLS"));

  CommandResult no_command = Run("");
  EXPECT_EQ(no_command.exit_code, kExitUsage);
  CommandResult unknown_command = Run("where-is " + image);
  EXPECT_EQ(unknown_command.exit_code, kExitUsage);
  EXPECT_THAT(unknown_command.err, HasSubstr("unknown command 'where-is'"));
  CommandResult no_operand = Run("locate");
  EXPECT_EQ(no_operand.exit_code, kExitUsage);
  EXPECT_THAT(no_operand.err, HasSubstr("usage: geoloc locate IMAGE..."));

  CommandResult missing = Run(absl::StrCat("locate ", dir_, "/absent.jpg"));
  EXPECT_EQ(missing.exit_code, kExitIoError);
  EXPECT_THAT(missing.err, HasSubstr("cannot read image " + dir_ + "/absent.jpg"));
  EXPECT_THAT(missing.err, HasSubstr("No such file or directory"));

  const std::string bad = Image("bad.jpg", "BAD");
  CommandResult rejected = Run("locate " + bad);
  EXPECT_EQ(rejected.exit_code, kExitRpcError);
  EXPECT_THAT(rejected.err, HasSubstr("Locate failed: INVALID_ARGUMENT: cannot decode image"));

  CommandResult unwritable = Run(absl::StrCat("locate ", image, " --geojson=", dir_, "/x/y.json"));
  EXPECT_EQ(unwritable.exit_code, kExitIoError);
  EXPECT_THAT(unwritable.err, HasSubstr("cannot write GeoJSON"));

  CommandResult missing_token_file =
      Run(absl::StrCat("locate ", image, " --token_file=", dir_, "/absent-token"));
  EXPECT_EQ(missing_token_file.exit_code, kExitIoError);
  EXPECT_THAT(missing_token_file.err, HasSubstr("token file"));

  CommandResult help = Run("help");
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("exit codes: 0 ok, 1 RPC/server error, 2 usage error"));
}

TEST_F(CliTest, LocateWritesPidfLoForOneImage) {
  const std::string image = Image("pidf.jpg", "LATLON 48.85 2.29");
  const std::string xml_path = dir_ + "/answer.xml";
  // The spelling (--pidf-lo) and Abseil's (--pidf_lo) are the same flag.
  CommandResult run = Run(absl::StrCat("locate ", image, " --pidf-lo ", xml_path));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("PIDF-LO written to " + xml_path + " (circle only)"));
  // The fake's answers are not calibrated: a circle with an unknown confidence, no polygon.
  // (The document itself is parsed with a real XML parser in pidf_lo_test.cc.)
  const std::string xml = ReadTestFile(xml_path);
  EXPECT_THAT(xml, HasSubstr("xmlns:con=\"urn:ietf:params:xml:ns:geopriv:conf\""));
  EXPECT_THAT(xml, HasSubstr("<gml:pos>48.8"));  // latitude first
  EXPECT_THAT(xml, HasSubstr("<con:confidence pdf=\"unknown\">unknown</con:confidence>"));
  EXPECT_THAT(xml, Not(HasSubstr("gml:Polygon")));
  // The presentity: the photo's content URI (RFC 6920), or the one given.
  EXPECT_THAT(xml, HasSubstr("entity=\"ni:///sha-256;"));
  run = Run(absl::StrCat("locate ", image, " --pidf_lo=", xml_path,
                         " --pidf_lo_entity=sip:caller@psap.example --json"));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("PIDF-LO written")));  // --json: stdout stays JSON
  EXPECT_THAT(ReadTestFile(xml_path), HasSubstr("entity=\"sip:caller@psap.example\""));

  CommandResult two = Run(absl::StrCat("locate ", image, " ", image, " --pidf_lo=", xml_path));
  EXPECT_EQ(two.exit_code, kExitUsage);
  EXPECT_THAT(two.err, HasSubstr("give exactly one"));
  CommandResult stream = Run(absl::StrCat("stream ", dir_, " --pidf_lo=", xml_path));
  EXPECT_EQ(stream.exit_code, kExitUsage);
  EXPECT_THAT(stream.err, HasSubstr("--pidf_lo is for locate"));
  CommandResult level =
      Run(absl::StrCat("locate ", image, " --pidf_lo=", xml_path, " --pidf_lo_level=1.5"));
  EXPECT_EQ(level.exit_code, kExitUsage);
  EXPECT_THAT(level.err, HasSubstr("--pidf_lo_level must be in (0, 1)"));
  CommandResult unwritable =
      Run(absl::StrCat("locate ", image, " --pidf_lo=", dir_, "/no/such/dir.xml"));
  EXPECT_EQ(unwritable.exit_code, kExitIoError);
  EXPECT_THAT(unwritable.err, HasSubstr("cannot write PIDF-LO"));
}

TEST_F(CliTest, DeadlineFlagIsHonoured) {
  const std::string slow = Image("slow.jpg", "SLOW");
  CommandResult run = Run(absl::StrCat("locate ", slow, " --deadline_ms=200"));
  EXPECT_EQ(run.exit_code, kExitRpcError);
  EXPECT_THAT(run.err, HasSubstr("DEADLINE_EXCEEDED"));
}

// The TLS flags, against a fake server that speaks mutual TLS (the library's TLS cases:
// tls_test.cc).
class CliTlsTest : public ::geoloc::testing::TlsMaterialTest {};

TEST_F(CliTlsTest, SpeaksTlsAndMutualTls) {
  FakeServerOptions options;
  options.credentials = testing::TlsServerCredentials(tls(), /*require_client_cert=*/true);
  std::unique_ptr<FakeServer> server = FakeServer::Start(options);
  ASSERT_NE(server, nullptr);
  const std::string flags =
      absl::StrCat(" --tls --ca_cert=", tls().file("ca.pem"),
                   " --server_name=geoloc.test --client_cert=", tls().file("client.pem"),
                   " --client_key=", tls().file("client.key"));
  testing::CommandResult health =
      RunCommand(testing::CliCommand("health" + flags, server->address()));
  EXPECT_EQ(health.exit_code, kExitOk) << health.err;
  EXPECT_EQ(health.out, "server: SERVING\n");

  const std::string image = tls().file("photo.jpg");
  testing::WriteTestFile(image, "LATLON 5 6");
  testing::CommandResult locate =
      RunCommand(testing::CliCommand("locate " + image + flags, server->address()));
  EXPECT_EQ(locate.exit_code, kExitOk) << locate.err;
  EXPECT_THAT(locate.out, HasSubstr("5.00000, 6.00000"));

  testing::CommandResult wrong_ca = RunCommand(testing::CliCommand(
      absl::StrCat("health --tls --ca_cert=", tls().file("other_ca.pem")), server->address()));
  EXPECT_EQ(wrong_ca.exit_code, kExitRpcError);
  EXPECT_THAT(wrong_ca.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(wrong_ca.err, HasSubstr("check --ca_cert and --server_name"));
}

}  // namespace
}  // namespace geoloc::client
