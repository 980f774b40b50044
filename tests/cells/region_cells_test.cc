#include "core/cells/region_cells.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace geoloc::cells {
namespace {

double ChordBetween(geo::Vec3 a, geo::Vec3 b) { return geo::Norm(a - b); }

// A uniformly random descendant leaf of `cell` (a random path down the children).
CellId RandomLeafIn(CellId cell, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, 3);
  while (CellLevel(cell) < kMaxCellLevel) cell = CellChildren(cell)[pick(rng)];
  return cell;
}

TEST(RegionCellsTest, BoundingDiscHoldsTheCell) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180);
  for (int trial = 0; trial < 60; ++trial) {
    const int level = trial % 20;
    const CellId cell = CellIdAt({lat(rng), lon(rng)}, level);
    const CellGeometry disc = CellGeometryOf(cell);
    ASSERT_GT(disc.outer_chord, 0);
    EXPECT_NEAR(geo::Norm(disc.centre), 1.0, 1e-15);
    const geo::LatLon c = geo::FromUnitVector(disc.centre);
    EXPECT_NEAR(geo::HaversineKm(c, CellCenter(cell)), 0, 1e-9);
    EXPECT_NEAR(geo::Norm(CellCentreVector(cell) - disc.centre), 0, 1e-15);
    EXPECT_EQ(disc.area_km2, CellUnionAreaKm2({cell}));
    double farthest = 0;
    for (const geo::LatLon& v : CellVertices(cell)) {
      farthest = std::max(farthest, ChordBetween(disc.centre, geo::ToUnitVector(v)));
    }
    // Tight: the farthest point is a corner.
    EXPECT_NEAR(disc.outer_chord, farthest, 1e-9 * farthest + 1e-12) << CellToken(cell);
    for (int s = 0; s < 50; ++s) {
      const geo::Vec3 p = geo::ToUnitVector(CellCenter(RandomLeafIn(cell, rng)));
      EXPECT_LE(ChordBetween(disc.centre, p), disc.outer_chord) << CellToken(cell);
    }
  }
}

TEST(RegionCellsTest, InvalidCellHasEmptyDisc) {
  EXPECT_EQ(CellGeometryOf(kNoCell).outer_chord, 0);
  EXPECT_EQ(geo::Norm(CellCentreVector(kNoCell)), 0);
}

TEST(RegionCellsTest, CellIdAtUnitVectorMatchesCellIdAt) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180);
  for (int i = 0; i < 200; ++i) {
    const geo::LatLon p{lat(rng), lon(rng)};
    const int level = i % 31;
    EXPECT_EQ(CellIdAtUnitVector(geo::ToUnitVector(p), level), CellIdAt(p, level));
  }
  EXPECT_EQ(CellIdAtUnitVector({0, 0, 0}, 10), kNoCell);
  EXPECT_EQ(CellIdAtUnitVector({NAN, 0, 1}, 10), kNoCell);
  EXPECT_EQ(CellIdAtUnitVector({0, 0, 1}, 31), kNoCell);
}

TEST(RegionCellsTest, LevelForEdgeIsTheCoarsestSmallEnough) {
  for (double km : {0.01, 0.1, 0.5, 3.0, 40.0, 900.0}) {
    const int level = CellLevelForEdgeKm(km);
    EXPECT_LE(CellAverageEdgeKm(level), km) << km;
    EXPECT_GT(CellAverageEdgeKm(level - 1), km) << km;
  }
  // S2's average edge halves per level: about 9,300 km at level 0.
  EXPECT_NEAR(CellAverageEdgeKm(0), 9297, 10);
  EXPECT_NEAR(CellAverageEdgeKm(10) * 1024, CellAverageEdgeKm(0), 1e-6);
  EXPECT_EQ(CellLevelForEdgeKm(1e5), 0);
  EXPECT_EQ(CellLevelForEdgeKm(0), kMaxCellLevel);
}

