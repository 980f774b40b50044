// geoloc-gazetteer as a user runs it: build from a TSV, look a point up, and the exit codes of
// usage errors (2) and of a file that is not a gazetteer (1).
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::places {
namespace {

using ::geoloc::testing::CommandResult;
using ::geoloc::testing::RunCommand;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::Stderr;

const std::string kTestdata = GEOLOC_PLACES_TESTDATA;

CommandResult RunGazetteer(const std::string& args) {
  return RunCommand(absl::StrCat(GEOLOC_GAZETTEER_BIN, " ", args), Stderr::kMerged);
}

TEST(GeolocGazetteerCli, BuildsTheCommittedFileAndLooksPointsUp) {
  ScratchDir dir;
  const std::string out = dir.file("places.gaz");
  CommandResult build = RunGazetteer(absl::StrCat(
      "build --tsv ", kTestdata, "/places.tsv --out ", out, " --source_file ", kTestdata,
      "/source.txt --attribution_file ", kTestdata, "/attribution.txt --license_file ",
      kTestdata, "/license.txt"));
  ASSERT_EQ(build.exit_code, 0) << build.out;
  EXPECT_TRUE(absl::StrContains(build.out, "16 places")) << build.out;
  EXPECT_EQ(*ReadFileToString(out), *ReadFileToString(kTestdata + "/places.gaz"));

  CommandResult anadyr = RunGazetteer(absl::StrCat("lookup --gazetteer ", out, " 64.75424 177.55030"));
  ASSERT_EQ(anadyr.exit_code, 0) << anadyr.out;
  EXPECT_EQ(anadyr.out, "2.9 km NE of Anadyr, Chukotka, Russia\n");
  CommandResult south = RunGazetteer(absl::StrCat("lookup --gazetteer ", out, " -- -54.8 -68.3"));
  ASSERT_EQ(south.exit_code, 0) << south.out;
  EXPECT_TRUE(absl::StrContains(south.out, "Ushuaia")) << south.out;
}

TEST(GeolocGazetteerCli, UsageErrorsExitTwoAndBadFilesExitOne) {
  const std::string gazetteer = kTestdata + "/places.gaz";
  EXPECT_EQ(RunGazetteer("").exit_code, 2);
  EXPECT_EQ(RunGazetteer("frobnicate").exit_code, 2);
  EXPECT_EQ(RunGazetteer("build --tsv x.tsv").exit_code, 2);  // no --out
  EXPECT_EQ(RunGazetteer("lookup 1 2").exit_code, 2);         // no --gazetteer
  EXPECT_EQ(RunGazetteer(absl::StrCat("lookup --gazetteer ", gazetteer, " 95 0")).exit_code, 2);
  EXPECT_EQ(RunGazetteer(absl::StrCat("lookup --gazetteer ", gazetteer, " north 0")).exit_code, 2);
  CommandResult not_gazetteer =
      RunGazetteer(absl::StrCat("lookup --gazetteer ", kTestdata, "/places.tsv 1 1"));
  EXPECT_EQ(not_gazetteer.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(not_gazetteer.out, "not a gazetteer file")) << not_gazetteer.out;
  CommandResult bad_tsv = RunGazetteer(absl::StrCat("build --tsv ", kTestdata, "/source.txt --out ",
                                           ScratchDir().file("x.gaz")));
  EXPECT_EQ(bad_tsv.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad_tsv.out, "header")) << bad_tsv.out;
}

}  // namespace
}  // namespace geoloc::places
