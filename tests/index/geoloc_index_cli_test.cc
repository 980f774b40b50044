// The geoloc-index command, run as a user would (tests/support/command.h): build, info, verify
// and add-extra on .npy descriptors, a bundle built from a synthetic world's images with a real
// exported model, tampered bundles, and the exit codes and messages of every failure. Every test
// of the geoloc-index command line is here (its --help/--version conventions:
// tests/tools/command_line_test.cc).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/json_proto.h"
#include "core/index/bundle.h"
#include "core/index/npy.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/command.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::index {
namespace {

using testing::GaussianVectors;
using ::geoloc::testing::ReadTestFile;
using ::geoloc::testing::ScratchDir;
using testing::TestModel;
using ::geoloc::testing::WriteTestFile;

using ::geoloc::testing::CommandResult;
using ::geoloc::testing::RunCommand;
using ::geoloc::testing::Stderr;

// geoloc-index with `args`; `out` holds stdout and stderr, as a user sees them.
CommandResult RunCli(const std::string& args) {
  return RunCommand(absl::StrCat(GEOLOC_INDEX_BIN, " ", args), Stderr::kMerged);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto x = GaussianVectors(n_, d_, 5, true);
    WriteTestFile(dir_.file("desc.npy"), EncodeNpyFloat32(x.data(), n_, d_));
    std::string csv = "path,lat,lon,id,place\n";
    for (int i = 0; i < n_; ++i) {
      absl::StrAppend(&csv, "db/", i, ".jpg,", -10 + 0.01 * i, ",", 20 - 0.02 * i, ",", 500 + i,
                      ",p", i / 4, "\n");
    }
    WriteTestFile(dir_.file("desc.csv"), csv);
    WriteTestFile(dir_.file("geoloc.json"), model::ModelInfoToJson(TestModel(d_)).value());
  }
  std::string BuildArgs(const std::string& output, const std::string& more = "") const {
    return absl::StrCat("build --output=", output, " --npy=", dir_.file("desc.npy"),
                        " --npy_csv=", dir_.file("desc.csv"),
                        " --model_info=", dir_.file("geoloc.json"), " --log_level=warning ", more);
  }

  ScratchDir dir_;
  const int n_ = 400;
  const int d_ = 16;
};

TEST_F(Cli, BuildInfoVerifyAndTamper) {
  const std::string bundle = dir_.file("b");
  CommandResult build = RunCli(BuildArgs(bundle, "--index=ivf_flat --shards=2"));
  ASSERT_EQ(build.exit_code, 0) << build.out;
  absl::StatusOr<std::shared_ptr<const Bundle>> loaded = Bundle::Load(bundle);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), n_);
  EXPECT_EQ((*loaded)->metadata().id(7), 507);
  EXPECT_EQ((*loaded)->metadata().group(7), "p1");
  EXPECT_NE(build.out.find((*loaded)->version()), std::string::npos) << build.out;

  CommandResult info = RunCli("info " + bundle);
  EXPECT_EQ(info.exit_code, 0) << info.out;
  EXPECT_NE(info.out.find("ivf_flat"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("400 in 2 shard(s)"), std::string::npos) << info.out;
  CommandResult json = RunCli("info --json " + bundle);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  BundleManifest parsed;
  ASSERT_TRUE(ParseJsonProto(json.out, &parsed).ok()) << json.out;
  EXPECT_EQ(parsed.version(), (*loaded)->version());

  CommandResult verify = RunCli("verify " + bundle + " --model_info=" + dir_.file("geoloc.json"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("model matches"), std::string::npos) << verify.out;

  // A model of another dimension: the bundle is fine but does not match it.
  model::ModelInfo other = TestModel(2 * d_);
  WriteTestFile(dir_.file("other.json"), model::ModelInfoToJson(other).value());
  CommandResult mismatch = RunCli("verify " + bundle + " --model_info=" + dir_.file("other.json"));
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.out;
  EXPECT_NE(mismatch.out.find("dimension: bundle 16, served model 32"), std::string::npos)
      << mismatch.out;

  // One flipped byte in a shard.
  const std::string shard = bundle + "/shards/shard-00001.faiss";
  std::string bytes = ReadTestFile(shard);
  bytes[bytes.size() / 2] ^= 1;
  WriteTestFile(shard, bytes);
  CommandResult tampered = RunCli("verify " + bundle);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out;
  EXPECT_NE(tampered.out.find("shards/shard-00001.faiss"), std::string::npos) << tampered.out;
  EXPECT_NE(tampered.out.find("FAILED"), std::string::npos) << tampered.out;
}

TEST_F(Cli, BuildsAndVerifiesAnSq8FlatStore) {
  const std::string bundle = dir_.file("b");
  CommandResult build = RunCli(BuildArgs(bundle, "--flat_store=sq8 --shards=2"));
  ASSERT_EQ(build.exit_code, 0) << build.out;
  CommandResult info = RunCli("info " + bundle);
  EXPECT_EQ(info.exit_code, 0) << info.out;
  EXPECT_NE(info.out.find("flat: store sq8"), std::string::npos) << info.out;
  EXPECT_EQ(RunCli("verify " + bundle).exit_code, 0);
  const std::string codes = bundle + "/shards/shard-00001.sq8";
  std::string bytes = ReadTestFile(codes);
  bytes[bytes.size() - 3] ^= 1;
  WriteTestFile(codes, bytes);
  CommandResult tampered = RunCli("verify " + bundle);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out;
  EXPECT_NE(tampered.out.find("shards/shard-00001.sq8"), std::string::npos) << tampered.out;
  EXPECT_EQ(RunCli(BuildArgs(dir_.file("o"), "--flat_store=sq4")).exit_code, 2);
  EXPECT_EQ(RunCli(BuildArgs(dir_.file("o"), "--index=hnsw --flat_store=sq8")).exit_code, 2);
}

TEST_F(Cli, AddExtraAndVerify) {
  const std::string bundle = dir_.file("b");
  ASSERT_EQ(RunCli(BuildArgs(bundle)).exit_code, 0);
  WriteTestFile(dir_.file("cells.json"), "{}");
  CommandResult add = RunCli("add-extra " + bundle + " --name=cells --file=" + dir_.file("cells.json"));
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(RunCli("verify " + bundle).exit_code, 0);
  WriteTestFile(bundle + "/cells.json", "{\"x\":1}");
  CommandResult verify = RunCli("verify " + bundle);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("cells.json"), std::string::npos) << verify.out;
}

