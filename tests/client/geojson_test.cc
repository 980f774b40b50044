// GeoJSON geometry: antimeridian cuts, pole caps, orientation, geodesic circles; and the
// FeatureCollection a LocateResponse becomes. Expected values come from plane geometry and the
// haversine formula, computed here independently of the code under test.
#include "client/geojson.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace geoloc::client {
namespace {

constexpr double kPi = 3.14159265358979323846;

v1::LatLng LL(double lat, double lon) {
  v1::LatLng p;
  p.set_latitude(lat);
  p.set_longitude(lon);
  return p;
}

// Shoelace area of a closed ring in the lon/lat plane; positive when counter-clockwise.
double Area(const Ring& ring) {
  double twice = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    twice += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  }
  return twice / 2;
}

void ExpectClosedAndInRange(const Ring& ring) {
  ASSERT_GE(ring.size(), 4u);
  EXPECT_EQ(ring.front().lon, ring.back().lon);
  EXPECT_EQ(ring.front().lat, ring.back().lat);
  for (const LonLat& p : ring) {
    EXPECT_GE(p.lon, -180.0);
    EXPECT_LE(p.lon, 180.0);
    EXPECT_GE(p.lat, -90.0);
    EXPECT_LE(p.lat, 90.0);
  }
}

double HaversineKm(double lat1, double lon1, double lat2, double lon2) {
  const double r = kPi / 180;
  const double a =
      std::pow(std::sin((lat2 - lat1) * r / 2), 2) +
      std::cos(lat1 * r) * std::cos(lat2 * r) * std::pow(std::sin((lon2 - lon1) * r / 2), 2);
  return 2 * 6371.0088 * std::asin(std::sqrt(a));
}

TEST(SplitRingTest, OrdinaryRingIsClosedAndUnchanged) {
  const std::vector<v1::LatLng> square = {LL(0, 10), LL(0, 11), LL(1, 11), LL(1, 10)};
  std::vector<Ring> rings = SplitRingAtAntimeridian(square);
  ASSERT_EQ(rings.size(), 1u);
  ExpectClosedAndInRange(rings[0]);
  ASSERT_EQ(rings[0].size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rings[0][i].lon, square[i].longitude());
    EXPECT_EQ(rings[0][i].lat, square[i].latitude());
  }
  EXPECT_DOUBLE_EQ(Area(rings[0]), 1.0);
}

TEST(SplitRingTest, RingAcrossTheAntimeridianIsCutInTwo) {
  // 0.2 x 0.2 degrees centred on the antimeridian, counter-clockwise.
  const std::vector<v1::LatLng> square = {LL(-17.1, 179.9), LL(-17.1, -179.9), LL(-16.9, -179.9),
                                          LL(-16.9, 179.9)};
  std::vector<Ring> rings = SplitRingAtAntimeridian(square);
  ASSERT_EQ(rings.size(), 2u);
  double total = 0;
  bool east = false;
  bool west = false;
  for (const Ring& ring : rings) {
    ExpectClosedAndInRange(ring);
    EXPECT_GT(Area(ring), 0);  // counter-clockwise
    total += Area(ring);
    double min_lon = 180, max_lon = -180;
    for (const LonLat& p : ring) {
      min_lon = std::min(min_lon, p.lon);
      max_lon = std::max(max_lon, p.lon);
    }
    EXPECT_LT(max_lon - min_lon, 1.0) << "a part still spans the map";
    east |= std::abs(min_lon - 179.9) < 1e-9 && max_lon == 180.0;
    west |= min_lon == -180.0 && std::abs(max_lon + 179.9) < 1e-9;
  }
  EXPECT_TRUE(east);
  EXPECT_TRUE(west);
  EXPECT_NEAR(total, 0.04, 1e-9);
}

