// GeoJSON of cells (tools/cells/cell_geojson.h): rings closed, counter-clockwise and inside the
// map, cells over the antimeridian cut in two, polar cells drawn as bands, and every cell's own
// points inside its outline; the document parses as JSON with the expected features.
#include "tools/cells/cell_geojson.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cells/adaptive_cells.h"
#include "core/cells/s2_cells.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/cells_classifier/test_util.h"

namespace geoloc::cells_cli {
namespace {

using testing::Cell;

double SignedArea2(const GeoRing& ring) {
  double area = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    area += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  }
  return area;
}

// Ray casting in the lon/lat plane (closed ring).
bool Inside(const GeoRing& ring, double lon, double lat) {
  bool in = false;
  for (size_t i = 0, j = ring.size() - 2; i + 1 < ring.size(); j = i++) {
    const LonLat& a = ring[i];
    const LonLat& b = ring[j];
    if ((a.lat > lat) != (b.lat > lat) &&
        lon < (b.lon - a.lon) * (lat - a.lat) / (b.lat - a.lat) + a.lon) {
      in = !in;
    }
  }
  return in;
}

int PiecesContaining(const std::vector<GeoRing>& pieces, geo::LatLon p) {
  int n = 0;
  for (const GeoRing& r : pieces) n += Inside(r, p.lon, p.lat) ? 1 : 0;
  return n;
}

void ExpectValidRings(const std::vector<GeoRing>& pieces, const std::string& what) {
  ASSERT_FALSE(pieces.empty()) << what;
  for (const GeoRing& r : pieces) {
    ASSERT_GE(r.size(), 4u) << what;
    EXPECT_EQ(r.front().lon, r.back().lon) << what;
    EXPECT_EQ(r.front().lat, r.back().lat) << what;
    EXPECT_GT(SignedArea2(r), 0) << what << " is not counter-clockwise";
    for (const LonLat& p : r) {
      EXPECT_GE(p.lon, -180.0) << what;
      EXPECT_LE(p.lon, 180.0) << what;
      EXPECT_GE(p.lat, -90.0) << what;
      EXPECT_LE(p.lat, 90.0) << what;
    }
  }
}

TEST(CellGeoJsonTest, SmallCellIsOneRingWithItsDensifiedVertices) {
  const cells::CellId paris = cells::CellIdAt({48.8584, 2.2945}, 10);
  const std::vector<geo::LatLon> ring = cells::CellVertices(paris, 4);
  const std::vector<GeoRing> pieces = SplitRingAtAntimeridian(ring);
  ExpectValidRings(pieces, "paris");
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].size(), ring.size() + 1);  // closed
  for (size_t i = 0; i < ring.size(); ++i) {
    EXPECT_DOUBLE_EQ(pieces[0][i].lon, ring[i].lon);
    EXPECT_DOUBLE_EQ(pieces[0][i].lat, ring[i].lat);
  }
  EXPECT_EQ(PiecesContaining(pieces, {48.8584, 2.2945}), 1);
}

TEST(CellGeoJsonTest, CellOverTheAntimeridianIsCutInTwo) {
  // The smallest cell holding points just east and just west of 180 (Fiji) crosses it. (On the
  // faces 180 runs through, 2, 3 and 5, it is a grid line of every level >= 1, so that cell is
  // face 3 itself, token "7".)
  const geo::LatLon east{-16.8, 179.9999}, west{-16.8, -179.9999};
  int level = cells::kMaxCellLevel;
  while (level > 0 && cells::CellIdAt(east, level) != cells::CellIdAt(west, level)) --level;
  ASSERT_EQ(cells::CellIdAt(east, level), cells::CellIdAt(west, level));
  const std::vector<GeoRing> pieces =
      SplitRingAtAntimeridian(cells::CellVertices(cells::CellIdAt(east, level), 8));
  ExpectValidRings(pieces, "fiji");
  ASSERT_EQ(pieces.size(), 2u);
  double max_lon[2], min_lon[2];
  for (int i = 0; i < 2; ++i) {
    max_lon[i] = -1000, min_lon[i] = 1000;
    for (const LonLat& p : pieces[i]) {
      max_lon[i] = std::max(max_lon[i], p.lon);
      min_lon[i] = std::min(min_lon[i], p.lon);
    }
  }
  // One piece ends at +180, the other starts at -180.
  EXPECT_TRUE((max_lon[0] == 180.0 && min_lon[1] == -180.0) ||
              (max_lon[1] == 180.0 && min_lon[0] == -180.0));
  EXPECT_EQ(PiecesContaining(pieces, east), 1);
  EXPECT_EQ(PiecesContaining(pieces, west), 1);
}

