#include "core/cells/s2_cells.h"

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/geo/distance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cells/crafted_world.h"

namespace geoloc::cells {
namespace {

using ::testing::HasSubstr;

struct Xyz {
  double x, y, z;
};

Xyz ToXyz(geo::LatLon p) {
  const double lat = p.lat * geo::kDegToRad;
  const double lon = p.lon * geo::kDegToRad;
  return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

Xyz Cross(Xyz a, Xyz b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

double Dot(Xyz a, Xyz b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

// Upper bound of S2's largest cell diagonal at `level` in km: S2's kMaxDiag derivative 2.438654594
// radians at level 0, halved per level (s2metrics.h).
double MaxDiagonalKm(int level) {
  return 2.438654594 * std::ldexp(1.0, -level) * geo::kEarthRadiusKm;
}

TEST(S2CellsTest, FaceCellsHaveTheKnownTokens) {
  const std::vector<std::string> tokens = {"1", "3", "5", "7", "9", "b"};
  for (int face = 0; face < 6; ++face) {
    SCOPED_TRACE(face);
    EXPECT_EQ(CellToken(FaceCell(face)), tokens[face]);
    auto id = CellFromToken(tokens[face]);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, FaceCell(face));
    EXPECT_TRUE(IsValidCell(*id));
    EXPECT_EQ(CellLevel(*id), 0);
  }
}

TEST(S2CellsTest, KnownPointLandsInTheKnownCells) {
  // The Eiffel Tower: z dominates its unit vector (sin 48.86 > cos 48.86 cos 2.29), so it is on
  // face 2 ("5"); its level-10 cell is "47e66f" in the reference S2 implementation.
  const geo::LatLon eiffel{48.8584, 2.2945};
  EXPECT_EQ(CellToken(CellIdAt(eiffel, 0)), "5");
  EXPECT_EQ(CellToken(CellIdAt(eiffel, 10)), "47e66f");
  const CellId leaf = CellIdAt(eiffel, kMaxCellLevel);
  EXPECT_EQ(CellLevel(leaf), kMaxCellLevel);
  for (int level = 0; level <= kMaxCellLevel; ++level) {
    SCOPED_TRACE(level);
    const CellId cell = CellIdAt(eiffel, level);
    EXPECT_EQ(CellLevel(cell), level);
    EXPECT_TRUE(CellContains(cell, leaf));
    EXPECT_EQ(CellParent(leaf, level), cell);
    // The centre lies inside the cell, so it is within one diagonal of any point of the cell.
    EXPECT_LE(geo::HaversineKm(CellCenter(cell), eiffel), MaxDiagonalKm(level));
  }
  // A level-20 cell is at most about 15 m across; its centre is that close to the point.
  EXPECT_LT(geo::HaversineKm(CellCenter(CellIdAt(eiffel, 20)), eiffel), 0.015);
}

TEST(S2CellsTest, BothSidesOfTheAntimeridianAreOnePlace) {
  // +180 and -180 are one meridian; it is a cell boundary on face 3, so the two spellings may fall
  // in adjacent leaf cells, which are about 1 cm across.
  const CellId east = CellIdAt({12.5, 180.0}, kMaxCellLevel);
  const CellId west = CellIdAt({12.5, -180.0}, kMaxCellLevel);
  ASSERT_NE(east, kNoCell);
  ASSERT_NE(west, kNoCell);
  EXPECT_LT(geo::HaversineKm(CellCenter(east), CellCenter(west)), 2e-5);
  EXPECT_EQ(CellParent(east, 0), FaceCell(3));
}

TEST(S2CellsTest, InvalidCoordinatesAndLevelsGiveNoCell) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(CellIdAt({nan, 0.0}, 10), kNoCell);
  EXPECT_EQ(CellIdAt({0.0, nan}, 10), kNoCell);
  EXPECT_EQ(CellIdAt({inf, 0.0}, 10), kNoCell);
  EXPECT_EQ(CellIdAt({90.5, 0.0}, 10), kNoCell);
  EXPECT_EQ(CellIdAt({0.0, -180.5}, 10), kNoCell);
  EXPECT_EQ(CellIdAt({0.0, 0.0}, -1), kNoCell);
  EXPECT_EQ(CellIdAt({0.0, 0.0}, 31), kNoCell);
  EXPECT_NE(CellIdAt({90.0, 180.0}, 30), kNoCell);
  EXPECT_NE(CellIdAt({-90.0, -180.0}, 0), kNoCell);
}

TEST(S2CellsTest, TokensRoundTripAtEveryLevel) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-90.0, 90.0);
  std::uniform_real_distribution<double> lon(-180.0, 180.0);
  for (int i = 0; i < 200; ++i) {
    const geo::LatLon p{lat(rng), lon(rng)};
    for (int level = 0; level <= kMaxCellLevel; ++level) {
      const CellId id = CellIdAt(p, level);
      const std::string token = CellToken(id);
      auto back = CellFromToken(token);
      ASSERT_TRUE(back.ok()) << token << ": " << back.status();
      EXPECT_EQ(*back, id);
      // A token is at most 16 hex digits and never ends in '0'.
      EXPECT_LE(token.size(), 16u);
      EXPECT_NE(token.back(), '0');
    }
  }
}

TEST(S2CellsTest, TokensAreCaseInsensitiveButCanonical) {
  auto upper = CellFromToken("47E66F");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(CellToken(*upper), "47e66f");

  for (const char* bad :
       {"", "X", "zz", "2", "10", "47e66f0", "47e66f ", "11111111111111111", "-1", "0x47"}) {
    SCOPED_TRACE(bad);
    auto id = CellFromToken(bad);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A non-canonical spelling of a real cell suggests the canonical one.
  EXPECT_THAT(std::string(CellFromToken("10").status().message()), HasSubstr("did you mean '1'"));
}

TEST(S2CellsTest, InvalidIdsGetTheDocumentedAnswers) {
  for (CellId bad : {kNoCell, CellId{0x2000000000000000}, ~CellId{0}}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(IsValidCell(bad));
    EXPECT_EQ(CellLevel(bad), -1);
    EXPECT_EQ(CellParent(bad, 0), kNoCell);
    EXPECT_EQ(CellRangeMin(bad), kNoCell);
    EXPECT_EQ(CellRangeMax(bad), kNoCell);
    for (CellId child : CellChildren(bad)) EXPECT_EQ(child, kNoCell);
    EXPECT_TRUE(std::isnan(CellCenter(bad).lat));
    EXPECT_TRUE(CellVertices(bad).empty());
    EXPECT_EQ(CellAreaKm2(bad), 0.0);
    EXPECT_FALSE(CellContains(bad, FaceCell(0)));
    EXPECT_FALSE(CellContains(FaceCell(0), bad));
  }
  EXPECT_EQ(CellToken(kNoCell), "X");
}

TEST(S2CellsTest, ParentsAndChildrenAreConsistent) {
  const CellId cell = CellIdAt({-33.8568, 151.2153}, 12);
  EXPECT_EQ(CellParent(cell, 12), cell);
  EXPECT_EQ(CellParent(cell, 13), kNoCell);
  EXPECT_EQ(CellParent(cell, -1), kNoCell);
  for (int level = 0; level < 12; ++level) {
    const CellId parent = CellParent(cell, level);
    EXPECT_EQ(CellLevel(parent), level);
    EXPECT_TRUE(CellContains(parent, cell));
    EXPECT_FALSE(CellContains(cell, parent));
  }

  const std::array<CellId, 4> children = CellChildren(cell);
  std::set<CellId> distinct(children.begin(), children.end());
  EXPECT_EQ(distinct.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(CellLevel(children[k]), 13);
    EXPECT_EQ(CellParent(children[k], 12), cell);
    EXPECT_TRUE(CellContains(cell, children[k]));
    if (k > 0) {
      // The children tile the parent's leaf range in order, without gaps.
      EXPECT_LT(children[k - 1], children[k]);
      EXPECT_EQ(CellRangeMax(children[k - 1]) + 2, CellRangeMin(children[k]));
    }
  }
  EXPECT_EQ(CellRangeMin(children[0]), CellRangeMin(cell));
  EXPECT_EQ(CellRangeMax(children[3]), CellRangeMax(cell));
  EXPECT_FALSE(CellContains(children[0], children[1]));

  const CellId leaf = CellIdAt({1.0, 2.0}, kMaxCellLevel);
  EXPECT_EQ(CellRangeMin(leaf), leaf);
  EXPECT_EQ(CellRangeMax(leaf), leaf);
  for (CellId child : CellChildren(leaf)) EXPECT_EQ(child, kNoCell);
}

TEST(S2CellsTest, FaceZeroVerticesAreCubeCornersCounterClockwise) {
  // Face 0 is the cube side x = 1; its corners (1, +-1, +-1)/sqrt(3) are at latitude
  // +-atan(1/sqrt(2)) = +-35.26438968 degrees and longitude +-45 degrees.
  const double corner_lat = std::atan(1.0 / std::sqrt(2.0)) / geo::kDegToRad;
  const std::vector<geo::LatLon> ring = CellVertices(FaceCell(0));
  ASSERT_EQ(ring.size(), 4u);
  std::set<std::pair<int, int>> signs;
  for (const geo::LatLon& v : ring) {
    EXPECT_NEAR(std::abs(v.lat), corner_lat, 1e-9);
    EXPECT_NEAR(std::abs(v.lon), 45.0, 1e-9);
    signs.insert({v.lat > 0 ? 1 : -1, v.lon > 0 ? 1 : -1});
  }
  EXPECT_EQ(signs.size(), 4u);
  // Counter-clockwise seen from outside: every turn has its normal pointing out of the face.
  const Xyz outward{1, 0, 0};
  for (int k = 0; k < 4; ++k) {
    const Xyz a = ToXyz(ring[k]);
    const Xyz b = ToXyz(ring[(k + 1) % 4]);
    EXPECT_GT(Dot(Cross(a, b), outward), 0.0) << "edge " << k;
  }
}

TEST(S2CellsTest, DensifiedFaceEdgesLieOnTheCubeEdges) {
  // Face 0's boundary is where |y| = x or |z| = x (the planes through the cube's edges), and its
  // interior is where both are smaller.
  const int per_edge = 8;
  const std::vector<geo::LatLon> ring = CellVertices(FaceCell(0), per_edge);
  ASSERT_EQ(ring.size(), 4u * per_edge);
  for (size_t i = 0; i < ring.size(); ++i) {
    SCOPED_TRACE(i);
    const Xyz p = ToXyz(ring[i]);
    EXPECT_GT(p.x, 0.0);
    EXPECT_NEAR(std::max(std::abs(p.y), std::abs(p.z)), p.x, 1e-12);
    EXPECT_LE(std::min(std::abs(p.y), std::abs(p.z)), p.x + 1e-12);
  }
  // Densifying keeps the corners at every per_edge-th position.
  const std::vector<geo::LatLon> corners = CellVertices(FaceCell(0));
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(ring[k * per_edge].lat, corners[k].lat, 1e-12);
    EXPECT_NEAR(ring[k * per_edge].lon, corners[k].lon, 1e-12);
  }
  EXPECT_EQ(CellVertices(FaceCell(0), 0).size(), 4u);
}

TEST(S2CellsTest, DensifiedEdgesOfASmallCellAreOnItsGeodesicBoundary) {
  const CellId cell = CellIdAt({35.6762, 139.6503}, 9);
  const int per_edge = 10;
  const std::vector<geo::LatLon> ring = CellVertices(cell, per_edge);
  ASSERT_EQ(ring.size(), 4u * per_edge);
  const geo::LatLon center = CellCenter(cell);
  for (int k = 0; k < 4; ++k) {
    const Xyz a = ToXyz(ring[k * per_edge]);
    const Xyz b = ToXyz(ring[((k + 1) % 4) * per_edge]);
    const Xyz normal = Cross(a, b);
    for (int j = 1; j < per_edge; ++j) {
      SCOPED_TRACE(k * per_edge + j);
      const geo::LatLon q = ring[k * per_edge + j];
      // On the great circle through the edge's end points ...
      EXPECT_NEAR(Dot(normal, ToXyz(q)), 0.0, 1e-12);
      // ... and between them, in order.
      EXPECT_LT(geo::HaversineKm(ring[k * per_edge + j - 1], ring[k * per_edge]) - 1e-9,
                geo::HaversineKm(q, ring[k * per_edge]));
      // A step towards the centre is inside the cell, a step away outside it.
      const double t = 1e-3;
      const geo::LatLon in{q.lat + t * (center.lat - q.lat), q.lon + t * (center.lon - q.lon)};
      const geo::LatLon out{q.lat - t * (center.lat - q.lat), q.lon - t * (center.lon - q.lon)};
      EXPECT_EQ(CellIdAt(in, 9), cell);
      EXPECT_NE(CellIdAt(out, 9), cell);
    }
  }
}

TEST(S2CellsTest, FaceAreasAddUpToTheSphere) {
  const double sphere = 4.0 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
  double total = 0.0;
  for (int face = 0; face < 6; ++face) {
    // By symmetry every face is a sixth of the sphere.
    EXPECT_NEAR(CellAreaKm2(FaceCell(face)), sphere / 6.0, sphere * 1e-12);
    total += CellAreaKm2(FaceCell(face));
  }
  EXPECT_NEAR(total, sphere, sphere * 1e-12);
  EXPECT_NEAR(total, 510065881.0, 1.0);  // 4 pi 6371.0088^2 km2

  // Areas are additive over children.
  const CellId cell = CellIdAt({-1.2921, 36.8219}, 7);
  double children = 0.0;
  for (CellId child : CellChildren(cell)) children += CellAreaKm2(child);
  EXPECT_NEAR(children, CellAreaKm2(cell), CellAreaKm2(cell) * 1e-9);
}

}  // namespace
}  // namespace geoloc::cells
