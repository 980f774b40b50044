// geolocd's LocateIncident end to end: one answer for several photos, each photo's part, copies of
// one photo no more confident than the photo alone, a bad photo named, the audit line, and
// incidents calibrated only by a bundle's incident calibration.
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/common/sha256.h"
#include "core/places/gazetteer.h"
#include "core/places/place_description.h"
#include "gtest/gtest.h"
#include "tests/support/calibrated_bundle.h"
#include "tests/support/server_process.h"

namespace geoloc::testing {
namespace {

// A bundle calibrated for single photos only answers an incident of two photos uncalibrated (no
// region, no probability); swapped for one with an incident calibration for 2 photos, the same
// incident is calibrated. One photo is calibrated either way.
TEST(ServerIncidentTest, IncidentsAreCalibratedOnlyByAnIncidentCalibration) {
  const Fixture fixture = GetFixture();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_GE(queries.size(), 2u);
  const ScratchDir dir("incident-calibration");
  const std::filesystem::path root = dir.path();
  std::filesystem::copy(fixture.bundle("v1"), root / "plain",
                        std::filesystem::copy_options::recursive);
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--bundle=" + (root / "plain").string());
  flags.push_back("--index_root=" + root.string());
  flags.push_back("--default_k=10");
  flags.push_back("--region_levels=0.5,0.9");
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto client = server.NewClient();
  auto status = client->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  auto file = SyntheticCalibrationFile(status->model().fingerprint(),
                                       {TestCalibrationSettings(10, "spherical_kde")});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(CopyWithCalibration((root / "plain").string(), (root / "single").string(), *file)
                  .ok());
  ASSERT_TRUE(AddSyntheticIncidentCalibrations({2}, &*file).ok());
  ASSERT_TRUE(
      CopyWithCalibration((root / "plain").string(), (root / "incidents").string(), *file).ok());

  v1::LocateIncidentRequest one, two;
  one.add_images(queries[0].bytes);
  two.add_images(queries[0].bytes);
  two.add_images(queries[1].bytes);
  for (const char* bundle : {"single", "incidents"}) {
    v1::SwapIndexRequest swap;
    swap.set_bundle_path(bundle);
    ASSERT_TRUE(client->SwapIndex(swap, {absl::Seconds(60), false}).ok()) << server.Log();
    auto alone = client->LocateIncident(one);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_TRUE(alone->combined().calibrated()) << bundle;
    EXPECT_EQ(alone->combined().regions_size(), 2) << bundle;
    auto pair = client->LocateIncident(two);
    ASSERT_TRUE(pair.ok()) << pair.status();
    const bool with_incidents = std::string(bundle) == "incidents";
    EXPECT_EQ(pair->combined().calibrated(), with_incidents) << bundle;
    EXPECT_EQ(pair->combined().regions_size(), with_incidents ? 2 : 0) << bundle;
    EXPECT_EQ(pair->combined().within_size() > 0, with_incidents) << bundle;
  }
}

TEST(ServerIncidentTest, OneAnswerForSeveralPhotosWithEachPhotosPart) {
  const Fixture fixture = GetFixture();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_GE(queries.size(), 3u);
  const ScratchDir dir("incident-e2e");
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--audit_log=" + dir.file("audit.jsonl"));
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto client = server.NewClient();

  v1::LocateRequest single;
  single.set_image(queries[0].bytes);
  auto alone = client->Locate(single);
  ASSERT_TRUE(alone.ok()) << alone.status();

  // One photo as an incident: the photo's own answer.
  v1::LocateIncidentRequest one;
  one.add_images(queries[0].bytes);
  auto one_answer = client->LocateIncident(one);
  ASSERT_TRUE(one_answer.ok()) << one_answer.status();
  ASSERT_EQ(one_answer->photos_size(), 1);
  EXPECT_DOUBLE_EQ(one_answer->effective_photos(), 1.0);
  EXPECT_FALSE(one_answer->photos(0).dissents());
  EXPECT_NEAR(one_answer->combined().best().location().latitude(),
              alone->best().location().latitude(), 1e-6);
  EXPECT_NEAR(one_answer->combined().best().location().longitude(),
              alone->best().location().longitude(), 1e-6);

  // Four copies: they count as one photo and the answer is no more confident.
  v1::LocateIncidentRequest copies;
  for (int i = 0; i < 4; ++i) copies.add_images(queries[0].bytes);
  copies.set_return_photo_answers(true);
  auto copies_answer = client->LocateIncident(copies);
  ASSERT_TRUE(copies_answer.ok()) << copies_answer.status();
  EXPECT_NEAR(copies_answer->effective_photos(), 1.0, 1e-9);
  const v1::LocateResponse& a = one_answer->combined();
  const v1::LocateResponse& b = copies_answer->combined();
  ASSERT_EQ(a.peaks_size(), b.peaks_size());
  for (int p = 0; p < a.peaks_size(); ++p) {
    EXPECT_NEAR(b.peaks(p).mass(), a.peaks(p).mass(), 1e-9);
    EXPECT_GE(b.peaks(p).radius_km(), a.peaks(p).radius_km() * (1 - 1e-9));
  }
  EXPECT_GE(b.best().uncertainty_km(), a.best().uncertainty_km() * (1 - 1e-9));
  ASSERT_EQ(copies_answer->photos_size(), 4);
  for (const v1::IncidentPhoto& photo : copies_answer->photos()) {
    EXPECT_NEAR(photo.exponent(), 0.25, 1e-12);
    EXPECT_EQ(photo.peak_support_size(), b.peaks_size());
    EXPECT_FALSE(photo.dissents());
    EXPECT_GT(photo.answer().peaks_size(), 0);  // return_photo_answers
  }

  // A bad photo fails the call and is named.
  v1::LocateIncidentRequest bad;
  bad.add_images(queries[0].bytes);
  bad.add_images("not an image");
  auto refused = client->LocateIncident(bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "photo 1")) << refused.status();
  v1::LocateIncidentRequest empty;
  EXPECT_EQ(client->LocateIncident(empty).status().code(), absl::StatusCode::kInvalidArgument);
  v1::LocateIncidentRequest nearest = one;
  nearest.mutable_options()->set_estimator(v1::ESTIMATOR_NEAREST);
  EXPECT_EQ(client->LocateIncident(nearest).status().code(), absl::StatusCode::kInvalidArgument);

  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();
  const std::string log = ReadTestFile(dir.file("audit.jsonl"));
  const std::string sha = Sha256Hex(queries[0].bytes);
  // The four-copy call lists the photo four times; "photo 1" of the bad call its own hash.
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("\"method\":\"LocateIncident\"", ",\"transport\":\"grpc\"")));
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("[\"", sha, "\",\"", sha, "\",\"", sha,
                                                  "\",\"", sha, "\"]")));
  EXPECT_TRUE(absl::StrContains(log, Sha256Hex("not an image")));
}