TEST(CellGeoJsonTest, PolarFacesBecomeBands) {
  for (const auto& [token, lat] : {std::pair<const char*, double>{"5", 1.0}, {"b", -1.0}}) {
    const std::vector<GeoRing> pieces = SplitRingAtAntimeridian(cells::CellVertices(Cell(token), 8));
    ExpectValidRings(pieces, token);
    double extreme = 0;
    for (const GeoRing& r : pieces) {
      for (const LonLat& p : r) extreme = lat > 0 ? std::max(extreme, p.lat) : std::min(extreme, p.lat);
    }
    EXPECT_EQ(extreme, 90.0 * lat) << token;
    for (double lon : {-179.5, -91.3, 1.7, 44.1, 179.5}) {  // off the pieces' shared edges
      EXPECT_EQ(PiecesContaining(pieces, {60.0 * lat, lon}), 1) << token << " lon " << lon;
    }
  }
}

TEST(CellGeoJsonTest, PoleAsAVertexBecomesAnEdgeAlongTheTop) {
  // The polar face's central cells meet at the pole: it is one of their vertices.
  for (double lon : {10.0, 100.0, -170.0}) {
    const cells::CellId id = cells::CellIdAt({89.5, lon}, 3);
    const std::vector<geo::LatLon> ring = cells::CellVertices(id, 8);
    ASSERT_TRUE(std::any_of(ring.begin(), ring.end(),
                            [](const geo::LatLon& p) { return p.lat > 90.0 - 1e-9; }))
        << "the test expects the pole to be a vertex";
    const std::vector<GeoRing> pieces = SplitRingAtAntimeridian(ring);
    ExpectValidRings(pieces, "pole vertex");
    EXPECT_EQ(PiecesContaining(pieces, {89.5, lon}), 1) << lon;
    EXPECT_EQ(PiecesContaining(pieces, {89.5, lon + 180.0 > 180.0 ? lon - 180.0 : lon + 180.0}),
              0)
        << lon;
  }
}

TEST(CellGeoJsonTest, RandomCellsContainTheirCentres) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> z(-1.0, 1.0), lon(-180.0, 180.0);
  std::uniform_int_distribution<int> level(0, 14);
  for (int i = 0; i < 400; ++i) {
    const geo::LatLon p{std::asin(z(rng)) * 180.0 / geo::kPi, lon(rng)};
    const cells::CellId id = cells::CellIdAt(p, level(rng));
    const std::vector<GeoRing> pieces = SplitRingAtAntimeridian(cells::CellVertices(id, 8));
    ExpectValidRings(pieces, cells::CellToken(id));
    // The point the cell was made from lies in exactly one piece (away from the poles, where a
    // flat map has no interior to speak of).
    if (std::abs(p.lat) < 89.0) {
      EXPECT_EQ(PiecesContaining(pieces, p), 1) << cells::CellToken(id) << " " << p.lat << ","
                                                << p.lon;
    }
  }
  EXPECT_TRUE(SplitRingAtAntimeridian({}).empty());
  EXPECT_TRUE(SplitRingAtAntimeridian({{1, 2}, {3, 4}}).empty());
}

