// Helpers shared by the calibration tests: random points and cells, predictive densities built
// from plain lists of neighbours, and a hand-built calibration entry.
#ifndef GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_
#define GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_

#include <algorithm>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/calibration/answer_features.h"
#include "core/calibration/calibration.pb.h"
#include "core/calibration/predictive_density.h"
#include "core/calibration/record.h"
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

// A small valid calibration entry, built by hand. Mixture 0.7 narrow (h = 0.5 km) + 0.25 broad (100 km) + 0.05 floor; two score groups split at raw
// localizability 0.5; P(within 25 km) = 0.1 + 0.8 raw; P(localizable) = 0.4; logistic
// raw = sigmoid(-1 + 0.5 * sum of the features).
inline proto::CalibrationEntry HandEntry() {
  proto::CalibrationEntry e;
  *e.mutable_settings() = SettingsToProto(EstimatorSettings{});
  e.mutable_fit_split()->set_name("val");
  e.mutable_fit_split()->set_photos(100);
  e.mutable_fit_split()->set_with_truth(90);
  e.mutable_calibration_split()->set_name("calib");
  e.mutable_calibration_split()->set_photos(12);
  e.mutable_calibration_split()->set_with_truth(10);
  e.mutable_mixture()->set_narrow(0.7);
  e.mutable_mixture()->set_broad(0.25);
  e.mutable_mixture()->set_floor(0.05);
  e.mutable_mixture()->set_broad_bandwidth_km(100);
  proto::ScoreGroup* g0 = e.add_score_groups();
  for (double s : {4.0, 1.0, 3.0, 2.0}) g0->add_scores(s);
  std::sort(g0->mutable_scores()->begin(), g0->mutable_scores()->end());
  proto::ScoreGroup* g1 = e.add_score_groups();
  g1->set_from_raw_localizability(0.5);
  for (double s : {-1.0, 0.5, std::numeric_limits<double>::infinity()}) g1->add_scores(s);
  proto::WithinModel* w = e.add_within();
  w->set_threshold_km(25);
  w->mutable_isotonic()->add_x(0);
  w->mutable_isotonic()->add_x(1);
  w->mutable_isotonic()->add_y(0.1);
  w->mutable_isotonic()->add_y(0.9);
  proto::LocalizabilityModel* l = e.mutable_localizability();
  l->set_within_km(25);
  for (absl::string_view name : FeatureNames()) {
    l->add_features(std::string(name));
    l->add_feature_mean(0);
    l->add_feature_scale(1);
    l->add_coefficients(0.5);
  }
  l->set_intercept(-1);
  l->mutable_isotonic()->add_x(0.2);
  l->mutable_isotonic()->add_y(0.4);
  return e;
}

}  // namespace geoloc::calibration::testing

#endif  // GEOLOC_TESTS_CALIBRATION_TEST_SUPPORT_H_