TEST_F(Cli, ReportsUsageAndInputErrors) {
  EXPECT_EQ(RunCli("").exit_code, 2);
  EXPECT_EQ(RunCli("frobnicate").exit_code, 2);
  EXPECT_EQ(RunCli("build --npy=x.npy").exit_code, 2);  // no --output
  EXPECT_EQ(RunCli("build --output=" + dir_.file("o") + " --csv=a.csv --npy=b.npy").exit_code, 2);
  EXPECT_EQ(RunCli(BuildArgs(dir_.file("o"), "--index=kdtree")).exit_code, 2);
  EXPECT_EQ(RunCli("info").exit_code, 2);
  CommandResult npy_thumbnails = RunCli(BuildArgs(dir_.file("o"), "--thumbnails"));
  EXPECT_EQ(npy_thumbnails.exit_code, 2);  // descriptors have no images to shrink
  EXPECT_NE(npy_thumbnails.out.find("not --npy"), std::string::npos) << npy_thumbnails.out;
  CommandResult tiny = RunCli("build --output=" + dir_.file("o") + " --csv=a.csv --model=m.pt " +
                              "--thumbnails --thumbnail_size=4");
  EXPECT_EQ(tiny.exit_code, 2);
  EXPECT_NE(tiny.out.find("thumbnail_size"), std::string::npos) << tiny.out;
  CommandResult missing = RunCli("info " + dir_.file("nowhere"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("does not exist"), std::string::npos) << missing.out;
  // Descriptor/metadata row counts that disagree.
  WriteTestFile(dir_.file("short.csv"), "path,lat,lon\na.jpg,1,2\n");
  CommandResult rows = RunCli(absl::StrCat(
      "build --output=", dir_.file("o"), " --npy=", dir_.file("desc.npy"),
      " --npy_csv=", dir_.file("short.csv"), " --model_info=", dir_.file("geoloc.json")));
  EXPECT_EQ(rows.exit_code, 1);
  EXPECT_NE(rows.out.find("has 400 rows"), std::string::npos) << rows.out;
  // An existing output is not overwritten without --replace.
  ASSERT_EQ(RunCli(BuildArgs(dir_.file("o"))).exit_code, 0);
  CommandResult again = RunCli(BuildArgs(dir_.file("o")));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already exists"), std::string::npos) << again.out;
  EXPECT_EQ(RunCli(BuildArgs(dir_.file("o"), "--replace --index=hnsw")).exit_code, 0);
}

// Images in, bundle out: a tiny synthetic world's CSV encoded with a real exported model (ResNet-18
// + GeM at 64x64, random weights), an HNSW bundle in 2 shards, verified against that model.
TEST(CliWithImages, BuildsAndVerifiesFromTheWorldCsv) {
  ScratchDir dir("index-cli-images");
  synth::WorldOptions options = synth::WorldPreset("tiny").value();
  options.threads = 2;
  absl::StatusOr<synth::World> world = synth::GenerateWorld(options, dir.file("world"));
  ASSERT_TRUE(world.ok()) << world.status();
  const std::string bundle = dir.file("cli-bundle");
  const std::string common =
      absl::StrCat(" --model=", GEOLOC_INDEX_TEST_MODEL, " --precision=fp32 --log_level=warning");
  CommandResult build = RunCli(absl::StrCat("build --output=", bundle, " --csv=",
                                            dir.file("world/world.csv"),
                                            " --index=hnsw --shards=2 --thumbnails", common));
  ASSERT_EQ(build.exit_code, 0) << build.out;
  absl::StatusOr<std::shared_ptr<const Bundle>> loaded = Bundle::Load(bundle);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE((*loaded)->HasExtra("thumbnails"));  // --thumbnails, verified below with the rest
  EXPECT_EQ((*loaded)->size(), static_cast<int64_t>(world->images.size()));
  EXPECT_EQ((*loaded)->metadata().group(0), "0");  // `place` became the group
  CommandResult verify = RunCli(absl::StrCat("verify ", bundle, common));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace
}  // namespace geoloc::index
