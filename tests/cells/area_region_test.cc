#include "core/cells/area_region.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/cells/region_cells.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"
#include "gtest/gtest.h"

namespace geoloc::cells {
namespace {

using geo::LatLon;
using geo::SearchArea;

SearchArea Circle(LatLon c, double km) {
  SearchArea a;
  a.shape = SearchArea::Shape::kCircle;
  a.center = c;
  a.radius_km = km;
  return a;
}

SearchArea Polygon(std::vector<LatLon> ring) {
  SearchArea a;
  a.shape = SearchArea::Shape::kPolygon;
  a.polygon = std::move(ring);
  return a;
}

SearchArea Cells(std::vector<std::string> tokens) {
  SearchArea a;
  a.shape = SearchArea::Shape::kCells;
  a.cell_tokens = std::move(tokens);
  return a;
}

AreaRegion MustBuild(const SearchArea& a) {
  absl::StatusOr<AreaRegion> r = AreaRegion::Build(a);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

// Points uniform on the sphere plus clusters where the shapes below have their edges.
std::vector<LatLon> Points() {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1), lon(-180, 180);
  std::vector<LatLon> p;
  for (int i = 0; i < 20000; ++i) p.push_back({std::asin(u(rng)) * geo::kRadToDeg, lon(rng)});
  std::normal_distribution<double> g(0, 1);
  for (LatLon c : {LatLon{48.85, 2.35}, LatLon{0, 180}, LatLon{85, 0}}) {
    for (int i = 0; i < 5000; ++i) {
      p.push_back({std::clamp(c.lat + 3 * g(rng), -90.0, 90.0),
                   geo::NormalizeLongitude(c.lon + 3 * g(rng))});
    }
  }
  for (int i = 0; i < 2000; ++i) p.push_back({48.85 + 0.005 * g(rng), 2.35 + 0.005 * g(rng)});
  return p;
}

// Select must return exactly the points Contains() accepts (a brute force), for every shape.
TEST(AreaRegion, SelectEqualsBruteForce) {
  const std::vector<LatLon> points = Points();
  const PointCellIndex index = PointCellIndex::Build(points);
  const std::vector<SearchArea> areas = {
      Circle({48.85, 2.35}, 0.5),
      Circle({48.85, 2.35}, 50),
      Circle({48.85, 2.35}, 900),
      Circle({0, 180}, 200),
      Circle({90, 0}, 700),
      Circle({10, 20}, 20015),
      Polygon({{10, 170}, {10, -170}, {-10, -170}, {-10, 170}}),  // across the antimeridian
      Polygon({{80, 0}, {80, 90}, {80, 180}, {80, -90}}),         // around the north pole
      Polygon({{48, 1}, {48, 4}, {50, 4}, {50, 1}}),
      Cells({CellToken(CellIdAt({48.85, 2.35}, 6)), CellToken(CellIdAt({0, 179.9}, 4))}),
  };
  for (const SearchArea& a : areas) {
    SCOPED_TRACE(geo::DescribeSearchArea(a));
    const AreaRegion region = MustBuild(a);
    std::vector<int64_t> want;
    for (size_t i = 0; i < points.size(); ++i) {
      if (region.Contains(points[i])) want.push_back(static_cast<int64_t>(i));
    }
    EXPECT_EQ(index.Select(region), want);
    EXPECT_FALSE(want.empty());
  }
}

TEST(AreaRegion, CircleIsAGreatCircleDisc) {
  const AreaRegion r = MustBuild(Circle({0, 179.9}, 100));
  EXPECT_TRUE(r.Contains({0, -179.5}));   // 44 km away, across the antimeridian
  EXPECT_FALSE(r.Contains({0, -178.9}));  // 111 km
  EXPECT_NEAR(r.AreaKm2(), geo::kPi * 100 * 100, 0.01 * geo::kPi * 100 * 100);
}

// Either orientation means the smaller region; the antimeridian and the pole need nothing special.
TEST(AreaRegion, PolygonOrientationAntimeridianAndPole) {
  const std::vector<LatLon> ccw = {{-10, 170}, {-10, -170}, {10, -170}, {10, 170}};
  const std::vector<LatLon> cw(ccw.rbegin(), ccw.rend());
  for (const auto& ring : {ccw, cw}) {
    const AreaRegion r = MustBuild(Polygon(ring));
    EXPECT_TRUE(r.Contains({0, 179.5}));
    EXPECT_TRUE(r.Contains({0, -179.5}));
    EXPECT_FALSE(r.Contains({0, 0}));
    EXPECT_FALSE(r.Contains({0, 160}));
    EXPECT_LT(r.AreaKm2(), 6e6);  // about 20 x 20 degrees at the equator: 4.9e6 km2
  }
  const AreaRegion polar = MustBuild(Polygon({{80, 0}, {80, 90}, {80, 180}, {80, -90}}));
  EXPECT_TRUE(polar.Contains({90, 0}));
  EXPECT_TRUE(polar.Contains({85, 123}));
  EXPECT_FALSE(polar.Contains({70, 45}));
  EXPECT_FALSE(polar.Contains({-89, 0}));
}

TEST(AreaRegion, RejectsBadShapes) {
  struct Bad {
    SearchArea area;
    const char* says;
  };
  const std::vector<Bad> bad = {
      {Polygon({{0, 0}, {1, 1}}), "3 to"},                                       // too few
      {Polygon({{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}), "not a simple ring"},  // closed: dup
      {Polygon({{0, 0}, {1, 1}, {0, 1}, {1, 0}}), "not a simple ring"},          // bow tie
      {Polygon({{0, 0}, {0, 1}, {0, 2}}), "degenerate"},                         // collinear
      {Polygon({{0, 0}, {91, 1}, {1, 1}}), "vertices[1]"},
      {Cells({"89c25", "zz"}), "tokens[1]"},
      {Cells({}), "1 to"},
      {Circle({0, 0}, 0), "radius_km"},
      {Circle({0, 0}, 30000), "radius_km"},
      {Circle({0, 200}, 5), "center"},
  };
  for (const Bad& b : bad) {
    absl::StatusOr<AreaRegion> r = AreaRegion::Build(b.area);
    ASSERT_FALSE(r.ok()) << b.says;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(b.says), absl::string_view::npos) << r.status();
  }
  SearchArea soft_polygon = Polygon({{48, 1}, {48, 4}, {50, 4}});
  soft_polygon.mode = geo::AreaMode::kSoft;
  EXPECT_EQ(AreaRegion::Build(soft_polygon).status().code(), absl::StatusCode::kInvalidArgument);
}

// The clip covering holds the whole area and only boundary cells of clip_level() beyond it, is
// exact for a cell area, and clips a union to its part inside the area.
TEST(AreaRegion, ClipKeepsTheUnionInsideTheArea) {
  const SearchArea circle = Circle({48.8566, 2.3522}, 25);
  const AreaRegion region = MustBuild(circle);
  const double cell_km = MaxCellDiagonalKm(region.clip_level());
  EXPECT_LE(cell_km, std::sqrt(region.AreaKm2()) / kClipCellsAcross);
  const std::vector<CellId> whole = region.ClipCovering();
  EXPECT_EQ(IntersectCellUnions(WholeSphereCells(), whole), whole);
  EXPECT_GE(CellUnionAreaKm2(whole), region.AreaKm2());
  const double widened = 25 + cell_km;
  EXPECT_LE(CellUnionAreaKm2(whole), M_PI * widened * widened);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> offset(-0.5, 0.5);
  for (int i = 0; i < 2000; ++i) {
    const LatLon p{48.8566 + offset(rng), 2.3522 + offset(rng)};
    const double d = geo::HaversineKm(circle.center, p);
    if (d <= 25) {
      EXPECT_TRUE(CellUnionContains(whole, p)) << d;
    } else if (d > widened) {
      EXPECT_FALSE(CellUnionContains(whole, p)) << d;
    }
  }
  // A union partly inside: a level-8 cell (about 30 km) at the circle's edge.
  const CellId edge = CellIdAt({48.8566, 2.3522 + 25 / 73.2}, 8);
  const std::vector<CellId> part = IntersectCellUnions({edge}, whole);
  EXPECT_GT(CellUnionAreaKm2(part), 0);
  EXPECT_LT(CellUnionAreaKm2(part), CellAreaKm2(edge));
  for (CellId c : part) EXPECT_TRUE(CellContains(edge, c));
  // Outside: nothing.
  EXPECT_TRUE(IntersectCellUnions({CellIdAt({-33.9, 151.2}, 8)}, whole).empty());

  // A cell area is its own exact clip of the whole sphere.
  const AreaRegion cells = MustBuild(Cells({"47e66f", "47e671"}));
  const std::vector<CellId> exact = cells.ClipCovering();
  ASSERT_EQ(exact.size(), 2u);
  EXPECT_EQ(CellToken(exact[0]), "47e66f");
  EXPECT_EQ(CellToken(exact[1]), "47e671");
}

}  // namespace
}  // namespace geoloc::cells