TEST(RegionCellsTest, CoveringHoldsEveryPointOfEveryCap) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> bearing(0, 360), unit(0, 1);
  const std::vector<geo::LatLon> centres = {{48.85, 2.35},  {-33.9, 151.2}, {0.0, 179.99},
                                            {10.0, -180.0}, {89.99, 30.0},  {-90.0, 0.0},
                                            {35.26, 45.0},  {0.0, 45.0},    {-60.0, -135.0}};
  for (double radius_km : {0.05, 1.0, 30.0, 700.0, 2500.0}) {
    for (const geo::LatLon& c : centres) {
      const double chord = 2 * std::sin(0.5 * radius_km / geo::kEarthRadiusKm);
      const std::vector<SphereCap> caps = {{geo::ToUnitVector(c), chord}};
      const std::vector<CellId> cover = CellsCoveringCaps(caps, 30);
      ASSERT_TRUE(IsNormalizedCellUnion(cover));
      EXPECT_LE(cover.size(), 9u);
      for (int s = 0; s < 400; ++s) {
        // Uniform over the cap's area (sqrt for the radial density), boundary included.
        const double d = s < 36 ? radius_km : radius_km * std::sqrt(unit(rng));
        const geo::LatLon p = geo::DestinationPoint(c, s < 36 ? 10.0 * s : bearing(rng), d);
        ASSERT_TRUE(CellUnionContains(cover, p))
            << geo::FormatLatLon(c) << " r " << radius_km << " point " << geo::FormatLatLon(p);
      }
      // Not absurdly coarse: at most ~ (6 radii)^2 per cap, i.e. the 3x3 block of cells two radii
      // wide, within a factor of 4 for S2's uneven cell sizes, while a cap is small.
      if (radius_km <= 700) {
        const double cap_area = geo::kPi * radius_km * radius_km;
        EXPECT_LT(CellUnionAreaKm2(cover), 4 * 36 * cap_area / geo::kPi * 4) << radius_km;
      }
    }
  }
}

TEST(RegionCellsTest, CoveringOfManyCapsAndLimits) {
  // Capped at max_level: a 10 m cap is covered by level-12 cells at most.
  const std::vector<SphereCap> tiny = {{geo::ToUnitVector({1, 2}), 1e-6}};
  for (CellId id : CellsCoveringCaps(tiny, 12)) EXPECT_LE(CellLevel(id), 12);
  // The whole sphere.
  const std::vector<SphereCap> all = {{geo::ToUnitVector({1, 2}), 2.0}};
  EXPECT_EQ(CellsCoveringCaps(all, 20), WholeSphereCells());
  // Bad caps are skipped.
  const std::vector<SphereCap> bad = {{{NAN, 0, 0}, 0.1}, {{0, 0, 1}, -1}, {{0, 0, 0}, 0.1}};
  EXPECT_TRUE(CellsCoveringCaps(bad, 20).empty());
  // Two far caps: two separate groups of cells, each covering its cap's centre.
  const std::vector<SphereCap> two = {{geo::ToUnitVector({40, -3}), 1e-4},
                                      {geo::ToUnitVector({-20, 120}), 1e-4}};
  const std::vector<CellId> cover = CellsCoveringCaps(two, 30);
  EXPECT_TRUE(CellUnionContains(cover, {40, -3}));
  EXPECT_TRUE(CellUnionContains(cover, {-20, 120}));
  EXPECT_FALSE(CellUnionContains(cover, {10, 60}));
}

TEST(RegionCellsTest, CoveringOfManyCapsIsTheUnionOfEachCapsCovering) {
  // Caps that share centre cells (a kernel density's caps: clustered centres, the same centres at
  // two sizes) and far ones: the covering of all of them at once is exactly the union of their
  // coverings one by one, whatever the order.
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> offset(-0.02, 0.02);
  std::vector<SphereCap> caps;
  // Two groups of clustered centres (so that a large cap around one does not swallow the other's
  // small caps), each with caps of two sizes, plus scattered ones.
  const geo::LatLon groups[] = {{45.0, 7.0}, {-12.0, -77.0}};
  for (double radius_km : {0.4, 12.0}) {
    const double chord = 2 * std::sin(0.5 * radius_km / geo::kEarthRadiusKm);
    for (int i = 0; i < 40; ++i) {
      const geo::LatLon g = groups[i % 2];
      const geo::LatLon c = i % 10 == 9 ? geo::LatLon{-35.0 + i, 150.0 - 2 * i}
                                        : geo::LatLon{g.lat + offset(rng), g.lon + offset(rng)};
      caps.push_back({geo::ToUnitVector(c), chord});
    }
  }
  std::vector<CellId> one_by_one;
  for (const SphereCap& cap : caps) {
    for (CellId id : CellsCoveringCaps({cap}, 30)) one_by_one.push_back(id);
  }
  const std::vector<CellId> expected = NormalizeCellUnion(one_by_one);
  EXPECT_EQ(CellsCoveringCaps(caps, 30), expected);
  std::shuffle(caps.begin(), caps.end(), rng);
  EXPECT_EQ(CellsCoveringCaps(caps, 30), expected);
}