TEST(SplitRingTest, RingAroundTheNorthPoleBecomesACap) {
  // Eight vertices at 88N going east: counter-clockwise around the pole.
  std::vector<v1::LatLng> ring;
  for (int i = 0; i < 8; ++i) ring.push_back(LL(88, -180 + 45 * i));
  std::vector<Ring> rings = SplitRingAtAntimeridian(ring);
  ASSERT_EQ(rings.size(), 1u);
  ExpectClosedAndInRange(rings[0]);
  // The band from 88 to 90 across all longitudes: 360 x 2 square degrees.
  EXPECT_NEAR(Area(rings[0]), 720.0, 1e-9);
  int at_pole = 0;
  for (const LonLat& p : rings[0]) at_pole += p.lat == 90.0;
  EXPECT_GE(at_pole, 2);
}

TEST(SplitRingTest, RingAroundTheSouthPoleBecomesACap) {
  // Going west at 85S, starting off the antimeridian: counter-clockwise around the south pole.
  std::vector<v1::LatLng> ring;
  for (int i = 0; i < 12; ++i) {
    double lon = 10 - 30 * i;
    if (lon < -180) lon += 360;
    ring.push_back(LL(-85, lon));
  }
  std::vector<Ring> rings = SplitRingAtAntimeridian(ring);
  double total = 0;
  for (const Ring& piece : rings) {
    ExpectClosedAndInRange(piece);
    EXPECT_GT(Area(piece), 0);
    for (const LonLat& p : piece) EXPECT_LE(p.lat, -85.0 + 1e-9);
    total += Area(piece);
  }
  EXPECT_NEAR(total, 360.0 * 5, 1e-6);
}

TEST(SplitRingTest, ClockwiseRingIsReversed) {
  const std::vector<v1::LatLng> clockwise = {LL(0, 10), LL(1, 10), LL(1, 11), LL(0, 11)};
  std::vector<Ring> rings = SplitRingAtAntimeridian(clockwise);
  ASSERT_EQ(rings.size(), 1u);
  EXPECT_DOUBLE_EQ(Area(rings[0]), 1.0);
}

TEST(SplitRingTest, DegenerateRingsYieldNothing) {
  EXPECT_TRUE(SplitRingAtAntimeridian({}).empty());
  EXPECT_TRUE(SplitRingAtAntimeridian({LL(0, 0), LL(1, 1)}).empty());
}

TEST(GeodesicCircleTest, PointsLieAtTheRadiusCounterClockwise) {
  const v1::LatLng center = LL(48.8582, 2.2945);
  std::vector<v1::LatLng> circle = GeodesicCircle(center, 25.0, 64);
  ASSERT_EQ(circle.size(), 64u);
  for (const v1::LatLng& p : circle) {
    EXPECT_NEAR(HaversineKm(48.8582, 2.2945, p.latitude(), p.longitude()), 25.0, 1e-6);
  }
  std::vector<Ring> rings = SplitRingAtAntimeridian(circle);
  ASSERT_EQ(rings.size(), 1u);
  EXPECT_GT(Area(rings[0]), 0);
}

TEST(GeodesicCircleTest, CircleOverTheAntimeridianIsSplit) {
  std::vector<Ring> rings = SplitRingAtAntimeridian(GeodesicCircle(LL(-17, 179.95), 30, 64));
  EXPECT_EQ(rings.size(), 2u);
  for (const Ring& ring : rings) ExpectClosedAndInRange(ring);
}

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

