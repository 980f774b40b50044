#include "core/model/openmp_threads.h"

#include <omp.h>

#include <thread>

#include "gtest/gtest.h"

namespace geoloc::model {
namespace {

// The size of the team a parallel region on this thread gets.
int TeamSize() {
  int size = 0;
#pragma omp parallel
  {
#pragma omp single
    size = omp_get_num_threads();
  }
  return size;
}

TEST(OpenMpThreadCapTest, CapsThisThreadsRegionsAndRestoresOnExit) {
  omp_set_num_threads(3);
  ASSERT_EQ(TeamSize(), 3);
  EXPECT_EQ(CurrentOpenMpThreadCap(), 0);
  {
    OpenMpThreadCap one(1);
    EXPECT_EQ(CurrentOpenMpThreadCap(), 1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    EXPECT_EQ(TeamSize(), 1);
  }
  EXPECT_EQ(CurrentOpenMpThreadCap(), 0);
  EXPECT_EQ(omp_get_max_threads(), 3);
  EXPECT_EQ(TeamSize(), 3);
}

TEST(OpenMpThreadCapTest, InnerCapsOnlyLowerTheCount) {
  omp_set_num_threads(4);
  {
    OpenMpThreadCap two(2);
    {
      OpenMpThreadCap eight(8);  // cannot raise the outer cap
      EXPECT_EQ(CurrentOpenMpThreadCap(), 2);
      EXPECT_EQ(omp_get_max_threads(), 2);
      OpenMpThreadCap one(1);
      EXPECT_EQ(CurrentOpenMpThreadCap(), 1);
      EXPECT_EQ(omp_get_max_threads(), 1);
    }
    EXPECT_EQ(CurrentOpenMpThreadCap(), 2);
    EXPECT_EQ(omp_get_max_threads(), 2);
  }
  EXPECT_EQ(omp_get_max_threads(), 4);
}

TEST(OpenMpThreadCapTest, ACapAboveTheCountLeavesTheCountAndZeroMeansOne) {
  omp_set_num_threads(2);
  {
    OpenMpThreadCap eight(8);
    EXPECT_EQ(omp_get_max_threads(), 2);
    EXPECT_EQ(CappedThreads(6), 6);
    EXPECT_EQ(CappedThreads(12), 8);
  }
  {
    OpenMpThreadCap zero(0);
    EXPECT_EQ(CurrentOpenMpThreadCap(), 1);
    EXPECT_EQ(CappedThreads(2), 1);
  }
  EXPECT_EQ(CappedThreads(5), 5);  // no cap in force
}

TEST(OpenMpThreadCapTest, OtherThreadsAreNotCapped) {
  omp_set_num_threads(2);
  OpenMpThreadCap one(1);
  int cap_elsewhere = -1;
  int team_elsewhere = 0;
  std::thread other([&] {
    omp_set_num_threads(2);
    cap_elsewhere = CurrentOpenMpThreadCap();
    team_elsewhere = TeamSize();
  });
  other.join();
  EXPECT_EQ(cap_elsewhere, 0);
  EXPECT_EQ(team_elsewhere, 2);
  EXPECT_EQ(TeamSize(), 1);
}

}  // namespace
}  // namespace geoloc::model
