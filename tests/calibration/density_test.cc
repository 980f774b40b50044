#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "core/calibration/cell_mass_component.h"
#include "core/calibration/predictive_density.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/region_cells.h"
#include "core/geo/distance.h"
#include "core/geo/spherical_kde.h"
#include "core/geo/unit_vector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/calibration/test_support.h"

namespace geoloc::calibration {
namespace {

using testing::RandomLeafIn;
using testing::RandomPointAround;

constexpr double kR = geo::kEarthRadiusKm;

std::vector<geo::LatLon> Cluster(geo::LatLon centre, double spread_km, int k,
                                 std::mt19937_64& rng) {
  std::vector<geo::LatLon> out;
  for (int i = 0; i < k; ++i) out.push_back(RandomPointAround(centre, 0, spread_km, rng));
  return out;
}

TEST(VmfKdeComponentTest, DensityIsGeoSphericalKde) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> w(0.1, 2.0);
  for (double h : {0.05, 0.5, 5.0, 300.0}) {
    const std::vector<geo::LatLon> pos = Cluster({41.9, 12.5}, 3 * h, 30, rng);
    std::vector<double> weights(pos.size());
    for (double& x : weights) x = w(rng);
    const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, weights, h);
    for (int s = 0; s < 20; ++s) {
      const geo::LatLon at = RandomPointAround({41.9, 12.5}, 0, 5 * h, rng);
      const double expected = geo::SphericalKdeDensity(pos, weights, h, at);
      const double got = kde.Density(geo::ToUnitVector(at));
      EXPECT_NEAR(got, expected, 1e-10 * expected + 1e-300) << h;
      EXPECT_NEAR(kde.LogDensity(geo::ToUnitVector(at)), std::log(expected), 1e-9) << h;
    }
  }
}

TEST(VmfKdeComponentTest, LogDensityStaysFiniteFarAway) {
  const VmfKdeComponent kde = *VmfKdeComponent::Create({{0, 0}}, {1.0}, 0.5);
  const geo::LatLon far{0, 90};  // 10,000 km away: the density underflows
  EXPECT_EQ(kde.Density(geo::ToUnitVector(far)), 0.0);
  const geo::Vec3 v = geo::ToUnitVector({0, 0}), x = geo::ToUnitVector(far);
  const double chord2 = geo::Dot(v - x, v - x);
  const double kappa = (kR / 0.5) * (kR / 0.5);
  EXPECT_NEAR(kde.LogDensity(x), std::log(kde.peak_density()) - 0.5 * kappa * chord2,
              1e-9 * 0.5 * kappa * chord2);
}

TEST(VmfKdeComponentTest, IntegratesToOne) {
  // Broad: a latitude-longitude grid over the whole sphere.
  const VmfKdeComponent broad = *VmfKdeComponent::Create({{30, 60}, {-10, 170}}, {1, 3}, 1500);
  double total = 0;
  const double step = 0.5;
  for (double lat = -90 + step / 2; lat < 90; lat += step) {
    for (double lon = -180 + step / 2; lon < 180; lon += step) {
      const double area = kR * kR * std::cos(lat * geo::kDegToRad) * (step * geo::kDegToRad) *
                          (step * geo::kDegToRad);
      total += broad.Density(geo::ToUnitVector({lat, lon})) * area;
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-4);
  // Narrow: rings around the one kernel, out to 10 bandwidths.
  const VmfKdeComponent narrow = *VmfKdeComponent::Create({{-33.9, 151.2}}, {1}, 0.2);
  double mass = 0;
  const double dr = 0.002;
  for (double r = dr / 2; r < 2.0; r += dr) {
    mass += narrow.Density(geo::ToUnitVector(geo::DestinationPoint({-33.9, 151.2}, 17, r))) * 2 *
            geo::kPi * kR * std::sin(r / kR) * dr;
  }
  EXPECT_NEAR(mass, 1.0, 1e-5);
  EXPECT_NEAR(narrow.peak_density(), 1 / (2 * geo::kPi * 0.2 * 0.2), 1e-6);
}

TEST(VmfKdeComponentTest, EqualPositionsMergeAndZeroWeightsDrop) {
  const VmfKdeComponent kde =
      *VmfKdeComponent::Create({{1, 1}, {2, 2}, {1, 1}, {3, 3}}, {1, 2, 3, 0}, 1.0);
  EXPECT_EQ(kde.size(), 2u);
  const VmfKdeComponent same = *VmfKdeComponent::Create({{1, 1}, {2, 2}}, {4, 2}, 1.0);
  const geo::Vec3 x = geo::ToUnitVector({1.001, 1.002});
  EXPECT_NEAR(kde.Density(x), same.Density(x), 1e-12 * same.Density(x));
}

TEST(VmfKdeComponentTest, RejectsBadInput) {
  EXPECT_FALSE(VmfKdeComponent::Create({}, {}, 1).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {1, 2}, 1).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {1}, 0).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {1}, NAN).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{91, 0}}, {1}, 1).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {-1}, 1).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {INFINITY}, 1).ok());
  EXPECT_FALSE(VmfKdeComponent::Create({{0, 0}}, {0}, 1).ok());
}

