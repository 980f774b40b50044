#include "server/auth.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::server {
namespace {

TEST(TokenSetTest, CaseTable) {
  TokenSet none;
  EXPECT_TRUE(none.Check("", false).ok());  // authentication disabled

  TokenSet set = TokenSet::FromTokens({"alpha-123", "beta-456"});
  EXPECT_EQ(set.Check("", false).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(set.Check("alpha-123", true).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(set.Check("Basic alpha-123", true).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(set.Check("Bearer ", true).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(set.Check("Bearer alpha-12", true).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(set.Check("Bearer alpha-1234", true).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(set.Check("Bearer alpha-123", true).ok());
  EXPECT_TRUE(set.Check("bearer beta-456", true).ok());  // the scheme is case-insensitive
}

TEST(TokenSetTest, NamesTheCallerWithoutKeepingTheToken) {
  const testing::ScratchDir dir("auth-names");
  const std::string path = dir.file("tokens");
  testing::WriteTestFile(path, "# name token\ndispatch-north s3cret-A\nplain-token\n"
                               "ops\ts3cret-B\n");
  auto set = TokenSet::Load(path, "");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 3u);
  std::string caller = "unchanged";
  ASSERT_TRUE(set->Check("Bearer s3cret-A", true, &caller).ok());
  EXPECT_EQ(caller, "dispatch-north");
  ASSERT_TRUE(set->Check("Bearer s3cret-B", true, &caller).ok());
  EXPECT_EQ(caller, "ops");
  ASSERT_TRUE(set->Check("Bearer plain-token", true, &caller).ok());
  EXPECT_EQ(caller, "token-2");  // unnamed: its position
  caller = "unchanged";
  EXPECT_EQ(set->Check("Bearer dispatch-north", true, &caller).code(),
            absl::StatusCode::kPermissionDenied);  // a name is not a token
  EXPECT_EQ(caller, "unchanged");
  // A repeated token keeps its first name.
  TokenSet twice = TokenSet::FromNamedTokens({{"first", "t"}, {"second", "t"}, {"other", "u"}});
  ASSERT_TRUE(twice.Check("Bearer u", true, &caller).ok());
  EXPECT_EQ(caller, "other");
  ASSERT_TRUE(twice.Check("Bearer t", true, &caller).ok());
  EXPECT_EQ(caller, "first");
  // Three fields on a line is a mistake, not a token with a space.
  testing::WriteTestFile(path, "a b c\n");
  EXPECT_EQ(TokenSet::Load(path, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenSetTest, LoadsFilesWithCommentsAndPrefersTheFileOverTheEnvironment) {
  const testing::ScratchDir dir("auth");
  const std::filesystem::path path = dir.file("tokens");
  std::ofstream(path) << "# rotated 2026-11\n\n  new-token  \nold-token\n";
  ::setenv("GEOLOC_AUTH_TEST_ENV", "env-token", 1);
  auto set = TokenSet::Load(path.string(), "GEOLOC_AUTH_TEST_ENV");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_TRUE(set->Check("Bearer new-token", true).ok());
  EXPECT_TRUE(set->Check("Bearer old-token", true).ok());
  EXPECT_EQ(set->Check("Bearer env-token", true).code(), absl::StatusCode::kPermissionDenied);

  auto from_env = TokenSet::Load("", "GEOLOC_AUTH_TEST_ENV");
  ASSERT_TRUE(from_env.ok());
  EXPECT_TRUE(from_env->Check("Bearer env-token", true).ok());
  ::unsetenv("GEOLOC_AUTH_TEST_ENV");
  auto unset = TokenSet::Load("", "GEOLOC_AUTH_TEST_ENV");
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->enabled());

  std::ofstream(path) << "# only comments\n\n";
  EXPECT_EQ(TokenSet::Load(path.string(), "").status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
  EXPECT_EQ(TokenSet::Load(path.string(), "").status().code(), absl::StatusCode::kNotFound);
}

TEST(AuthStateTest, FailedReloadKeepsThePreviousTokens) {
  const testing::ScratchDir dir("auth-state");
  const std::filesystem::path path = dir.file("tokens");
  std::ofstream(path) << "first\n";
  AuthState state(path.string(), "", "", "");
  ASSERT_TRUE(state.Reload().ok());
  EXPECT_TRUE(state.client()->Check("Bearer first", true).ok());
  std::ofstream(path) << "second\n";
  ASSERT_TRUE(state.Reload().ok());
  EXPECT_TRUE(state.client()->Check("Bearer second", true).ok());
  EXPECT_FALSE(state.client()->Check("Bearer first", true).ok());
  std::filesystem::remove(path);
  EXPECT_FALSE(state.Reload().ok());
  EXPECT_TRUE(state.client()->Check("Bearer second", true).ok());
}

}  // namespace
}  // namespace geoloc::server
