#include "server/bundle_path_policy.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::server {
namespace {
namespace fs = std::filesystem;

class BundlePathPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = scratch_.path();
    root_ = base_ / "bundles";
    fs::create_directories(root_ / "v1");
    fs::create_directories(root_ / "v2");
    fs::create_directories(base_ / "outside");
    fs::create_directory_symlink(root_ / "v2", root_ / "current");
    fs::create_directory_symlink(base_ / "outside", root_ / "escape");
    fs::create_directories(base_ / "bundles-evil");  // shares the root's name as a prefix
  }
  testing::ScratchDir scratch_{"path-policy"};
  fs::path base_, root_;
};

TEST_F(BundlePathPolicyTest, PathsInsideTheRootResolve) {
  auto a = ResolveBundlePath(root_.string(), "v1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, fs::canonical(root_ / "v1").string());
  auto b = ResolveBundlePath(root_.string(), (root_ / "v1").string());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a);
  auto c = ResolveBundlePath(root_.string(), "current");  // a link inside the root
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, fs::canonical(root_ / "v2").string());
}

TEST_F(BundlePathPolicyTest, EscapesAreDenied) {
  EXPECT_EQ(ResolveBundlePath(root_.string(), "../outside").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveBundlePath(root_.string(), "v1/../../outside").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveBundlePath(root_.string(), "/etc").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveBundlePath(root_.string(), (base_ / "bundles-evil").string()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveBundlePath(root_.string(), "escape").status().code(),
            absl::StatusCode::kPermissionDenied);
  // Outside paths are refused whether or not they exist (nothing leaks about the file system).
  EXPECT_EQ(ResolveBundlePath(root_.string(), "../no-such-dir").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(BundlePathPolicyTest, MissingAndEmptyPaths) {
  EXPECT_EQ(ResolveBundlePath(root_.string(), "v9").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ResolveBundlePath(root_.string(), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveBundlePath(root_.string(), std::string("v1\0x", 4)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::server
