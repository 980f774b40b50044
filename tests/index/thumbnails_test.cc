// The thumbnail file (core/index/thumbnails.h): round trip, rows without a thumbnail, and the
// clear errors a damaged or mismatched file gets.
#include "core/index/thumbnails.h"

#include <string>
#include <vector>

#include "core/common/file_util.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ScratchDir;

TEST(ThumbnailsTest, RoundTripKeepsEveryRowsBytesInOrder) {
  ScratchDir dir;
  const std::string path = dir.file("thumbnails.bin");
  const std::vector<std::string> jpegs = {"first", "", std::string("\0\xff\x01", 3), "last row"};
  ASSERT_TRUE(WriteThumbnailFile(path, 96, jpegs).ok());
  auto store = ThumbnailStore::Open(path, 4);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->max_side(), 96);
  EXPECT_EQ((*store)->rows(), 4);
  for (int r = 0; r < 4; ++r) EXPECT_EQ((*store)->Get(r), jpegs[r]) << r;
  EXPECT_TRUE((*store)->Get(-1).empty());
  EXPECT_TRUE((*store)->Get(4).empty());
}

TEST(ThumbnailsTest, DamagedAndMismatchedFilesAreRefused) {
  ScratchDir dir;
  const std::string path = dir.file("thumbnails.bin");
  ASSERT_TRUE(WriteThumbnailFile(path, 160, {"aaaa", "bbbbbb"}).ok());
  EXPECT_EQ(ThumbnailStore::Open(path, 3).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string good = *ReadFileToString(path);

  auto refused = [&](const std::string& bytes) {
    const std::string bad = dir.file("bad.bin");
    EXPECT_TRUE(WriteFileAtomically(bad, bytes).ok());
    return ThumbnailStore::Open(bad, 2).status();
  };
  EXPECT_EQ(refused(good.substr(0, good.size() - 1)).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(refused(good + "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(refused("not a thumbnail file at all, but long enough").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(refused("").code(), absl::StatusCode::kDataLoss);
  std::string backwards = good;
  backwards[backwards.size() - 10 - 8 - 8] = 11;  // row 1 ends at 11, after row 2 (10)
  EXPECT_EQ(refused(backwards).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ThumbnailStore::Open(dir.file("none.bin"), 2).status().code(),
            absl::StatusCode::kNotFound);

  EXPECT_EQ(WriteThumbnailFile(path, 8, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteThumbnailFile(path, 4096, {}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::index
