#include "core/places/place_description.h"

#include <cmath>

#include "gtest/gtest.h"

namespace geoloc::places {
namespace {

TEST(PlaceDescriptionTest, CompassPointOwnsTheSectorCentredOnIt) {
  struct Case {
    double bearing;
    const char* expected;
  };
  for (const Case& c : {Case{0, "N"}, Case{22.49, "N"}, Case{22.5, "NE"}, Case{45, "NE"},
                        Case{67.49, "NE"}, Case{67.5, "E"}, Case{90, "E"}, Case{135, "SE"},
                        Case{180, "S"}, Case{202.5, "SW"}, Case{270, "W"}, Case{292.5, "NW"},
                        Case{337.49, "NW"}, Case{337.5, "N"}, Case{359.99, "N"}, Case{360, "N"},
                        Case{-45, "NW"}, Case{405, "NE"}, Case{std::nan(""), "N"}}) {
    EXPECT_EQ(CompassPoint(c.bearing), c.expected) << c.bearing;
  }
}

TEST(PlaceDescriptionTest, LabelLeavesOutEmptyAndRepeatedParts) {
  Place p;
  p.name = "Anadyr";
  p.region = "Chukotka";
  p.country = "Russia";
  EXPECT_EQ(PlaceLabel(p), "Anadyr, Chukotka, Russia");
  p.region = "";
  EXPECT_EQ(PlaceLabel(p), "Anadyr, Russia");
  p.name = "Singapore";
  p.country = "Singapore";
  EXPECT_EQ(PlaceLabel(p), "Singapore");
  p.name = "Luxembourg";
  p.region = "Luxembourg";
  p.country = "Luxembourg";
  EXPECT_EQ(PlaceLabel(p), "Luxembourg");
  p.name = "Mexico City";
  p.region = "Mexico City";
  p.country = "Mexico";
  EXPECT_EQ(PlaceLabel(p), "Mexico City, Mexico");
}

TEST(PlaceDescriptionTest, DistanceIsToldToOneDecimalBelowTenKmAndWholeAbove) {
  NearbyPlace n;
  n.place.name = "Anadyr";
  n.place.region = "Chukotka";
  n.place.country = "Russia";
  n.bearing_deg = 44;
  n.distance_km = 3.24;
  EXPECT_EQ(DescribeNearby(n), "3.2 km NE of Anadyr, Chukotka, Russia");
  n.distance_km = 0.05;
  EXPECT_EQ(DescribeNearby(n), "0.1 km NE of Anadyr, Chukotka, Russia");
  n.distance_km = 0.049;
  EXPECT_EQ(DescribeNearby(n), "Anadyr, Chukotka, Russia");
  n.distance_km = 37.4;
  n.bearing_deg = 225;
  EXPECT_EQ(DescribeNearby(n), "37 km SW of Anadyr, Chukotka, Russia");
  n.distance_km = 1234.6;
  EXPECT_EQ(DescribeNearby(n), "1235 km SW of Anadyr, Chukotka, Russia");
  n.distance_km = std::nan("");
  EXPECT_EQ(DescribeNearby(n), "Anadyr, Chukotka, Russia");
}

}  // namespace
}  // namespace geoloc::places
