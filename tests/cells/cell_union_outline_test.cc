#include "core/cells/cell_union_outline.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/geojson_ring.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::cells {
namespace {

constexpr double kR2 = geo::kEarthRadiusKm * geo::kEarthRadiusKm;

// Area on the left of a closed geodesic ring (km^2), from the Gauss-Bonnet theorem: 2 pi minus the
// sum of the turning angles. Independent of the traced code: it reads only the vertices.
double LeftAreaKm2(const std::vector<geo::LatLon>& ring) {
  const size_t n = ring.size();
  double turning = 0;
  for (size_t k = 0; k < n; ++k) {
    const geo::Vec3 a = geo::ToUnitVector(ring[(k + n - 1) % n]);
    const geo::Vec3 b = geo::ToUnitVector(ring[k]);
    const geo::Vec3 c = geo::ToUnitVector(ring[(k + 1) % n]);
    const geo::Vec3 n1 = geo::Cross(a, b), n2 = geo::Cross(b, c);
    turning += std::atan2(geo::Dot(geo::Cross(n1, n2), b), geo::Dot(n1, n2));
  }
  return (2 * geo::kPi - turning) * kR2;
}

// Cells whose centre lies within radius_km of `centre`, at `level` (a disc of cells).
std::vector<CellId> DiscOfCells(geo::LatLon centre, double radius_km, int level) {
  std::vector<SphereCap> caps = {
      {geo::ToUnitVector(centre), 2 * std::sin(0.5 * radius_km / geo::kEarthRadiusKm)}};
  std::vector<CellId> out;
  std::vector<CellId> frontier = CellsCoveringCaps(caps, level);
  while (!frontier.empty()) {
    const CellId c = frontier.back();
    frontier.pop_back();
    if (CellLevel(c) < level) {
      for (CellId k : CellChildren(c)) frontier.push_back(k);
    } else if (geo::HaversineKm(CellCenter(c), centre) <= radius_km) {
      out.push_back(c);
    }
  }
  return out;
}

// Exact area of cells (CellAreaKm2, S2's ExactArea), to check rings against.
double ExactAreaKm2(const std::vector<CellId>& cells) {
  double a = 0;
  for (CellId c : cells) a += CellAreaKm2(c);
  return a;
}

// Checks what must hold for any union: the pieces partition it, areas add up, and every piece's
// rings enclose exactly its cells' area (exterior counter-clockwise, holes clockwise).
void ExpectConsistentPieces(const std::vector<CellId>& cells,
                            const std::vector<CellUnionPiece>& pieces) {
  const std::vector<CellId> normalized = NormalizeCellUnion(cells);
  std::vector<CellId> all;
  double area = 0;
  for (const CellUnionPiece& p : pieces) {
    EXPECT_TRUE(IsNormalizedCellUnion(p.cells));
    all.insert(all.end(), p.cells.begin(), p.cells.end());
    area += p.area_km2;
    EXPECT_NEAR(p.area_km2, CellUnionAreaKm2(p.cells), 1e-9 * p.area_km2);
    ASSERT_GE(p.exterior.size(), 3u);
    const double exterior = LeftAreaKm2(p.exterior);
    EXPECT_LT(exterior, 2 * geo::kPi * kR2);  // counter-clockwise around a small piece
    double holes = 0;
    for (const auto& h : p.holes) {
      const double left = LeftAreaKm2(h);
      EXPECT_GT(left, 2 * geo::kPi * kR2);  // clockwise
      holes += 4 * geo::kPi * kR2 - left;
    }
    const double exact = ExactAreaKm2(p.cells);
    EXPECT_NEAR(exterior - holes, exact, 1e-6 * exact + 1e-9);
    EXPECT_NEAR(p.area_km2, exact, 1e-3 * exact);
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, normalized);
  EXPECT_NEAR(area, CellUnionAreaKm2(normalized), 1e-9 * area);
  for (size_t i = 1; i < pieces.size(); ++i) EXPECT_GE(pieces[i - 1].area_km2, pieces[i].area_km2);
}

// Same cyclic sequence (any rotation) of points, compared to 1e-9 degrees.
bool SameRing(const std::vector<geo::LatLon>& a, const std::vector<geo::LatLon>& b) {
  if (a.size() != b.size()) return false;
  for (size_t shift = 0; shift < a.size(); ++shift) {
    bool same = true;
    for (size_t k = 0; k < a.size() && same; ++k) {
      const geo::LatLon p = a[k], q = b[(k + shift) % b.size()];
      same = std::abs(p.lat - q.lat) < 1e-9 &&
             (std::abs(p.lon - q.lon) < 1e-9 || std::abs(std::abs(p.lon - q.lon) - 360) < 1e-9);
    }
    if (same) return true;
  }
  return false;
}

TEST(CellUnionOutlineTest, EmptyUnionHasNoPieces) { EXPECT_TRUE(CellUnionPieces({}).empty()); }

TEST(CellUnionOutlineTest, OneCellIsItsOwnCounterClockwiseOutline) {
  for (geo::LatLon where : {geo::LatLon{48.85, 2.35}, {-10, 179.99}, {89.9, 10}, {0, 45}}) {
    const CellId cell = CellIdAt(where, 11);
    const std::vector<CellUnionPiece> pieces = CellUnionPieces({cell});
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_THAT(pieces[0].cells, ::testing::ElementsAre(cell));
    EXPECT_TRUE(pieces[0].holes.empty());
    EXPECT_TRUE(SameRing(pieces[0].exterior, CellVertices(cell))) << CellToken(cell);
    EXPECT_NEAR(pieces[0].area_km2, CellAreaKm2(cell), 1e-3 * CellAreaKm2(cell));
    ExpectConsistentPieces({cell}, pieces);
  }
}

TEST(CellUnionOutlineTest, BlockOfFourCellsHasFourCorners) {
  // The four cells around a cell's corner: one piece whose straight runs of edges are merged, so 4
  // corners remain (the block may also be normalised into their parent: the same outline).
  const CellId a = CellIdAt({48.85, 2.35}, 12);
  const geo::LatLon corner = CellVertices(a)[2];  // upper right (counter-clockwise from lower left)
  std::set<CellId> block;
  for (double bearing = 45; bearing < 360; bearing += 90) {
    block.insert(CellIdAt(geo::DestinationPoint(corner, bearing, 0.01), 12));
  }
  ASSERT_EQ(block.size(), 4u);
  const std::vector<CellId> cells(block.begin(), block.end());
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].exterior.size(), 4u);
  ExpectConsistentPieces(cells, pieces);
}