TEST(CellGeoJsonTest, DocumentParsesWithOneFeaturePerCell) {
  std::vector<geo::LatLon> points;
  std::mt19937 rng(9);
  std::normal_distribution<double> jitter(0.0, 0.01);
  for (const geo::LatLon c : {geo::LatLon{48.85, 2.35}, geo::LatLon{-16.8, 179.99},
                              geo::LatLon{78.2, 15.6}, geo::LatLon{35.68, 139.7}}) {
    for (int i = 0; i < 60; ++i) {
      double lon = c.lon + jitter(rng);
      if (lon > 180.0) lon -= 360.0;
      points.push_back({c.lat + jitter(rng), lon});
    }
  }
  // Roots at level 0: the face holding Fiji crosses 180 (no finer cell does, see above).
  cells::AdaptiveCellOptions options;
  options.lvl_start = 0;
  options.lvl_end = 12;
  options.t_min = 5;
  options.t_max = 25;
  absl::StatusOr<cells::CellHierarchy> h = cells::GenerateAdaptiveCells(points, options);
  ASSERT_TRUE(h.ok()) << h.status();

  for (bool leaves_only : {false, true}) {
    absl::StatusOr<std::string> json = CellsToGeoJson(*h, {4, leaves_only});
    ASSERT_TRUE(json.ok()) << json.status();
    google::protobuf::Struct doc;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &doc).ok());
    EXPECT_EQ(doc.fields().at("type").string_value(), "FeatureCollection");
    const auto& features = doc.fields().at("features").list_value();
    ASSERT_EQ(features.values_size(), leaves_only ? h->num_classes() : h->num_nodes());
    int multi = 0;
    for (int f = 0; f < features.values_size(); ++f) {
      const auto& feature = features.values(f).struct_value().fields();
      const auto& props = feature.at("properties").struct_value().fields();
      const std::string token = props.at("token").string_value();
      const int node = h->NodeIndex(Cell(token.c_str()));
      ASSERT_GE(node, 0) << token;
      const cells::CellNode& n = h->nodes()[node];
      EXPECT_EQ(props.at("level").number_value(), n.level);
      EXPECT_EQ(props.at("count").number_value(), static_cast<double>(n.count));
      EXPECT_EQ(props.at("leaf_class").number_value(), n.leaf_class);
      EXPECT_GT(props.at("area_km2").number_value(), 0);
      const auto& geometry = feature.at("geometry").struct_value().fields();
      const std::string type = geometry.at("type").string_value();
      std::vector<const google::protobuf::ListValue*> polygons;
      if (type == "Polygon") {
        polygons.push_back(&geometry.at("coordinates").list_value());
      } else {
        ASSERT_EQ(type, "MultiPolygon");
        ++multi;
        for (const auto& p : geometry.at("coordinates").list_value().values()) {
          polygons.push_back(&p.list_value());
        }
      }
      for (const google::protobuf::ListValue* polygon : polygons) {
        ASSERT_EQ(polygon->values_size(), 1);  // one outer ring, no holes
        const auto& ring = polygon->values(0).list_value();
        ASSERT_GE(ring.values_size(), 4);
        // Below level 0 a cell spans at most 90 degrees of longitude: a ring that wrapped the
        // wrong way round the globe would not.
        double min_lon = 180, max_lon = -180;
        for (const auto& pos : ring.values()) {
          min_lon = std::min(min_lon, pos.list_value().values(0).number_value());
          max_lon = std::max(max_lon, pos.list_value().values(0).number_value());
        }
        if (n.level >= 1) {
          EXPECT_LE(max_lon - min_lon, 90.0 + 1e-6) << token;
        }
        const auto& first = ring.values(0).list_value();
        const auto& last = ring.values(ring.values_size() - 1).list_value();
        EXPECT_EQ(first.values(0).number_value(), last.values(0).number_value());
        EXPECT_EQ(first.values(1).number_value(), last.values(1).number_value());
        for (const auto& pos : ring.values()) {
          ASSERT_EQ(pos.list_value().values_size(), 2);  // [lon, lat]
          EXPECT_LE(std::abs(pos.list_value().values(0).number_value()), 180.0);
          EXPECT_LE(std::abs(pos.list_value().values(1).number_value()), 90.0);
        }
      }
    }
    // The roots are faces "5" (Paris, Svalbard; it holds the north pole, so its band is cut at
    // 180) and "7" (Tokyo, Fiji; 180 runs through it): two MultiPolygons. No finer cell crosses.
    EXPECT_EQ(multi, leaves_only ? 0 : 2);
  }
  EXPECT_EQ(CellsToGeoJson(*h, {0, false}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::cells_cli