// --gazetteer: the combined answer names its best estimate, every peak and every cell exactly as
// core/places names the same points, like a single photo's answer (server_e2e_test).
TEST(ServerIncidentTest, TheCombinedAnswerIsNamedFromTheGazetteer) {
  const std::string gazetteer_path = std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz";
  auto gazetteer = places::Gazetteer::Load(gazetteer_path);
  ASSERT_TRUE(gazetteer.ok()) << gazetteer.status();
  const Fixture fixture = GetFixture();
  const std::vector<QueryImage> queries = LoadQueries(fixture);
  ASSERT_GE(queries.size(), 2u);
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture);
  flags.push_back("--gazetteer=" + gazetteer_path);
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto client = server.NewClient();

  auto expect_named = [&](const v1::Place& place, const v1::LatLng& point) {
    auto expected = places::NameNearest(**gazetteer, {point.latitude(), point.longitude()});
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(place.description(), expected->description);
    EXPECT_DOUBLE_EQ(place.distance_km(), expected->distance_km);
  };
  v1::LocateIncidentRequest request;
  request.add_images(queries[0].bytes);
  request.add_images(queries[1].bytes);
  request.mutable_options()->add_cell_levels(6);
  request.mutable_options()->add_cell_levels(10);
  auto answer = client->LocateIncident(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  const v1::LocateResponse& combined = answer->combined();
  ASSERT_TRUE(combined.best().has_place());
  expect_named(combined.best().place(), combined.best().location());
  ASSERT_TRUE(combined.retrieval().has_place());
  expect_named(combined.retrieval().place(), combined.retrieval().location());
  ASSERT_GE(combined.peaks_size(), 1);
  for (const v1::Peak& p : combined.peaks()) {
    ASSERT_TRUE(p.has_place());
    expect_named(p.place(), p.location());
  }
  ASSERT_GE(combined.cells_size(), 2);
  for (const v1::CellConfidence& c : combined.cells()) {
    ASSERT_TRUE(c.has_place());
    expect_named(c.place(), c.center());
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
}

}  // namespace
}  // namespace geoloc::testing
