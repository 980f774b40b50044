// A build that dies at any point must leave nothing that loads as a bundle. Each death test runs
// the build in a child process (gtest's "threadsafe" style re-executes this binary and reruns the
// test up to the death statement, so the child is a clean process, not a fork of a threaded one)
// that SIGKILLs itself right after a stage; the parent then checks what is left on disk.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using testing::GaussianVectors;
using ::geoloc::testing::ScratchDir;
using testing::TestModel;

// A scratch directory the death-test child shares with its parent: the parent creates it and
// passes its path through the environment; the child (which reruns the test from the start)
// finds it there instead of making its own.
class DeathTestDir {
 public:
  DeathTestDir() {
    if (const char* inherited = ::getenv(kEnv)) {
      path_ = inherited;
      return;
    }
    owned_.emplace("crash");
    path_ = owned_->path();
    ::setenv(kEnv, path_.c_str(), 1);
  }
  ~DeathTestDir() {
    if (owned_.has_value()) ::unsetenv(kEnv);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  static constexpr const char* kEnv = "GEOLOC_INDEX_CRASH_TEST_DIR";
  std::optional<ScratchDir> owned_;  // in the parent; the child only borrows the path
  std::string path_;
};
using testing::TestRows;

constexpr int kDim = 16;
constexpr int64_t kRows = 2000;

BundleWriteOptions Options(const std::string& output, IndexType type) {
  BundleWriteOptions o;
  o.output = output;
  o.index.type = type;
  o.shards = 3;
  o.show_progress = false;
  return o;
}

absl::Status Build(const BundleWriteOptions& options) {
  const auto x = GaussianVectors(kRows, kDim, 3, true);
  return WriteBundle(x.data(), kRows, TestModel(kDim), TestRows(kRows), options).status();
}

// Runs a build that kills itself with SIGKILL right after `stage`.
void BuildAndDieAt(const std::string& output, IndexType type, const std::string& stage) {
  BundleWriteOptions o = Options(output, type);
  o.stage_hook = [stage](absl::string_view s) {
    if (s == stage) ::raise(SIGKILL);
    return absl::OkStatus();
  };
  (void)Build(o);
  std::_Exit(0);  // reached only if the stage never came: the death test then fails
}

class CrashSafety : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_P(CrashSafety, KilledBuildLeavesNothingLoadable) {
  DeathTestDir dir;
  const std::string output = dir.file("bundle");
  const IndexType type = GetParam() == "trained" ? IndexType::kIvfFlat : IndexType::kFlat;
  EXPECT_EXIT(BuildAndDieAt(output, type, GetParam()), ::testing::KilledBySignal(SIGKILL), "");

  // Nothing at the target path, so nothing loads from it.
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(Bundle::Load(output).status().code(), absl::StatusCode::kNotFound);
  // The killed build's staging directory is left behind; loaders refuse staging directories
  // (and before the "manifest" stage it has no manifest at all).
  const std::vector<std::string> stale = FindStaleStagingDirectories(output);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_FALSE(Bundle::Load(stale[0]).ok());
  // A new build of the same target is not blocked by the leftover and loads.
  ASSERT_TRUE(Build(Options(output, type)).ok());
  EXPECT_TRUE(Bundle::Load(output).ok());
}

INSTANTIATE_TEST_SUITE_P(Stages, CrashSafety,
                         ::testing::Values("start", "trained", "shard-0", "shard-1", "shard-2",
                                           "metadata", "extras", "manifest"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// A failure injected at any stage cleans up: no target, no staging directory.
TEST(CrashSafetyHook, FailedStageRemovesEverything) {
  for (const std::string stage :
       {"start", "trained", "shard-1", "metadata", "extras", "manifest"}) {
    ScratchDir dir;
    const std::string output = dir.file("bundle");
    BundleWriteOptions o = Options(output, IndexType::kIvfPq);
    o.stage_hook = [stage](absl::string_view s) {
      return s == stage ? absl::InternalError("injected") : absl::OkStatus();
    };
    absl::Status st = Build(o);
    EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << stage;
    EXPECT_NE(st.message().find(stage), std::string::npos) << st;
    EXPECT_FALSE(fs::exists(output)) << stage;
    EXPECT_TRUE(FindStaleStagingDirectories(output).empty()) << stage;
  }
}

// Replacing an existing bundle is atomic too: a killed replacement keeps the old bundle.
TEST(CrashSafetyHook, KilledReplacementKeepsTheOldBundle) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeathTestDir dir;
  const std::string output = dir.file("bundle");
  if (!fs::exists(output)) {
    ASSERT_TRUE(Build(Options(output, IndexType::kFlat)).ok());
  }
  const std::string old_version = (*Bundle::Load(output))->version();
  EXPECT_EXIT(
      {
        BundleWriteOptions o = Options(output, IndexType::kHnsw);
        o.replace_existing = true;
        o.stage_hook = [](absl::string_view s) {
          if (s == "manifest") ::raise(SIGKILL);
          return absl::OkStatus();
        };
        (void)Build(o);
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(output);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->version(), old_version);
  EXPECT_EQ((*b)->index_type(), IndexType::kFlat);
}

}  // namespace
}  // namespace geoloc::index
