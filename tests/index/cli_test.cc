// Runs the geoloc-index binary as a user would and checks exit codes and messages.
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/common/json_proto.h"
#include "core/index/bundle.h"
#include "core/index/npy.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"

namespace geoloc::index {
namespace {

using testing::GaussianVectors;
using testing::ReadAll;
using testing::ScratchDir;
using testing::TestModel;
using testing::WriteAll;

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CliRun RunCli(const std::string& args) {
  const std::string command = absl::StrCat(GEOLOC_INDEX_BIN, " ", args, " 2>&1");
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto x = GaussianVectors(n_, d_, 5, true);
    WriteAll(dir_.Sub("desc.npy"), EncodeNpyFloat32(x.data(), n_, d_));
    std::string csv = "path,lat,lon,id,place\n";
    for (int i = 0; i < n_; ++i) {
      absl::StrAppend(&csv, "db/", i, ".jpg,", -10 + 0.01 * i, ",", 20 - 0.02 * i, ",", 500 + i,
                      ",p", i / 4, "\n");
    }
    WriteAll(dir_.Sub("desc.csv"), csv);
    WriteAll(dir_.Sub("geoloc.json"), model::ModelInfoToJson(TestModel(d_)).value());
  }
  std::string BuildArgs(const std::string& output, const std::string& more = "") const {
    return absl::StrCat("build --output=", output, " --npy=", dir_.Sub("desc.npy"),
                        " --npy_csv=", dir_.Sub("desc.csv"),
                        " --model_info=", dir_.Sub("geoloc.json"), " --log_level=warning ", more);
  }

  ScratchDir dir_;
  const int n_ = 400;
  const int d_ = 16;
};

TEST_F(Cli, BuildInfoVerifyAndTamper) {
  const std::string bundle = dir_.Sub("b");
  CliRun build = RunCli(BuildArgs(bundle, "--index=ivf_flat --shards=2"));
  ASSERT_EQ(build.exit_code, 0) << build.output;
  absl::StatusOr<std::shared_ptr<const Bundle>> loaded = Bundle::Load(bundle);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), n_);
  EXPECT_EQ((*loaded)->metadata().id(7), 507);
  EXPECT_EQ((*loaded)->metadata().group(7), "p1");
  EXPECT_NE(build.output.find((*loaded)->version()), std::string::npos) << build.output;

  CliRun info = RunCli("info " + bundle);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("ivf_flat"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("400 in 2 shard(s)"), std::string::npos) << info.output;
  CliRun json = RunCli("info --json " + bundle);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  BundleManifest parsed;
  ASSERT_TRUE(ParseJsonProto(json.output, &parsed).ok()) << json.output;
  EXPECT_EQ(parsed.version(), (*loaded)->version());

  CliRun verify = RunCli("verify " + bundle + " --model_info=" + dir_.Sub("geoloc.json"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("model matches"), std::string::npos) << verify.output;

  // A model of another dimension: the bundle is fine but does not match it.
  model::ModelInfo other = TestModel(2 * d_);
  WriteAll(dir_.Sub("other.json"), model::ModelInfoToJson(other).value());
  CliRun mismatch = RunCli("verify " + bundle + " --model_info=" + dir_.Sub("other.json"));
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.output;
  EXPECT_NE(mismatch.output.find("dimension: bundle 16, served model 32"), std::string::npos)
      << mismatch.output;

  // One flipped byte in a shard.
  const std::string shard = bundle + "/shards/shard-00001.faiss";
  std::string bytes = ReadAll(shard);
  bytes[bytes.size() / 2] ^= 1;
  WriteAll(shard, bytes);
  CliRun tampered = RunCli("verify " + bundle);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.output;
  EXPECT_NE(tampered.output.find("shards/shard-00001.faiss"), std::string::npos) << tampered.output;
  EXPECT_NE(tampered.output.find("FAILED"), std::string::npos) << tampered.output;
}

TEST_F(Cli, AddExtraAndVerify) {
  const std::string bundle = dir_.Sub("b");
  ASSERT_EQ(RunCli(BuildArgs(bundle)).exit_code, 0);
  WriteAll(dir_.Sub("cells.json"), "{}");
  CliRun add = RunCli("add-extra " + bundle + " --name=cells --file=" + dir_.Sub("cells.json"));
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_EQ(RunCli("verify " + bundle).exit_code, 0);
  WriteAll(bundle + "/cells.json", "{\"x\":1}");
  CliRun verify = RunCli("verify " + bundle);
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_NE(verify.output.find("cells.json"), std::string::npos) << verify.output;
}

TEST_F(Cli, ReportsUsageAndInputErrors) {
  EXPECT_EQ(RunCli("").exit_code, 2);
  EXPECT_EQ(RunCli("frobnicate").exit_code, 2);
  EXPECT_EQ(RunCli("build --npy=x.npy").exit_code, 2);  // no --output
  EXPECT_EQ(RunCli("build --output=" + dir_.Sub("o") + " --csv=a.csv --npy=b.npy").exit_code, 2);
  EXPECT_EQ(RunCli(BuildArgs(dir_.Sub("o"), "--index=kdtree")).exit_code, 2);
  EXPECT_EQ(RunCli("info").exit_code, 2);
  CliRun missing = RunCli("info " + dir_.Sub("nowhere"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
  // Descriptor/metadata row counts that disagree.
  WriteAll(dir_.Sub("short.csv"), "path,lat,lon\na.jpg,1,2\n");
  CliRun rows = RunCli(absl::StrCat(
      "build --output=", dir_.Sub("o"), " --npy=", dir_.Sub("desc.npy"),
      " --npy_csv=", dir_.Sub("short.csv"), " --model_info=", dir_.Sub("geoloc.json")));
  EXPECT_EQ(rows.exit_code, 1);
  EXPECT_NE(rows.output.find("has 400 rows"), std::string::npos) << rows.output;
  // An existing output is not overwritten without --replace.
  ASSERT_EQ(RunCli(BuildArgs(dir_.Sub("o"))).exit_code, 0);
  CliRun again = RunCli(BuildArgs(dir_.Sub("o")));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  EXPECT_EQ(RunCli(BuildArgs(dir_.Sub("o"), "--replace --index=hnsw")).exit_code, 0);
}

}  // namespace
}  // namespace geoloc::index