TEST(GeoJsonBuilderTest, LocateResponseBecomesFeatures) {
  v1::LocateResponse response;
  response.mutable_best()->mutable_location()->set_latitude(10);
  response.mutable_best()->mutable_location()->set_longitude(20);
  response.mutable_best()->set_uncertainty_km(5);
  v1::Peak* peak = response.add_peaks();
  *peak->mutable_location() = LL(10, 20);
  peak->set_mass(1);
  peak->set_radius_km(3);
  v1::CellConfidence* cell = response.add_cells();
  cell->set_token("abc");
  cell->set_level(10);
  cell->set_weight_share(0.5);
  *cell->mutable_center() = LL(10, 20);
  for (const v1::LatLng& p : {LL(9, 19), LL(9, 21), LL(11, 21), LL(11, 19)}) {
    *cell->add_polygon() = p;
  }
  v1::CellConfidence* no_polygon = response.add_cells();
  no_polygon->set_token("def");
  *no_polygon->mutable_center() = LL(1, 2);

  GeoJsonBuilder builder;
  builder.AddLocateResponse("img.jpg", response);
  absl::StatusOr<std::string> json = builder.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  google::protobuf::Struct collection = ParseStruct(*json);
  EXPECT_EQ(collection.fields().at("type").string_value(), "FeatureCollection");
  const auto& features = collection.fields().at("features").list_value().values();
  // best point + best circle + peak point + peak circle + cell polygon + cell point.
  ASSERT_EQ(features.size(), 6);
  std::vector<std::string> kinds;
  for (const auto& feature : features) {
    const auto& fields = feature.struct_value().fields();
    kinds.push_back(fields.at("properties").struct_value().fields().at("kind").string_value());
    EXPECT_EQ(fields.at("properties").struct_value().fields().at("image").string_value(),
              "img.jpg");
  }
  EXPECT_THAT(kinds, ::testing::ElementsAre("estimate", "estimate_uncertainty", "peak",
                                            "peak_radius", "cell", "cell"));
  const auto& peak_geometry = features[2].struct_value().fields().at("geometry").struct_value();
  EXPECT_EQ(peak_geometry.fields().at("type").string_value(), "Point");
  const auto& position = peak_geometry.fields().at("coordinates").list_value().values();
  EXPECT_EQ(position[0].number_value(), 20);  // longitude first
  EXPECT_EQ(position[1].number_value(), 10);
  const auto& cell_point = features[5].struct_value().fields().at("geometry").struct_value();
  EXPECT_EQ(cell_point.fields().at("type").string_value(), "Point");
}

