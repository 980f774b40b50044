// Helpers shared by the calibration tests: random points and cells, and predictive densities built
// from plain lists of neighbours.
#ifndef GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_
#define GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_

#include <memory>
#include <random>
#include <vector>

#include "core/calibration/predictive_density.h"
#include "core/calibration/vmf_kde_component.h"
#include "core/cells/s2_cells.h"
#include "core/geo/distance.h"
#include "core/geo/lat_lon.h"
#include "gtest/gtest.h"

namespace geoloc::calibration::testing {

// A uniformly random leaf inside `cell` (a random path down its children).
inline cells::CellId RandomLeafIn(cells::CellId cell, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, 3);
  while (cells::CellLevel(cell) < cells::kMaxCellLevel) cell = cells::CellChildren(cell)[pick(rng)];
  return cell;
}

// A point at a uniformly random bearing, at a distance uniform in [lo_km, hi_km].
inline geo::LatLon RandomPointAround(geo::LatLon centre, double lo_km, double hi_km,
                                     std::mt19937_64& rng) {
  std::uniform_real_distribution<double> bearing(0, 360), distance(lo_km, hi_km);
  return geo::DestinationPoint(centre, bearing(rng), distance(rng));
}

// f = narrow KDE (bandwidth h) + broad KDE (bandwidth H) + floor, with the given weights.
inline PredictiveDensity MakeMixture(const std::vector<geo::LatLon>& positions,
                                     const std::vector<double>& weights, double h_km,
                                     double narrow_weight, double broad_km, double broad_weight,
                                     double floor_weight) {
  std::vector<PredictiveDensity::Part> parts;
  parts.push_back({narrow_weight, std::make_unique<VmfKdeComponent>(
                                      *VmfKdeComponent::Create(positions, weights, h_km))});
  if (broad_weight > 0) {
    parts.push_back({broad_weight, std::make_unique<VmfKdeComponent>(
                                       *VmfKdeComponent::Create(positions, weights, broad_km))});
  }
  absl::StatusOr<PredictiveDensity> f = PredictiveDensity::Create(std::move(parts), floor_weight);
  EXPECT_TRUE(f.ok()) << f.status();
  return *std::move(f);
}

}  // namespace geoloc::calibration::testing

#endif  // GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_