TEST(VmfKdeComponentTest, BoundsHoldEverywhereInTheCell) {
  std::mt19937_64 rng(2);
  const geo::LatLon centre{64.1, -21.9};
  const std::vector<geo::LatLon> pos = Cluster(centre, 1.5, 40, rng);
  std::vector<double> weights(pos.size(), 1.0);
  const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, weights, 0.5);
  for (int level : {8, 12, 14, 16, 18}) {
    for (int c = 0; c < 30; ++c) {
      const cells::CellId cell = cells::CellIdAt(
          RandomPointAround(centre, 0, 8 * cells::CellAverageEdgeKm(level), rng), level);
      const cells::CellGeometry disc = cells::CellGeometryOf(cell);
      const DensityBounds b = kde.BoundsOverCell(cell, disc);
      ASSERT_LE(b.lo, b.hi);
      for (int s = 0; s < 40; ++s) {
        const double f = kde.Density(geo::ToUnitVector(cells::CellCenter(RandomLeafIn(cell, rng))));
        EXPECT_LE(b.lo, f * (1 + 1e-12)) << level;
        EXPECT_GE(b.hi, f * (1 - 1e-12)) << level;
      }
    }
  }
  // Tight for a small cell: hi / lo close to 1 where the density is smooth.
  const cells::CellId small = cells::CellIdAt(centre, 20);  // about 10 m, h = 500 m
  const DensityBounds b = kde.BoundsOverCell(small, cells::CellGeometryOf(small));
  EXPECT_LT(b.hi / b.lo, 1.2);
}

TEST(VmfKdeComponentTest, TermsMemoGivesExactlyTheBoundsOverTheTerms) {
  // Region extraction reads a cell's bounds and pruning from the memo (density_component.h): for
  // every cell, subset (all the terms, or some) and `negligible`, exactly BoundsOverTerms, with the
  // same kept terms in the same order.
  std::mt19937_64 rng(12);
  const geo::LatLon centre{-1.3, 36.8};
  const std::vector<geo::LatLon> pos = Cluster(centre, 20, 50, rng);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> weights;
  for (size_t i = 0; i < pos.size(); ++i) weights.push_back(0.1 + unit(rng));
  for (double h : {0.5, 8.0, 400.0}) {
    const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, weights, h);
    ASSERT_EQ(kde.TermsMemoSize(TermSubset{}), 2 + static_cast<int64_t>(kde.size()));
    int pruned = 0;
    for (int level : {4, 8, 11, 14, 17}) {
      for (int c = 0; c < 20; ++c) {
        const cells::CellId cell = cells::CellIdAt(
            RandomPointAround(centre, 0, 30 + 4 * cells::CellAverageEdgeKm(level), rng), level);
        const cells::CellGeometry disc = cells::CellGeometryOf(cell);
        std::vector<int32_t> some;
        for (int32_t i = 0; i < static_cast<int32_t>(kde.size()); ++i) {
          if (unit(rng) < 0.3) some.push_back(i);
        }
        for (const TermSubset terms : {TermSubset{}, TermSubset{false, some}}) {
          ASSERT_EQ(kde.TermsMemoSize(terms),
                    2 + static_cast<int64_t>(terms.all ? kde.size() : some.size()));
          std::vector<double> memo(kde.TermsMemoSize(terms));
          kde.MemoiseTerms(disc, terms, memo.data());
          for (double share : {0.0, 1e-9, 1e-4, 1e-1}) {
            const double negligible = share * kde.peak_density();
            std::vector<int32_t> kept_direct = {-7}, kept_memo = {-7};
            const TermBounds direct =
                kde.BoundsOverTerms(cell, disc, terms, negligible, &kept_direct);
            const TermBounds from_memo =
                kde.BoundsFromTermsMemo(terms, memo.data(), negligible, &kept_memo);
            EXPECT_EQ(from_memo.bounds.lo, direct.bounds.lo);
            EXPECT_EQ(from_memo.bounds.hi, direct.bounds.hi);
            EXPECT_EQ(from_memo.pruned, direct.pruned);
            EXPECT_EQ(from_memo.left_out_hi, direct.left_out_hi);
            EXPECT_EQ(kept_memo, kept_direct);
            pruned += direct.pruned;
          }
        }
      }
    }
    EXPECT_GT(pruned, 0) << h;  // the pruning path was exercised
  }
  // A component without per-term bounds keeps no memo.
  const CellMassComponent cells_only =
      *CellMassComponent::Create({cells::CellIdAt(centre, 8)}, {1.0});
  EXPECT_EQ(cells_only.TermsMemoSize(TermSubset{}), 0);
}

