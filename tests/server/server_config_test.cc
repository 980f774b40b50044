// ValidateServerConfig: each refused value names its flag.
#include "server/server_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server_flags.h"

namespace geoloc::server {
namespace {

using ::testing::HasSubstr;

ServerConfig Valid() {
  ServerConfig c;
  c.model_path = "model.pt";
  c.bundle_path = "bundle";
  return c;
}

TEST(ServerConfigTest, TheDefaultsWithAModelAndABundleAreValid) {
  EXPECT_TRUE(ValidateServerConfig(Valid()).ok());
}

TEST(ServerConfigTest, BatchWorkersOutsideTheirRangeAreRefusedByName) {
  for (int workers : {0, 1, 2, kMaxBatchWorkers}) {
    ServerConfig c = Valid();
    c.batch_workers = workers;
    EXPECT_TRUE(ValidateServerConfig(c).ok()) << workers;
  }
  for (int workers : {-1, kMaxBatchWorkers + 1}) {
    ServerConfig c = Valid();
    c.batch_workers = workers;
    const absl::Status st = ValidateServerConfig(c);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << workers;
    EXPECT_THAT(st.message(), HasSubstr("--batch_workers: must be in [0, 16]")) << workers;
  }
}

}  // namespace
}  // namespace geoloc::server