TEST(CellUnionOutlineTest, CellsTouchingAtACornerAreSeparatePieces) {
  const CellId a = CellIdAt({30, 30}, 13);
  const geo::LatLon corner = CellVertices(a)[2];
  const CellId lower_left = CellIdAt(geo::DestinationPoint(corner, 225, 0.01), 13);
  const CellId upper_right = CellIdAt(geo::DestinationPoint(corner, 45, 0.01), 13);
  ASSERT_EQ(lower_left, a);
  const std::vector<CellId> cells = {lower_left, upper_right};
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 2u);
  for (const CellUnionPiece& p : pieces) {
    EXPECT_EQ(p.cells.size(), 1u);
    EXPECT_TRUE(SameRing(p.exterior, CellVertices(p.cells[0])));
  }
  ExpectConsistentPieces(cells, pieces);
}

TEST(CellUnionOutlineTest, RingAroundAnEmptyCellHasAHole) {
  const CellId centre = CellIdAt({-33.9, 151.2}, 12);
  const geo::LatLon c = CellCenter(centre);
  std::set<CellId> ring;
  for (int dx = -1; dx <= 1; ++dx) {
    for (int dy = -1; dy <= 1; ++dy) {
      if (dx == 0 && dy == 0) continue;
      // Step to the neighbouring cell centres through the cell's own frame: its corners.
      const std::vector<geo::LatLon> v = CellVertices(centre);
      geo::Vec3 p = geo::ToUnitVector(c);
      const geo::Vec3 ex = geo::ToUnitVector(v[1]) - geo::ToUnitVector(v[0]);
      const geo::Vec3 ey = geo::ToUnitVector(v[3]) - geo::ToUnitVector(v[0]);
      p = p + dx * ex;
      p = p + dy * ey;
      ring.insert(CellIdAt(geo::FromUnitVector(p), 12));
    }
  }
  ASSERT_EQ(ring.size(), 8u);
  ASSERT_EQ(ring.count(centre), 0u);
  const std::vector<CellId> cells(ring.begin(), ring.end());
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].exterior.size(), 4u);
  ASSERT_EQ(pieces[0].holes.size(), 1u);
  std::vector<geo::LatLon> hole = CellVertices(centre);
  std::reverse(hole.begin(), hole.end());  // clockwise
  EXPECT_TRUE(SameRing(pieces[0].holes[0], hole));
  ExpectConsistentPieces(cells, pieces);
}

TEST(CellUnionOutlineTest, MixedLevelsMeetAtTJunctions) {
  // A cell and the lower child of its right-hand neighbour: the outline has 6 corners, one of them
  // on the big cell's side.
  const CellId big = CellIdAt({52.52, 13.40}, 10);
  const std::vector<geo::LatLon> v = CellVertices(big);
  // Just right of the big cell's lower right corner, a little up: inside the neighbour's child.
  const geo::Vec3 right = geo::ToUnitVector(v[1]) - geo::ToUnitVector(v[0]);
  const geo::Vec3 up = geo::ToUnitVector(v[2]) - geo::ToUnitVector(v[1]);
  const geo::Vec3 p = geo::ToUnitVector(v[1]) + 0.25 * right + 0.25 * up;
  const CellId small = CellIdAt(geo::FromUnitVector(p), 11);
  const std::vector<CellId> cells = {big, small};
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].exterior.size(), 6u);
  ExpectConsistentPieces(cells, pieces);
}