TEST(VmfKdeComponentTest, BoundsFarAwayCountTheWeightsOfTheTermsGiven) {
  // Far from every kernel each term underflows and only the allowance for underflow is left: C
  // times the given terms' weight sum times 1e-304 (kernel_sums.h), the subset's own, not all the
  // kernels' (the weight sum of the terms is kept with the component, and gathered with a subset).
  std::mt19937_64 rng(21);
  const std::vector<geo::LatLon> pos = Cluster({48.1, 11.6}, 12, 20, rng);
  std::vector<double> weights;
  for (size_t i = 0; i < pos.size(); ++i) weights.push_back(1.0 + static_cast<double>(i));
  const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, weights, 0.5);
  ASSERT_EQ(kde.size(), pos.size());
  const cells::CellId cell = cells::CellIdAt({-48.1, -168.4}, 9);
  const cells::CellGeometry disc = cells::CellGeometryOf(cell);
  const std::vector<int32_t> some = {0, 3, 7};
  const TermBounds all = kde.BoundsOverTerms(cell, disc, TermSubset{}, 0.0, nullptr);
  const TermBounds part = kde.BoundsOverTerms(cell, disc, TermSubset{false, some}, 0.0, nullptr);
  EXPECT_EQ(all.bounds.lo, 0.0);
  EXPECT_EQ(part.bounds.lo, 0.0);
  EXPECT_NEAR(all.bounds.hi, kde.peak_density() * 1e-304, 1e-12 * kde.peak_density() * 1e-304);
  // 3 of 20 kernels of weights 1..20 (normalised): at most 18 + 19 + 20 = 57 of 210.
  EXPECT_GT(part.bounds.hi, 0.0);
  EXPECT_LT(part.bounds.hi, 0.28 * all.bounds.hi);
  std::vector<double> memo(kde.TermsMemoSize(TermSubset{false, some}));
  kde.MemoiseTerms(disc, TermSubset{false, some}, memo.data());
  EXPECT_EQ(memo[1], part.bounds.hi);
}

