#include "core/index/vpr_filename.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace geoloc::index {
namespace {

TEST(VprFilename, ParsesRealWorldNames) {
  struct Case {
    const char* name;
    double lat, lon;
  };
  const Case cases[] = {
      // San Francisco (sf_xs), pano id and timestamp present.
      {"@0549926.91@4180064.37@10@S@37.76844@-122.43281@b7tO3P_sP6qSH2jiuKCT5w@@0@@@@201311@@.jpg",
       37.76844, -122.43281},
      // Pitts30k style, mostly empty trailing fields, inside directories.
      {"/data/pitts30k/images/test/database/@0584302.47@4477218.45@17@T@40.44062@-80.00191@"
       "000000@00@@@@@@@.jpg",
       40.44062, -80.00191},
      // Southern and eastern hemispheres, integer-looking coordinates.
      {"@0334635.11@6252071.48@56@H@-33@151@@@@@@@@@.png", -33, 151},
      // Only the six required fields.
      {"@1@2@3@N@0.5@-0.25@", 0.5, -0.25},
  };
  for (const Case& c : cases) {
    absl::StatusOr<geo::LatLon> p = ParseVprFilename(c.name);
    ASSERT_TRUE(p.ok()) << c.name << ": " << p.status();
    EXPECT_DOUBLE_EQ(p->lat, c.lat) << c.name;
    EXPECT_DOUBLE_EQ(p->lon, c.lon) << c.name;
  }
}

TEST(VprFilename, RejectsOtherNames) {
  const char* bad[] = {
      "IMG_2024.jpg",             // not a VPR name
      "",                         // empty
      "/dir/@1@2@3@N@45.0.jpg",   // too few fields
      "@1@2@3@N@north@10@@.jpg",  // latitude not a number
      "@1@2@3@N@10@east@@.jpg",   // longitude not a number
      "@1@2@3@N@95.5@10@@.jpg",   // latitude out of range
      "@1@2@3@N@10@-190@@.jpg",   // longitude out of range
      "@1@2@3@N@nan@10@@.jpg",    // NaN
      "@1@2@3@N@@10@@.jpg",       // empty latitude
      "dir@1@2@3@N@10@10@@.jpg",  // base name does not start with '@'
  };
  for (const char* name : bad) {
    EXPECT_EQ(ParseVprFilename(name).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

}  // namespace
}  // namespace geoloc::index
