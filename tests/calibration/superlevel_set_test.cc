#include "core/calibration/superlevel_set.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "core/calibration/cell_mass_component.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/cell_union_outline.h"
#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/geojson_ring.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/calibration/test_support.h"

namespace geoloc::calibration {
namespace {

using testing::MakeMixture;
using testing::RandomPointAround;

constexpr double kR = geo::kEarthRadiusKm;

// One kernel of bandwidth h at `centre` with weight a1, and the floor a0: {f >= t} is the cap of
// chord r with a1 C exp(-kappa r^2 / 2) = t - a0 u. Threshold at depth s below the peak:
// t = a0 u + a1 C e^-s, so r^2 = 2 s / kappa, and the cap's radius and area follow.
struct OneKernel {
  geo::LatLon centre;
  double h = 1.0;
  double a1 = 0.95;
  double a0 = 0.05;
  PredictiveDensity Density() const { return MakeMixture({centre}, {1.0}, h, a1, 1, 0, a0); }
  double Threshold(double s) const {
    const VmfKdeComponent k = *VmfKdeComponent::Create({centre}, {1.0}, h);
    return a0 * UniformSphereDensity() + a1 * k.peak_density() * std::exp(-s);
  }
  double RadiusKm(double s) const {
    const double kappa = (kR / h) * (kR / h);
    return 2 * std::asin(0.5 * std::sqrt(2 * s / kappa)) * kR;
  }
  double AreaKm2(double s) const {
    return 2 * geo::kPi * kR * kR * (1 - std::cos(RadiusKm(s) / kR));
  }
};

TEST(SuperlevelSetTest, OneKernelGivesACapEverywhere) {
  std::mt19937_64 rng(9);
  // Plain, across the antimeridian, both poles, a cube corner.
  for (geo::LatLon where :
       {geo::LatLon{48.85, 2.35}, {-17.0, 180.0}, {90.0, 0.0}, {-89.95, 33.0}, {35.26439, 45.0}}) {
    const OneKernel k{where, 0.8};
    const PredictiveDensity f = k.Density();
    const std::vector<double> depths = {0.69, 1.2, 2.3, 3.0};  // about 50, 70, 90, 95% of the mass
    std::vector<double> thresholds;
    for (double s : depths) thresholds.push_back(k.Threshold(s));
    const SuperlevelResult r = *ExtractSuperlevelSets(f, thresholds);
    ASSERT_EQ(r.sets.size(), 4u);
    EXPECT_FALSE(r.capped);
    EXPECT_EQ(r.deepest_level, r.finest_level);
    EXPECT_LE(cells::CellAverageEdgeKm(r.finest_level),
              SuperlevelOptions{}.finest_edge_fraction * k.h);
    EXPECT_GT(cells::CellAverageEdgeKm(r.finest_level - 1),
              SuperlevelOptions{}.finest_edge_fraction * k.h);
    const double margin = 2 * cells::CellAverageEdgeKm(r.finest_level);
    for (size_t i = 0; i < depths.size(); ++i) {
      const SuperlevelSet& set = r.sets[i];
      const double exact = k.AreaKm2(depths[i]);
      const double area = cells::CellUnionAreaKm2(set.cells);
      EXPECT_FALSE(set.whole_sphere);
      EXPECT_EQ(set.threshold, thresholds[i]);
      // Only cells settled at the boundary can differ from the exact set ...
      EXPECT_LE(std::abs(area - exact), set.boundary_area_km2) << geo::FormatLatLon(where);
      // ... and they nearly cancel: the stated tolerance is 4%.
      EXPECT_NEAR(area, exact, 0.04 * exact) << geo::FormatLatLon(where) << " depth " << depths[i];
      // Points clearly inside are in the region, points clearly outside are not.
      const double radius = k.RadiusKm(depths[i]);
      for (int s = 0; s < 300; ++s) {
        const geo::LatLon in = RandomPointAround(where, 0, radius - margin, rng);
        ASSERT_TRUE(cells::CellUnionContains(set.cells, in)) << geo::FormatLatLon(in);
        const geo::LatLon out = RandomPointAround(where, radius + margin, 3 * radius, rng);
        ASSERT_FALSE(cells::CellUnionContains(set.cells, out)) << geo::FormatLatLon(out);
      }
      const std::vector<cells::CellUnionPiece> pieces = cells::CellUnionPieces(set.cells);
      ASSERT_EQ(pieces.size(), 1u);
      EXPECT_TRUE(pieces[0].holes.empty());
    }
    // Nested: a higher threshold's set lies inside a lower one's.
    for (size_t i = 1; i < r.sets.size(); ++i) {
      for (cells::CellId c : r.sets[i - 1].cells) {
        EXPECT_GE(cells::FindContainingCell(r.sets[i].cells, c), 0);
      }
    }
  }
}

TEST(SuperlevelSetTest, IncludeRuleContainsTheExactSet) {
  std::mt19937_64 rng(4);
  const OneKernel k{{-33.9, 151.2}, 0.5};
  const PredictiveDensity f = k.Density();
  SuperlevelOptions options;
  options.boundary = BoundaryRule::kInclude;
  const double s = 3.0;
  const SuperlevelResult r = *ExtractSuperlevelSets(f, {k.Threshold(s)}, options);
  const SuperlevelSet& set = r.sets[0];
  for (int i = 0; i < 2000; ++i) {
    const geo::LatLon p = RandomPointAround(k.centre, 0, k.RadiusKm(s), rng);
    ASSERT_TRUE(cells::CellUnionContains(set.cells, p)) << geo::FormatLatLon(p);
  }
  const double area = cells::CellUnionAreaKm2(set.cells);
  EXPECT_GE(area, k.AreaKm2(s));
  EXPECT_LE(area, k.AreaKm2(s) + set.boundary_area_km2);
  // Larger than the centre rule's region by about half the boundary band.
  const SuperlevelResult centre = *ExtractSuperlevelSets(f, {k.Threshold(s)});
  EXPECT_GT(area, cells::CellUnionAreaKm2(centre.sets[0].cells));
}

// The exact area of {f >= t} within `radius_km` of `centre`, by Monte Carlo with a fixed seed.
double MonteCarloAreaKm2(const PredictiveDensity& f, double t, geo::LatLon centre, double radius_km,
                         int n) {
  std::mt19937_64 rng(123);
  std::uniform_real_distribution<double> u(0, 1), bearing(0, 360);
  const double cap = 2 * geo::kPi * kR * kR * (1 - std::cos(radius_km / kR));
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    // Uniform on the cap: cos of the angle uniform in [cos r, 1].
    const double c = 1 - u(rng) * (1 - std::cos(radius_km / kR));
    const geo::LatLon p = geo::DestinationPoint(centre, bearing(rng), std::acos(c) * kR);
    hits += f.Density(geo::ToUnitVector(p)) >= t;
  }
  return cap * hits / n;
}

TEST(SuperlevelSetTest, TwoSeparatedClustersAreTwoPieces) {
  const geo::LatLon a{52.52, 13.40}, b = geo::DestinationPoint(a, 70, 12.0);
  const PredictiveDensity f = MakeMixture({a, b}, {2, 1}, 1.0, 0.98, 1, 0, 0.02);
  const VmfKdeComponent one = *VmfKdeComponent::Create({a}, {1}, 1.0);
  // Both clusters reach t: the lighter one has a third of the weight.
  const double t = 0.98 * one.peak_density() * 0.1;
  const SuperlevelResult r = *ExtractSuperlevelSets(f, {t});
  const std::vector<cells::CellUnionPiece> pieces = cells::CellUnionPieces(r.sets[0].cells);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_TRUE(cells::CellUnionContains(pieces[0].cells, a));  // the heavier one is larger
  EXPECT_TRUE(cells::CellUnionContains(pieces[1].cells, b));
  const double exact = MonteCarloAreaKm2(f, t, geo::DestinationPoint(a, 70, 6.0), 12, 200000);
  EXPECT_NEAR(cells::CellUnionAreaKm2(r.sets[0].cells), exact, 0.04 * exact);
  // At a threshold only the heavier cluster reaches: one piece.
  const SuperlevelResult high = *ExtractSuperlevelSets(f, {0.98 * one.peak_density() * 0.5});
  ASSERT_EQ(cells::CellUnionPieces(high.sets[0].cells).size(), 1u);
  EXPECT_FALSE(cells::CellUnionContains(high.sets[0].cells, b));
}

TEST(SuperlevelSetTest, ClusterAcrossTheAntimeridian) {
  std::mt19937_64 rng(8);
  std::vector<geo::LatLon> pos;
  for (int i = 0; i < 40; ++i) pos.push_back(RandomPointAround({-16.5, 180.0}, 0, 3.0, rng));
  const std::vector<double> w(pos.size(), 1.0);
  const PredictiveDensity f = MakeMixture(pos, w, 1.0, 0.9, 300, 0.08, 0.02);
  const double t = f.Density(geo::ToUnitVector({-16.5, 180.0})) * 0.05;
  const SuperlevelResult r = *ExtractSuperlevelSets(f, {t});
  const std::vector<cells::CellUnionPiece> pieces = cells::CellUnionPieces(r.sets[0].cells);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(geo::SplitRingAtAntimeridian(pieces[0].exterior).size(), 2u);
  const double exact = MonteCarloAreaKm2(f, t, {-16.5, 180.0}, 12, 200000);
  EXPECT_NEAR(cells::CellUnionAreaKm2(r.sets[0].cells), exact, 0.04 * exact);
}

TEST(SuperlevelSetTest, ClassifierCellsGiveExactlyTheirCells) {
  // A cell term alone (plus the floor): {f >= t} is exactly the cells whose density reaches t.
  std::vector<cells::CellId> leaves;
  std::vector<double> p;
  for (int i = 0; i < 12; ++i) {
    leaves.push_back(cells::CellIdAt({40.0 + 2 * (i % 4), -5.0 + 3 * (i / 4)}, 7 + i % 2));
    p.push_back(1.0 + i);
  }
  std::vector<PredictiveDensity::Part> parts;
  parts.push_back(
      {0.9, std::make_unique<CellMassComponent>(*CellMassComponent::Create(leaves, p))});
  const PredictiveDensity f = *PredictiveDensity::Create(std::move(parts), 0.1);
  const CellMassComponent c = *CellMassComponent::Create(leaves, p);
  for (double frac : {0.2, 0.5, 0.8}) {
    double top = 0;
    for (cells::CellId id : leaves)
      top = std::max(top, c.Density(cells::CellGeometryOf(id).centre));
    const double t = f.FloorDensity() + 0.9 * frac * top;
    std::vector<cells::CellId> expected;
    for (cells::CellId id : leaves) {
      if (f.Density(cells::CellGeometryOf(id).centre) >= t) expected.push_back(id);
    }
    const SuperlevelResult r = *ExtractSuperlevelSets(f, {t});
    EXPECT_EQ(r.sets[0].cells, cells::NormalizeCellUnion(expected)) << frac;
    EXPECT_EQ(r.sets[0].boundary_area_km2, 0);
  }
}

TEST(SuperlevelSetTest, SpecialThresholds) {
  const OneKernel k{{0, 0}, 1.0};
  const PredictiveDensity f = k.Density();
  const double inf = std::numeric_limits<double>::infinity();
  const SuperlevelResult r =
      *ExtractSuperlevelSets(f, {0.0, f.FloorDensity(), k.Threshold(1.0), inf, 1e6});
  EXPECT_TRUE(r.sets[0].whole_sphere);
  EXPECT_EQ(r.sets[0].cells, cells::WholeSphereCells());
  EXPECT_TRUE(r.sets[1].whole_sphere);
  EXPECT_FALSE(r.sets[2].whole_sphere);
  EXPECT_FALSE(r.sets[2].cells.empty());
  EXPECT_TRUE(r.sets[3].cells.empty());
  EXPECT_FALSE(r.sets[3].whole_sphere);
  EXPECT_TRUE(r.sets[4].cells.empty());
  EXPECT_EQ(ExtractSuperlevelSets(f, {NAN}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ExtractSuperlevelSets(f, {}).ok());
  SuperlevelOptions bad;
  bad.max_cells = 0;
  EXPECT_FALSE(ExtractSuperlevelSets(f, {1.0}, bad).ok());
  bad = {};
  bad.finest_edge_fraction = 0;
  EXPECT_FALSE(ExtractSuperlevelSets(f, {1.0}, bad).ok());
  bad = {};
  bad.max_memo_bytes = -1;
  EXPECT_FALSE(ExtractSuperlevelSets(f, {1.0}, bad).ok());
}

TEST(SuperlevelSetTest, CellCapStopsRefinement) {
  const OneKernel k{{10, 10}, 0.2};
  const PredictiveDensity f = k.Density();
  SuperlevelOptions options;
  options.max_cells = 120;
  const SuperlevelResult r = *ExtractSuperlevelSets(f, {k.Threshold(2.3)}, options);
  EXPECT_TRUE(r.capped);
  EXPECT_LE(r.cells_evaluated, 120);
  const SuperlevelResult free = *ExtractSuperlevelSets(f, {k.Threshold(2.3)});
  EXPECT_FALSE(free.capped);
  EXPECT_GT(free.cells_evaluated, 120);
  // Coarser but still the right place and roughly the right size.
  EXPECT_TRUE(cells::CellUnionContains(r.sets[0].cells, k.centre));
  const double area = cells::CellUnionAreaKm2(r.sets[0].cells);
  EXPECT_LE(std::abs(area - k.AreaKm2(2.3)), r.sets[0].boundary_area_km2);
}

TEST(SuperlevelSetTest, EachThresholdHasItsOwnCellBudget) {
  // A lost answer's density: neighbours scattered over towns a few hundred km apart, a broad
  // term and the floor. Under a small budget the low threshold's continent-sized set is capped;
  // it must not take cells from the high threshold's set, which is the same alone, beside others
  // and in any order.
  std::mt19937_64 rng(21);
  std::vector<geo::LatLon> positions;
  for (int i = 0; i < 40; ++i) positions.push_back(RandomPointAround({48, 8}, 0, 900, rng));
  const std::vector<double> weights(positions.size(), 1.0 / 40);
  const PredictiveDensity f = MakeMixture(positions, weights, 0.5, 0.6, 100, 0.35, 0.05);
  const double floor = f.FloorDensity();
  const double high = floor + 0.3 * (f.Density(geo::ToUnitVector(positions[0])) - floor);
  const double low = floor * 1.05;
  SuperlevelOptions options;
  options.boundary = BoundaryRule::kInclude;
  options.max_cells = 150;
  const SuperlevelResult alone = *ExtractSuperlevelSets(f, {high}, options);
  const SuperlevelResult low_alone = *ExtractSuperlevelSets(f, {low}, options);
  ASSERT_TRUE(low_alone.capped);  // the low set alone uses up a budget
  ASSERT_FALSE(alone.sets[0].cells.empty());
  for (const std::vector<double>& asked :
       {std::vector<double>{high, low}, {low, high}, {low, 0.5 * (high + low), high, high}}) {
    const SuperlevelResult r = *ExtractSuperlevelSets(f, asked, options);
    int64_t evaluated = 0;
    for (size_t i = 0; i < asked.size(); ++i) {
      const SuperlevelSet& set = r.sets[i];
      const SuperlevelSet& expected = asked[i] == high  ? alone.sets[0]
                                      : asked[i] == low ? low_alone.sets[0]
                                                        : set;
      EXPECT_EQ(set.cells, expected.cells) << i;
      EXPECT_EQ(set.boundary_area_km2, expected.boundary_area_km2) << i;
      EXPECT_EQ(set.cells_evaluated, expected.cells_evaluated) << i;
      EXPECT_EQ(set.capped, expected.capped) << i;
      if (i == 0 || asked[i] != asked[i - 1]) evaluated += set.cells_evaluated;
    }
    // Equal thresholds are extracted once.
    EXPECT_EQ(r.cells_evaluated, evaluated);
    EXPECT_TRUE(r.capped);
  }
}

TEST(SuperlevelSetTest, SeveralThresholdsGiveEachThresholdsSoloExtraction) {
  // The traversals of one extraction share cells' geometry and terms' bounds (superlevel_set.h):
  // on random answers' densities (narrow, broad and regional kernels, sometimes classifier cells;
  // localized and scattered neighbours), every set is cell for cell the one its threshold gives
  // alone, under the default budget and a small one, and in either order of the thresholds.
  std::mt19937_64 rng(33);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int trial = 0; trial < 12; ++trial) {
    const geo::LatLon centre{-50 + 100 * unit(rng), -180 + 360 * unit(rng)};
    const double spread_km = trial % 3 == 0 ? 900 : trial % 3 == 1 ? 30 : 2;
    std::vector<geo::LatLon> positions;
    std::vector<double> weights;
    for (int i = 0; i < 60; ++i) {
      positions.push_back(RandomPointAround(centre, 0, spread_km * unit(rng), rng));
      weights.push_back(0.1 + unit(rng));
    }
    std::vector<PredictiveDensity::Part> parts;
    const double h = 0.3 + 2 * unit(rng);
    double rest = 1.0;
    for (const auto& [weight, bandwidth] :
         {std::pair{0.6, h}, std::pair{0.2, 60 + 100 * unit(rng)}, std::pair{0.1, 700.0}}) {
      parts.push_back({weight, std::make_unique<VmfKdeComponent>(
                                   *VmfKdeComponent::Create(positions, weights, bandwidth))});
      rest -= weight;
    }
    if (trial % 4 == 3) {
      std::vector<cells::CellId> leaves;
      for (int i = 0; i < 5; ++i) leaves.push_back(cells::CellIdAt(positions[i], 9));
      leaves = cells::NormalizeCellUnion(leaves);  // disjoint
      std::vector<double> p;
      for (size_t i = 0; i < leaves.size(); ++i) p.push_back(1.0 + static_cast<double>(i));
      parts.push_back(
          {0.05, std::make_unique<CellMassComponent>(*CellMassComponent::Create(leaves, p))});
      rest -= 0.05;
    }
    const PredictiveDensity f = *PredictiveDensity::Create(std::move(parts), rest);
    // Thresholds from the density at neighbours (high) down to just above the floor (low).
    const double floor = f.FloorDensity();
    const double top = f.Density(geo::ToUnitVector(positions[0])) - floor;
    std::vector<double> thresholds;
    for (double depth : {0.5, 0.05, 1e-3, 1e-5}) {
      thresholds.push_back(floor + top * depth * (0.5 + unit(rng)));
    }
    for (int64_t budget : {int64_t{1000}, int64_t{200}}) {
      SuperlevelOptions options;
      options.max_cells = budget;
      options.boundary = trial % 2 == 0 ? BoundaryRule::kCentre : BoundaryRule::kInclude;
      for (bool reversed : {false, true}) {
        std::vector<double> asked = thresholds;
        if (reversed) std::reverse(asked.begin(), asked.end());
        const SuperlevelResult all = *ExtractSuperlevelSets(f, asked, options);
        // The memos are a cache: with no memory for them (every cell bounded from its terms, as
        // beyond their budget), or room for only some, the sets are the same.
        for (int64_t memo_bytes : {int64_t{0}, int64_t{20000}}) {
          SuperlevelOptions no_memo = options;
          no_memo.max_memo_bytes = memo_bytes;
          const SuperlevelResult plain = *ExtractSuperlevelSets(f, asked, no_memo);
          for (size_t i = 0; i < asked.size(); ++i) {
            EXPECT_EQ(plain.sets[i].cells, all.sets[i].cells) << trial << " " << i;
            EXPECT_EQ(plain.sets[i].boundary_area_km2, all.sets[i].boundary_area_km2);
            EXPECT_EQ(plain.sets[i].cells_evaluated, all.sets[i].cells_evaluated);
          }
        }
        for (size_t i = 0; i < asked.size(); ++i) {
          const SuperlevelResult solo = *ExtractSuperlevelSets(f, {asked[i]}, options);
          const SuperlevelSet& set = all.sets[i];
          EXPECT_EQ(set.cells, solo.sets[0].cells) << trial << " " << budget << " " << i;
          EXPECT_EQ(set.boundary_area_km2, solo.sets[0].boundary_area_km2) << trial << " " << i;
          EXPECT_EQ(set.cells_evaluated, solo.sets[0].cells_evaluated) << trial << " " << i;
          EXPECT_EQ(set.capped, solo.sets[0].capped) << trial << " " << i;
        }
      }
    }
  }
}

TEST(SuperlevelSetTest, BroadTermMakesRegionsGrowSmoothly) {
  // Lower thresholds (higher levels) reach the broad component: the area grows continuously from
  // the narrow cluster to the broad one instead of jumping to the whole planet.
  const geo::LatLon c{45.76, 4.84};
  const PredictiveDensity f = MakeMixture({c}, {1.0}, 0.5, 0.9, 100, 0.09, 0.01);
  double previous = 0;
  for (double t = 1e-1; t > 1e-8; t /= 10) {
    const SuperlevelResult r = *ExtractSuperlevelSets(f, {t});
    const double area = cells::CellUnionAreaKm2(r.sets[0].cells);
    EXPECT_GT(area, previous) << t;
    EXPECT_FALSE(r.sets[0].whole_sphere) << t;
    EXPECT_LT(area, 2e6) << t;  // never more than a broad kernel's reach
    previous = area;
  }
}

}  // namespace
}  // namespace geoloc::calibration