TEST(VmfKdeComponentTest, BoundsOverACellDoNotDependOnWhatWasBoundedBefore) {
  // Bounds over all the terms reuse the distances to the cell's centre of the last component with
  // the same kernels bounded over the same centre on this thread (an answer's three bandwidths).
  // Interleaved over cells and components (shared kernels, other kernels, a copy), every bound and
  // exponent is exactly the one the terms give listed one by one (which never reuses distances).
  std::mt19937_64 rng(23);
  const geo::LatLon centre{35.7, 139.7};
  std::vector<double> weights;
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 37; ++i) weights.push_back(0.1 + unit(rng));
  const VmfKdeComponent a = *VmfKdeComponent::Create(Cluster(centre, 30, 37, rng), weights, 0.5);
  const VmfKdeComponent other =
      *VmfKdeComponent::Create(Cluster(centre, 30, 37, rng), weights, 0.5);
  const VmfKdeComponent broad = *a.WithBandwidth(5.0);
  const VmfKdeComponent regional = *a.WithBandwidth(400.0);
  const VmfKdeComponent copy = a;
  std::vector<cells::CellId> cells;
  for (int level : {6, 9, 12, 15}) {
    for (int c = 0; c < 5; ++c) {
      cells.push_back(cells::CellIdAt(RandomPointAround(centre, 0, 40, rng), level));
    }
  }
  int checked = 0;
  for (int round = 0; round < 2; ++round) {
    for (const cells::CellId cell : cells) {
      const cells::CellGeometry disc = cells::CellGeometryOf(cell);
      for (const VmfKdeComponent* c : {&a, &broad, &other, &regional, &copy, &a}) {
        std::vector<int32_t> every(c->size());
        for (int32_t i = 0; i < static_cast<int32_t>(every.size()); ++i) every[i] = i;
        const TermSubset listed{false, every};
        std::vector<double> memo(c->TermsMemoSize(TermSubset{})), expected(memo.size());
        c->MemoiseTerms(disc, listed, expected.data());
        c->MemoiseTerms(disc, TermSubset{}, memo.data());
        ASSERT_EQ(memo, expected) << "cell " << cell << " round " << round;
        const TermBounds direct = c->BoundsOverTerms(cell, disc, TermSubset{}, 0.0, nullptr);
        EXPECT_EQ(direct.bounds.lo, expected[0]);
        EXPECT_EQ(direct.bounds.hi, expected[1]);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * 20 * 6);
}

TEST(VmfKdeComponentTest, WithBandwidthIsCreateAtThatBandwidth) {
  std::mt19937_64 rng(14);
  const geo::LatLon centre{59.3, 18.1};
  std::vector<geo::LatLon> pos = Cluster(centre, 40, 30, rng);
  pos.push_back(pos[3]);  // merged with its twin
  std::vector<double> weights;
  for (size_t i = 0; i < pos.size(); ++i) weights.push_back(i % 7 == 0 ? 0.0 : 1.0 + i);
  const VmfKdeComponent narrow = *VmfKdeComponent::Create(pos, weights, 0.5);
  for (double h : {0.5, 90.0, 1500.0}) {
    const VmfKdeComponent expected = *VmfKdeComponent::Create(pos, weights, h);
    const VmfKdeComponent derived = *narrow.WithBandwidth(h);
    EXPECT_EQ(derived.size(), expected.size());
    EXPECT_EQ(derived.bandwidth_km(), h);
    EXPECT_EQ(derived.peak_density(), expected.peak_density());
    for (int s = 0; s < 50; ++s) {
      const geo::LatLon p = RandomPointAround(centre, 0, 4 * h + 50, rng);
      const geo::Vec3 x = geo::ToUnitVector(p);
      EXPECT_EQ(derived.Density(x), expected.Density(x));
      EXPECT_EQ(derived.LogDensity(x), expected.LogDensity(x));
      const cells::CellId cell = cells::CellIdAt(p, 6 + s % 10);
      const cells::CellGeometry disc = cells::CellGeometryOf(cell);
      std::vector<int32_t> kept_derived, kept_expected;
      const double negligible = 1e-4 * expected.peak_density();
      const TermBounds a =
          derived.BoundsOverTerms(cell, disc, TermSubset{}, negligible, &kept_derived);
      const TermBounds b =
          expected.BoundsOverTerms(cell, disc, TermSubset{}, negligible, &kept_expected);
      EXPECT_EQ(a.bounds.lo, b.bounds.lo);
      EXPECT_EQ(a.bounds.hi, b.bounds.hi);
      EXPECT_EQ(kept_derived, kept_expected);
    }
  }
  EXPECT_EQ(narrow.WithBandwidth(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(narrow.WithBandwidth(NAN).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(narrow.WithBandwidth(3e4).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VmfKdeComponentTest, SuperlevelCoverHoldsTheSet) {
  std::mt19937_64 rng(3);
  const std::vector<geo::LatLon> pos = {{10, 10}, {10.05, 10.02}, {10.3, 9.9}};
  const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, {1, 2, 1}, 2.0);
  for (double frac : {0.01, 0.1, 0.3}) {
    const double t = frac * kde.peak_density();
    std::vector<cells::SphereCap> caps;
    kde.AppendSuperlevelCover(t, &caps);
    ASSERT_EQ(caps.size(), 3u);
    for (int s = 0; s < 3000; ++s) {
      const geo::Vec3 x = geo::ToUnitVector(RandomPointAround({10.1, 10}, 0, 40, rng));
      if (kde.Density(x) < t) continue;
      bool in_some = false;
      for (const auto& c : caps) in_some |= geo::Norm(x - c.centre) <= c.chord;
      EXPECT_TRUE(in_some);
    }
  }
  std::vector<cells::SphereCap> none;
  kde.AppendSuperlevelCover(2 * kde.peak_density(), &none);
  EXPECT_TRUE(none.empty());
}

// The Rice CDF by direct integration over the disc (polar coordinates about the disc's centre).
double RiceCdf(double d, double t, double sigma) {
  const int nr = 400, nt = 400;
  double s = 0;
  for (int i = 0; i < nr; ++i) {
    const double r = (i + 0.5) * t / nr;
    for (int j = 0; j < nt; ++j) {
      const double th = (j + 0.5) * 2 * geo::kPi / nt;
      s += r * std::exp(-(r * r + d * d - 2 * r * d * std::cos(th)) / (2 * sigma * sigma));
    }
  }
  return s * (t / nr) * (2 * geo::kPi / nt) / (2 * geo::kPi * sigma * sigma);
}

TEST(VmfKdeComponentTest, GaussianMassWithinIsWithinItsStatedError) {
  for (double d : {0.0, 0.3, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0}) {
    for (double t : {0.1, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0}) {
      EXPECT_NEAR(GaussianMassWithin(d, t, 1.0), RiceCdf(d, t, 1.0), 0.015) << d << " " << t;
    }
  }
  EXPECT_EQ(GaussianMassWithin(0, 0, 1), 0.0);
  EXPECT_EQ(GaussianMassWithin(100, 10, 1), 0.0);
  EXPECT_EQ(GaussianMassWithin(1, 100, 1), 1.0);
  // Scale free.
  EXPECT_NEAR(GaussianMassWithin(2, 3, 1), GaussianMassWithin(200, 300, 100), 1e-12);
}

TEST(VmfKdeComponentTest, MassWithinMatchesIntegratedDensity) {
  const geo::LatLon at{45, 7};
  const std::vector<geo::LatLon> pos = {geo::DestinationPoint(at, 30, 0.8),
                                        geo::DestinationPoint(at, 200, 2.5), at};
  const VmfKdeComponent kde = *VmfKdeComponent::Create(pos, {1, 1, 2}, 0.6);
  for (double t : {0.5, 1.0, 2.0, 3.0}) {
    // Integrate the density over the cap by rings.
    double mass = 0;
    const int nr = 300, nb = 180;
    for (int i = 0; i < nr; ++i) {
      const double r = (i + 0.5) * t / nr;
      for (int j = 0; j < nb; ++j) {
        const geo::LatLon p = geo::DestinationPoint(at, (j + 0.5) * 360.0 / nb, r);
        mass += kde.Density(geo::ToUnitVector(p)) * (2 * geo::kPi * r / nb) * (t / nr);
      }
    }
    EXPECT_NEAR(kde.MassWithin(geo::ToUnitVector(at), t), mass, 0.015) << t;
  }
}

TEST(CellMassComponentTest, DensityIsProbabilityOverArea) {
  const cells::CellId a = cells::CellIdAt({48.85, 2.35}, 6);
  const cells::CellId b = cells::CellIdAt({40.4, -3.7}, 7);
  const CellMassComponent c = *CellMassComponent::Create({a, b}, {3, 1});
  EXPECT_NEAR(c.Density(geo::ToUnitVector({48.85, 2.35})), 0.75 / cells::CellAreaKm2(a), 1e-15);
  EXPECT_NEAR(c.Density(geo::ToUnitVector({40.4, -3.7})), 0.25 / cells::CellAreaKm2(b), 1e-15);
  EXPECT_EQ(c.Density(geo::ToUnitVector({-30, 100})), 0.0);
  EXPECT_EQ(c.LogDensity(geo::ToUnitVector({-30, 100})), -std::numeric_limits<double>::infinity());
  // Bounds: exact inside, [0, max] over a cell holding one of them, 0 elsewhere.
  const cells::CellId inside = cells::CellIdAt({48.85, 2.35}, 12);
  const DensityBounds in = c.BoundsOverCell(inside, cells::CellGeometryOf(inside));
  EXPECT_EQ(in.lo, 0.75 / cells::CellAreaKm2(a));
  EXPECT_EQ(in.hi, in.lo);
  const cells::CellId above = cells::CellParent(b, 3);
  const DensityBounds over = c.BoundsOverCell(above, cells::CellGeometryOf(above));
  EXPECT_EQ(over.lo, 0);
  EXPECT_GE(over.hi, 0.25 / cells::CellAreaKm2(b));
  const cells::CellId away = cells::CellIdAt({-30, 100}, 5);
  EXPECT_EQ(c.BoundsOverCell(away, cells::CellGeometryOf(away)).hi, 0);
  // Mass: everything within half the planet of Paris; nothing within 1 km of the far point.
  EXPECT_NEAR(c.MassWithin(geo::ToUnitVector({48.85, 2.35}), 20000), 1.0, 1e-12);
  EXPECT_EQ(c.MassWithin(geo::ToUnitVector({-30, 100}), 1), 0.0);
  EXPECT_GT(c.ScaleKm(), 0);
}

TEST(CellMassComponentTest, RejectsBadInput) {
  const cells::CellId a = cells::CellIdAt({1, 1}, 5);
  EXPECT_FALSE(CellMassComponent::Create({}, {}).ok());
  EXPECT_FALSE(CellMassComponent::Create({a}, {1, 1}).ok());
  EXPECT_FALSE(CellMassComponent::Create({cells::kNoCell}, {1}).ok());
  EXPECT_FALSE(CellMassComponent::Create({a, cells::CellChildren(a)[1]}, {1, 1}).ok());
  EXPECT_FALSE(CellMassComponent::Create({a}, {-1}).ok());
  EXPECT_FALSE(CellMassComponent::Create({a}, {0}).ok());
}

TEST(PredictiveDensityTest, MixesComponentsAndFloor) {
  const std::vector<geo::LatLon> pos = {{35.68, 139.69}};
  const PredictiveDensity f = testing::MakeMixture(pos, {1.0}, 0.5, 0.8, 200, 0.15, 0.05);
  const VmfKdeComponent narrow = *VmfKdeComponent::Create(pos, {1.0}, 0.5);
  const VmfKdeComponent broad = *VmfKdeComponent::Create(pos, {1.0}, 200);
  const double u = UniformSphereDensity();
  EXPECT_NEAR(u * 4 * geo::kPi * kR * kR, 1.0, 1e-15);
  for (double km : {0.0, 0.4, 3.0, 150.0, 5000.0}) {
    const geo::Vec3 x = geo::ToUnitVector(geo::DestinationPoint(pos[0], 45, km));
    const double expected = 0.8 * narrow.Density(x) + 0.15 * broad.Density(x) + 0.05 * u;
    EXPECT_NEAR(f.Density(x), expected, 1e-12 * expected) << km;
    EXPECT_NEAR(f.LogDensity(x), std::log(expected), 1e-9) << km;
  }
  // Far away only the floor remains, and the log is still exact.
  const geo::Vec3 antipode = geo::ToUnitVector({-35.68, 139.69 - 180});
  EXPECT_NEAR(f.LogDensity(antipode), std::log(0.05 * u), 1e-9);
  EXPECT_EQ(f.ScaleKm(), 0.5);
  EXPECT_NEAR(f.FloorDensity(), 0.05 * u, 1e-25);
  // MassWithin: all of it within half the circumference.
  EXPECT_NEAR(f.MassWithin(geo::ToUnitVector(pos[0]), geo::kHalfCircumferenceKm), 1.0, 1e-9);
  EXPECT_EQ(f.MassWithin(geo::ToUnitVector(pos[0]), 0), 0.0);
}

TEST(PredictiveDensityTest, CoverAndWholeSphere) {
  const PredictiveDensity f = testing::MakeMixture({{0, 0}}, {1.0}, 1.0, 0.9, 100, 0.05, 0.05);
  bool whole = false;
  EXPECT_TRUE(f.SuperlevelCover(0.5 * f.FloorDensity(), &whole).empty());
  EXPECT_TRUE(whole);
  const std::vector<cells::SphereCap> caps = f.SuperlevelCover(0.01, &whole);
  EXPECT_FALSE(whole);
  EXPECT_FALSE(caps.empty());
  EXPECT_TRUE(f.SuperlevelCover(1e9, &whole).empty());
  EXPECT_FALSE(whole);
}

TEST(PredictiveDensityTest, RejectsBadWeights) {
  auto part = [](double w) {
    return PredictiveDensity::Part{
        w, std::make_unique<VmfKdeComponent>(*VmfKdeComponent::Create({{0, 0}}, {1}, 1))};
  };
  std::vector<PredictiveDensity::Part> parts;
  parts.push_back(part(0.5));
  EXPECT_FALSE(PredictiveDensity::Create(std::move(parts), 0.4).ok());  // sums to 0.9
  parts.clear();
  parts.push_back(part(-0.1));
  EXPECT_FALSE(PredictiveDensity::Create(std::move(parts), 1.1).ok());
  parts.clear();
  parts.push_back({1.0, nullptr});
  EXPECT_FALSE(PredictiveDensity::Create(std::move(parts), 0).ok());
  EXPECT_TRUE(PredictiveDensity::Create({}, 1.0).ok());  // the floor alone
}

}  // namespace
}  // namespace geoloc::calibration
