#include "core/calibration/kernel_sums.h"

#include <cmath>
#include <random>
#include <vector>

#include "core/cells/region_cells.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"
#include "core/geo/unit_vector.h"
#include "gtest/gtest.h"
#include "tests/calibration/test_support.h"

namespace geoloc::calibration {
namespace {

TEST(KernelSumsTest, ExpMatchesStdExp) {
  for (double x = -700; x <= 0; x += 0.0137) {
    const double expected = std::exp(x);
    EXPECT_NEAR(ExpOfNonPositive(x), expected, 1e-15 * expected) << x;
  }
  EXPECT_EQ(ExpOfNonPositive(0), 1.0);
  EXPECT_EQ(ExpOfNonPositive(-701), 0.0);
  EXPECT_EQ(ExpOfNonPositive(-1e300), 0.0);
}

struct Kernels {
  std::vector<double> x, y, z, w;
  KernelCentres View() const {
    return {x.data(), y.data(), z.data(), w.data(), w.size(), WeightSum(w.data(), w.size())};
  }
};

Kernels RandomKernels(int n, geo::LatLon around, double spread_km, std::mt19937_64& rng) {
  Kernels k;
  std::uniform_real_distribution<double> u(0.1, 1);
  for (int i = 0; i < n; ++i) {
    const geo::Vec3 v = geo::ToUnitVector(testing::RandomPointAround(around, 0, spread_km, rng));
    k.x.push_back(v.x);
    k.y.push_back(v.y);
    k.z.push_back(v.z);
    k.w.push_back(u(rng));
  }
  return k;
}

double NaiveSum(const Kernels& k, geo::Vec3 at, double half_kappa) {
  double s = 0;
  for (size_t i = 0; i < k.w.size(); ++i) {
    const geo::Vec3 d = geo::Vec3{k.x[i], k.y[i], k.z[i]} - at;
    s += k.w[i] * std::exp(-half_kappa * geo::Dot(d, d));
  }
  return s;
}

TEST(KernelSumsTest, SumsGradientsAndBounds) {
  std::mt19937_64 rng(8);
  const double h = 1.0;
  const double half_kappa = 0.5 * (geo::kEarthRadiusKm / h) * (geo::kEarthRadiusKm / h);
  for (int n : {1, 7, 8, 9, 100, 203}) {  // around the 8-lane blocks
    const Kernels k = RandomKernels(n, {12, 34}, 5, rng);
    for (int s = 0; s < 20; ++s) {
      const geo::Vec3 at = geo::ToUnitVector(testing::RandomPointAround({12, 34}, 0, 8, rng));
      const double expected = NaiveSum(k, at, half_kappa);
      EXPECT_NEAR(KernelSum(k.View(), at, half_kappa), expected, 1e-13 * expected + 1e-300);
      // The gradient by central differences along two tangent directions.
      double value = 0;
      geo::Vec3 g;
      KernelSumAndGradient(k.View(), at, half_kappa, &value, &g);
      EXPECT_NEAR(value, expected, 1e-13 * expected + 1e-300);
      const geo::EastNorthUp enu = geo::EastNorthUpAt(geo::FromUnitVector(at));
      for (const geo::Vec3& dir : {enu.east, enu.north}) {
        const double step = 1e-3 / geo::kEarthRadiusKm;  // 1 m
        const double numeric =
            (NaiveSum(k, at + step * dir, half_kappa) - NaiveSum(k, at - step * dir, half_kappa)) /
            (2 * step);
        // Gradients scale as f sqrt(kappa); central differences over 1 m with h = 1 km err by about
        // (1 m / h)^2 = 1e-6 of that, times a few (a wrong factor or sign errs by 100%).
        EXPECT_NEAR(geo::Dot(g, dir), numeric, 1e-4 * expected * std::sqrt(2 * half_kappa));
      }
      // Bounds over a cell hold at sampled points of it.
      const cells::CellId cell = cells::CellIdAt(geo::FromUnitVector(at), 13 + s % 4);
      const cells::CellGeometry geometry = cells::CellGeometryOf(cell);
      std::vector<double> near(n);
      double lo = 0, hi = 0;
      KernelSumBounds(k.View(), geometry.centre, geometry.outer_chord, half_kappa, &lo, &hi,
                      near.data());
      for (int p = 0; p < 30; ++p) {
        const double f =
            NaiveSum(k, cells::CellCentreVector(testing::RandomLeafIn(cell, rng)), half_kappa);
        EXPECT_LE(lo, f);
        EXPECT_GE(hi, f);
      }
      for (int i = 0; i < n; ++i) {
        const geo::Vec3 v{k.x[i], k.y[i], k.z[i]};
        const double d = geo::Norm(v - geometry.centre);
        const double near_chord = std::max(0.0, d - geometry.outer_chord);
        EXPECT_NEAR(near[i], half_kappa * near_chord * near_chord,
                    1e-9 * half_kappa * near_chord * near_chord + 1e-9);
      }
    }
  }
}

TEST(KernelSumsTest, BoundsFarFromEveryKernelAreTheUnderflowAllowance) {
  // Every term underflows over a cell on the other side of the Earth: the bounds are [0, the view's
  // w_sum x 1e-304], the allowance for terms counted as 0, taken from the view's weight sum.
  std::mt19937_64 rng(9);
  const double half_kappa = 0.5 * (geo::kEarthRadiusKm / 1.0) * (geo::kEarthRadiusKm / 1.0);
  const Kernels k = RandomKernels(19, {12, 34}, 5, rng);
  const cells::CellGeometry far = cells::CellGeometryOf(cells::CellIdAt({-12, -146}, 10));
  std::vector<double> near(19);
  double lo = -1, hi = -1;
  KernelSumBounds(k.View(), far.centre, far.outer_chord, half_kappa, &lo, &hi, near.data());
  EXPECT_EQ(lo, 0.0);
  EXPECT_EQ(hi, WeightSum(k.w.data(), k.w.size()) * 1e-304);
  EXPECT_GT(hi, 0.0);
  KernelCentres half = k.View();
  half.w_sum *= 0.5;
  KernelSumBounds(half, far.centre, far.outer_chord, half_kappa, &lo, &hi, near.data());
  EXPECT_EQ(hi, 0.5 * WeightSum(k.w.data(), k.w.size()) * 1e-304);
}

TEST(KernelSumsTest, WeightSumAddsInIndexOrder) {
  const std::vector<double> w = {1.0, 1e-17, 1e-17, 3.0};
  EXPECT_EQ(WeightSum(w.data(), w.size()), ((1.0 + 1e-17) + 1e-17) + 3.0);
  EXPECT_EQ(WeightSum(w.data(), 0), 0.0);
}

}  // namespace
}  // namespace geoloc::calibration