TEST(CellUnionOutlineTest, RandomUnionsEverywhereAreConsistent) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> bearing(0, 360), unit(0, 1);
  std::uniform_int_distribution<int> extra_levels(0, 3);
  // Plain places, the antimeridian, both poles, the twelve cube edges and two cube corners (where
  // faces 0, 1, 2 and faces 3, 4, 5 meet): corners met from two or three faces must match.
  const std::vector<geo::LatLon> places = {
      {48.85, 2.35},  {-17.7, 179.9},   {89.95, 0},         {-89.9, 120},  {0.0, 45.0},
      {0.0, 135.0},   {0.0, -135.0},    {0.0, -45.0},       {45.0, 0.0},   {45.0, 90.0},
      {45.0, 180.0},  {45.0, -90.0},    {-45.0, 0.0},       {-45.0, 90.0}, {-45.0, 180.0},
      {-45.0, -90.0}, {35.26439, 45.0}, {-35.26439, -135.0}};
  for (const geo::LatLon& place : places) {
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<CellId> cells;
      for (int k = 0; k < 60; ++k) {
        const geo::LatLon p = geo::DestinationPoint(place, bearing(rng), 40 * unit(rng));
        cells.push_back(CellIdAt(p, 10 + extra_levels(rng)));
      }
      const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
      ASSERT_FALSE(pieces.empty());
      ExpectConsistentPieces(cells, pieces);
      // Without outlines: the same pieces and areas.
      const std::vector<CellUnionPiece> bare = CellUnionPieces(cells, false);
      ASSERT_EQ(bare.size(), pieces.size());
      for (size_t i = 0; i < bare.size(); ++i) {
        EXPECT_EQ(bare[i].cells, pieces[i].cells);
        EXPECT_TRUE(bare[i].exterior.empty());
      }
    }
  }
}

TEST(CellUnionOutlineTest, DiscAcrossTheAntimeridianSplitsIntoTwoGeoJsonRings) {
  const std::vector<CellId> cells = DiscOfCells({-17.0, 180.0}, 30, 12);
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_TRUE(pieces[0].holes.empty());
  ExpectConsistentPieces(cells, pieces);
  const std::vector<geo::GeoJsonRing> rings = geo::SplitRingAtAntimeridian(pieces[0].exterior);
  ASSERT_EQ(rings.size(), 2u);
  for (const geo::GeoJsonRing& r : rings) {
    for (const geo::LonLat& q : r) {
      EXPECT_GE(q.lon, -180);
      EXPECT_LE(q.lon, 180);
    }
  }
}

TEST(CellUnionOutlineTest, DiscAroundThePoleEnclosesIt) {
  const std::vector<CellId> cells = DiscOfCells({90.0, 0.0}, 50, 11);
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  ExpectConsistentPieces(cells, pieces);
  // The ring's longitudes wind once around the pole.
  double winding = 0;
  const auto& ring = pieces[0].exterior;
  for (size_t k = 0; k < ring.size(); ++k) {
    double d = ring[(k + 1) % ring.size()].lon - ring[k].lon;
    if (d > 180) d -= 360;
    if (d < -180) d += 360;
    winding += d;
  }
  EXPECT_NEAR(winding, 360, 1e-6);  // counter-clockwise seen from above the North Pole: eastward
  EXPECT_FALSE(geo::SplitRingAtAntimeridian(ring).empty());
}

TEST(CellUnionOutlineTest, WholeSphereIsOnePieceWithoutRings) {
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(WholeSphereCells());
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].cells.size(), 6u);
  EXPECT_TRUE(pieces[0].exterior.empty());
  EXPECT_TRUE(pieces[0].holes.empty());
  EXPECT_NEAR(pieces[0].area_km2, 4 * geo::kPi * kR2, 1e-6 * kR2);
}

TEST(CellUnionOutlineTest, UnnormalisedInputIsNormalisedFirst) {
  const CellId parent = CellIdAt({1, 1}, 9);
  std::vector<CellId> cells;
  for (CellId k : CellChildren(parent)) cells.push_back(k);
  cells.push_back(cells[0]);
  const std::vector<CellUnionPiece> pieces = CellUnionPieces(cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_THAT(pieces[0].cells, ::testing::ElementsAre(parent));
  EXPECT_TRUE(SameRing(pieces[0].exterior, CellVertices(parent)));
}

}  // namespace
}  // namespace geoloc::cells