// A calibrated answer: one region across the antimeridian with a hole, one that is the whole
// Earth, one that is empty; the best estimate carries the calibrated probabilities.
TEST(GeoJsonBuilderTest, RegionsBecomeMultiPolygonsWithTheirLevelAndArea) {
  v1::LocateResponse response;
  *response.mutable_best()->mutable_location() = LL(0, 179.5);
  response.set_calibrated(true);
  response.set_localizable_probability(0.4);
  v1::WithinProbability* w = response.add_within();
  w->set_threshold_km(25);
  w->set_probability(0.3);
  v1::ConfidenceRegion* region = response.add_regions();
  region->set_level(0.5);
  region->set_guaranteed_coverage(0.52);
  region->set_area_km2(1234);
  v1::RegionPiece* piece = region->add_pieces();
  piece->set_area_km2(1234);
  for (const v1::LatLng& p : {LL(-2, 178), LL(-2, -178), LL(2, -178), LL(2, 178)}) {
    *piece->mutable_exterior()->add_vertices() = p;
  }
  // A clockwise hole east of the antimeridian cut (in the western hemisphere's piece).
  v1::Ring* hole = piece->add_holes();
  for (const v1::LatLng& p : {LL(-1, -179.5), LL(1, -179.5), LL(1, -178.5), LL(-1, -178.5)}) {
    *hole->add_vertices() = p;
  }
  v1::ConfidenceRegion* whole = response.add_regions();
  whole->set_level(0.95);
  whole->set_guaranteed_coverage(1);
  whole->set_whole_sphere(true);
  whole->set_area_km2(510065881);
  v1::ConfidenceRegion* empty = response.add_regions();
  empty->set_level(0.1);

  GeoJsonBuilder builder;
  builder.AddLocateResponse("img.jpg", response);
  absl::StatusOr<std::string> json = builder.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  const google::protobuf::Struct collection = ParseStruct(*json);
  const auto& features = collection.fields().at("features").list_value().values();
  std::vector<const google::protobuf::Struct*> regions;
  const google::protobuf::Struct* best = nullptr;
  for (const auto& f : features) {
    const auto& props = f.struct_value().fields().at("properties").struct_value();
    if (props.fields().at("kind").string_value() == "region") regions.push_back(&f.struct_value());
    if (props.fields().at("kind").string_value() == "estimate") best = &props;
  }
  ASSERT_NE(best, nullptr);
  EXPECT_TRUE(best->fields().at("calibrated").bool_value());
  EXPECT_DOUBLE_EQ(best->fields().at("localizable_probability").number_value(), 0.4);
  EXPECT_DOUBLE_EQ(best->fields()
                       .at("within")
                       .list_value()
                       .values(0)
                       .struct_value()
                       .fields()
                       .at("probability")
                       .number_value(),
                   0.3);
  ASSERT_EQ(regions.size(), 3u);
  const auto& props0 = regions[0]->fields().at("properties").struct_value().fields();
  EXPECT_DOUBLE_EQ(props0.at("level").number_value(), 0.5);
  EXPECT_DOUBLE_EQ(props0.at("area_km2").number_value(), 1234);
  EXPECT_TRUE(props0.at("calibrated").bool_value());
  const auto& geometry = regions[0]->fields().at("geometry").struct_value().fields();
  EXPECT_EQ(geometry.at("type").string_value(), "MultiPolygon");
  // Cut at the antimeridian: two polygons; the hole goes with the western one.
  const auto& polygons = geometry.at("coordinates").list_value().values();
  ASSERT_EQ(polygons.size(), 2);
  int with_hole = -1, west = -1;
  for (int i = 0; i < 2; ++i) {
    const auto& rings = polygons[i].list_value().values();
    bool has_west = false, has_east = false;
    for (const auto& ring : rings) {
      for (const auto& position : ring.list_value().values()) {
        const double x = position.list_value().values(0).number_value();
        EXPECT_TRUE(x >= -180 && x <= 180) << x;
        has_west |= x > -180 && x < 0;
        has_east |= x > 0 && x < 180;
      }
    }
    EXPECT_NE(has_west, has_east);  // each polygon on one side of the cut
    if (has_west) west = i;
    if (rings.size() == 2) with_hole = i;
  }
  EXPECT_EQ(with_hole, west);
  ASSERT_GE(with_hole, 0);
  const auto& hole_ring =
      polygons[with_hole].list_value().values(1).list_value().values();
  EXPECT_LT(hole_ring[0].list_value().values(0).number_value(), -178);
  auto signed_area = [](const auto& ring) {  // shoelace in lon/lat: > 0 counter-clockwise
    double sum = 0;
    for (int i = 0; i + 1 < ring.size(); ++i) {
      const auto& p = ring[i].list_value().values();
      const auto& q = ring[i + 1].list_value().values();
      sum += p[0].number_value() * q[1].number_value() - q[0].number_value() * p[1].number_value();
    }
    return sum / 2;
  };
  EXPECT_LT(signed_area(hole_ring), 0);  // holes clockwise (RFC 7946)
  EXPECT_GT(signed_area(polygons[with_hole].list_value().values(0).list_value().values()), 0);
  // Whole sphere: the whole map; empty: a feature with no geometry.
  EXPECT_EQ(regions[1]->fields().at("geometry").struct_value().fields().at("type").string_value(),
            "Polygon");
  EXPECT_TRUE(regions[2]->fields().at("geometry").has_null_value());

  // Uncalibrated: no region, and the best estimate says so.
  v1::LocateResponse plain;
  *plain.mutable_best()->mutable_location() = LL(0, 0);
  GeoJsonBuilder plain_builder;
  plain_builder.AddLocateResponse("img.jpg", plain);
  absl::StatusOr<std::string> plain_json = plain_builder.ToJson();
  ASSERT_TRUE(plain_json.ok());
  EXPECT_THAT(*plain_json, ::testing::Not(::testing::HasSubstr("\"region\"")));
  EXPECT_THAT(*plain_json, ::testing::HasSubstr("\"calibrated\": false"));
}

TEST(GeoJsonBuilderTest, NonFiniteNumbersBecomeNull) {
  v1::LocateResponse response;
  v1::Peak* peak = response.add_peaks();
  peak->set_density(std::nan(""));
  GeoJsonBuilder builder;
  builder.AddLocateResponse("x", response);
  absl::StatusOr<std::string> json = builder.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, ::testing::HasSubstr("\"density\": null"));
}

}  // namespace
}  // namespace geoloc::client