TEST(RegionCellsTest, CapsWithTheSameCentresAndCoveringLevelsHaveTheSameCovering) {
  // What region extraction relies on to reuse a covering across thresholds (superlevel_set.cc).
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<double> lat(-89, 89), lon(-180, 180), radius_km(0.1, 900);
  std::uniform_real_distribution<double> stretch(0.9, 1.1);
  int same = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<SphereCap> caps, other;
    // One size for all the caps (a kernel density's caps at one threshold), another nearby.
    const double r = radius_km(rng), s = stretch(rng);
    for (int i = 0; i < 5; ++i) {
      const geo::Vec3 centre = geo::ToUnitVector({lat(rng), lon(rng)});
      caps.push_back({centre, 2 * std::sin(0.5 * r / geo::kEarthRadiusKm)});
      other.push_back({centre, caps.back().chord * s});
    }
    bool levels_equal = true;
    for (size_t i = 0; i < caps.size(); ++i) {
      const int level = CapCoveringLevel(caps[i], 20);
      ASSERT_GT(level, 0);
      ASSERT_LE(level, 20);
      levels_equal = levels_equal && level == CapCoveringLevel(other[i], 20);
    }
    if (!levels_equal) continue;
    ++same;
    EXPECT_EQ(CellsCoveringCaps(caps, 20), CellsCoveringCaps(other, 20)) << trial;
  }
  EXPECT_GT(same, 20);                                                   // the comparison was made
  EXPECT_EQ(CapCoveringLevel({geo::ToUnitVector({1, 2}), 2.0}, 20), 0);  // the whole sphere
  EXPECT_EQ(CapCoveringLevel({{NAN, 0, 0}, 0.1}, 20), -1);               // skipped
  EXPECT_EQ(CapCoveringLevel({{0, 0, 1}, -1}, 20), -1);
  EXPECT_EQ(CapCoveringLevel({geo::ToUnitVector({1, 2}), 1e-9}, 12), 12);  // at most max_level
}

TEST(RegionCellsTest, NormalizeMergesSiblingsDropsDuplicatesAndInvalidIds) {
  const CellId parent = CellIdAt({48.85, 2.35}, 10);
  const std::array<CellId, 4> kids = CellChildren(parent);
  const CellId grandchild = CellChildren(kids[0])[2];
  std::vector<CellId> cells = {kids[3],    kids[1], kNoCell, kids[0],
                               grandchild, kids[2], kids[1], 0xffffffffffffffffULL};
  EXPECT_THAT(NormalizeCellUnion(cells), ::testing::ElementsAre(parent));
  const std::vector<CellId> three = NormalizeCellUnion({kids[2], kids[0], grandchild, kids[1]});
  EXPECT_THAT(three, ::testing::ElementsAre(kids[0], kids[1], kids[2]));
  EXPECT_TRUE(IsNormalizedCellUnion(three));
  EXPECT_FALSE(IsNormalizedCellUnion({kids[1], kids[0]}));                    // unsorted
  EXPECT_FALSE(IsNormalizedCellUnion({kids[0], grandchild}));                 // overlapping
  EXPECT_FALSE(IsNormalizedCellUnion({kids[0], kids[1], kids[2], kids[3]}));  // siblings
  EXPECT_TRUE(IsNormalizedCellUnion({}));
}

TEST(RegionCellsTest, ContainmentAndIntersectionQueries) {
  const CellId a = CellIdAt({10, 10}, 8);
  const CellId b = CellIdAt({-40, 100}, 12);
  const std::vector<CellId> u = NormalizeCellUnion({a, b});
  const int index_a = u[0] == a ? 0 : 1;
  EXPECT_EQ(FindContainingCell(u, a), index_a);
  EXPECT_EQ(FindContainingCell(u, CellChildren(a)[3]), index_a);  // a descendant
  EXPECT_EQ(FindContainingCell(u, CellParent(a, 7)), -1);         // an ancestor is not contained
  EXPECT_TRUE(CellUnionIntersects(u, CellParent(a, 7)));          // ... but intersects
  EXPECT_FALSE(CellUnionIntersects(u, CellIdAt({50, 50}, 8)));
  EXPECT_EQ(FindContainingCell(u, kNoCell), -1);
  EXPECT_FALSE(CellUnionIntersects(u, kNoCell));
  EXPECT_TRUE(CellUnionContains(u, CellCenter(b)));
  EXPECT_FALSE(CellUnionContains(u, {NAN, 0}));
}

TEST(RegionCellsTest, AreasAddUp) {
  const double sphere = 4 * geo::kPi * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
  EXPECT_NEAR(CellUnionAreaKm2(WholeSphereCells()), sphere, 1e-9 * sphere);
  const CellId cell = CellIdAt({48.85, 2.35}, 9);
  const std::array<CellId, 4> kids = CellChildren(cell);
  EXPECT_NEAR(CellUnionAreaKm2(kids), CellAreaKm2(cell), 1e-3 * CellAreaKm2(cell));
  EXPECT_NEAR(CellUnionAreaKm2({cell}), CellAreaKm2(cell), 1e-3 * CellAreaKm2(cell));
  const CellId face_child = CellIdAt({10, 10}, 2);  // exact below level 5
  EXPECT_NEAR(CellUnionAreaKm2({face_child}), CellAreaKm2(face_child),
              1e-9 * CellAreaKm2(face_child));
  EXPECT_EQ(CellUnionAreaKm2({}), 0);
}

}  // namespace
}  // namespace geoloc::cells
