#include "core/common/progress.h"

#include "gtest/gtest.h"

namespace geoloc {
namespace {

TEST(ProgressTest, FormatsRateAndEta) {
  // 250 of 1000 in 10 s: 25/s, 750 left -> 30 s.
  EXPECT_EQ(ProgressReporter::FormatLine(250, 1000, 10.0, "img"),
            "250/1000 (25.0%) 25.0 img/s ETA 0:30 elapsed 0:10");
}

TEST(ProgressTest, UnknownTotalHasNoEta) {
  EXPECT_EQ(ProgressReporter::FormatLine(50, 0, 5.0, "img"), "50 img, 10.0 img/s elapsed 0:05");
}

TEST(ProgressTest, LongEtaUsesHours) {
  EXPECT_EQ(ProgressReporter::FormatLine(1, 10000, 1.0, "img"),
            "1/10000 (0.0%) 1.0 img/s ETA 2:46:39 elapsed 0:01");
}

TEST(ProgressTest, CountsFromThreads) {
  ProgressReporter p("t", 100);
  for (int i = 0; i < 10; ++i) p.Add(3);
  EXPECT_EQ(p.done(), 30);
}

}  // namespace
}  // namespace geoloc
