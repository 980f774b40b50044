#include "core/model/openmp_spin.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::model {
namespace {

using ::testing::HasSubstr;

TEST(OpenMpSpinAdviceTest, SilentWhenEitherVariableBoundsTheSpin) {
  EXPECT_EQ(OpenMpSpinAdvice("10000", nullptr), "");
  EXPECT_EQ(OpenMpSpinAdvice(nullptr, "PASSIVE"), "");
  EXPECT_EQ(OpenMpSpinAdvice("0", "ACTIVE"), "");
}

TEST(OpenMpSpinAdviceTest, WarnsWhenNeitherIsSetOrBothAreEmpty) {
  for (const char* empty : {static_cast<const char*>(nullptr), ""}) {
    const std::string advice = OpenMpSpinAdvice(empty, empty);
    EXPECT_THAT(advice, HasSubstr("GOMP_SPINCOUNT=10000"));
    EXPECT_THAT(advice, HasSubstr("OMP_WAIT_POLICY"));
  }
}

}  // namespace
}  // namespace geoloc::model
