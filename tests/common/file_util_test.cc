#include "core/common/file_util.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc {
namespace {
namespace fs = std::filesystem;

class FileUtilTest : public ::testing::Test {
 protected:
  const testing::ScratchDir scratch_{"file-util"};
  const fs::path dir_ = scratch_.path();
};

TEST_F(FileUtilTest, WriteAtomicallyReplacesContentsAndLeavesNoTemporaries) {
  const std::string path = (dir_ / "a.txt").string();
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  auto read = ReadFileToString(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "second, longer");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(FileUtilTest, ReadMissingFileIsNotFound) {
  auto read = ReadFileToString((dir_ / "missing").string());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FileUtilTest, WriteIntoMissingDirectoryFailsCleanly) {
  auto st = WriteFileAtomically((dir_ / "no" / "such" / "dir" / "f").string(), "x");
  EXPECT_FALSE(st.ok());
}

TEST_F(FileUtilTest, StagingDirectoryCommitRenamesIntoPlace) {
  const std::string final_path = (dir_ / "bundle").string();
  auto staging = StagingDirectory::Create(final_path);
  ASSERT_TRUE(staging.ok()) << staging.status();
  EXPECT_NE(staging->path(), final_path);
  EXPECT_EQ(fs::path(staging->path()).filename().string().rfind(".bundle.staging-", 0), 0u);
  std::ofstream(fs::path(staging->path()) / "manifest.json") << "{}";
  EXPECT_FALSE(fs::exists(final_path));
  ASSERT_TRUE(staging->Commit().ok());
  EXPECT_TRUE(fs::exists(fs::path(final_path) / "manifest.json"));
  EXPECT_FALSE(fs::exists(staging->path()));
}

TEST_F(FileUtilTest, StagingDirectoryWithoutCommitRemovesItself) {
  const std::string final_path = (dir_ / "bundle").string();
  std::string staging_path;
  {
    auto staging = StagingDirectory::Create(final_path);
    ASSERT_TRUE(staging.ok());
    staging_path = staging->path();
    std::ofstream(fs::path(staging_path) / "partial") << "half";
    EXPECT_TRUE(fs::exists(staging_path));
  }
  EXPECT_FALSE(fs::exists(staging_path));
  EXPECT_FALSE(fs::exists(final_path));
}

TEST_F(FileUtilTest, StagingDirectoryRefusesExistingTargetUnlessReplacing) {
  const std::string final_path = (dir_ / "bundle").string();
  fs::create_directories(final_path);
  std::ofstream(fs::path(final_path) / "old") << "old";
  EXPECT_EQ(StagingDirectory::Create(final_path).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto staging = StagingDirectory::Create(final_path, /*replace_existing=*/true);
  ASSERT_TRUE(staging.ok());
  std::ofstream(fs::path(staging->path()) / "new") << "new";
  ASSERT_TRUE(staging->Commit().ok());
  EXPECT_TRUE(fs::exists(fs::path(final_path) / "new"));
  EXPECT_FALSE(fs::exists(fs::path(final_path) / "old"));
}

}  // namespace
}  // namespace geoloc
