#include "server/request_options.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/estimator_mapping.h"

namespace geoloc::server {
namespace {

using geoloc::v1::LocateOptions;
using ::testing::HasSubstr;

constexpr int kMaxK = 500;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Server defaults that differ from every value the tests send, so "default taken" is visible.
engine::LocateParams Defaults() {
  engine::LocateParams d;
  d.k = 60;
  d.estimator.kind = geo::EstimatorKind::kSphericalKde;
  d.estimator.weight_exponent_m = 5;
  d.estimator.bandwidth_km = 1.0;
  d.estimator.sigma_deg = 0.0025;
  d.estimator.merge_radius_km = 0;
  d.max_peaks = 5;
  d.cell_levels = {6, 10};
  d.max_cells_per_level = 5;
  d.max_classifier_cells = 10;
  d.cell_polygons = false;
  return d;
}

absl::StatusOr<engine::LocateParams> Map(const LocateOptions& o) {
  return ToLocateParams(o, Defaults(), kMaxK);
}

// The call fails with INVALID_ARGUMENT and a message holding every one of `parts`.
void ExpectInvalid(const LocateOptions& o, const std::vector<std::string>& parts) {
  absl::StatusOr<engine::LocateParams> p = Map(o);
  ASSERT_FALSE(p.ok()) << o.ShortDebugString();
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(part)) << o.ShortDebugString();
  }
}

TEST(RequestOptionsTest, EmptyOptionsTakeEveryDefault) {
  absl::StatusOr<engine::LocateParams> p = Map(LocateOptions());
  ASSERT_TRUE(p.ok()) << p.status();
  const engine::LocateParams d = Defaults();
  EXPECT_EQ(p->k, d.k);
  EXPECT_EQ(p->estimator.kind, d.estimator.kind);
  EXPECT_EQ(p->estimator.weight_exponent_m, d.estimator.weight_exponent_m);
  EXPECT_EQ(p->estimator.bandwidth_km, d.estimator.bandwidth_km);
  EXPECT_EQ(p->estimator.sigma_deg, d.estimator.sigma_deg);
  EXPECT_EQ(p->estimator.merge_radius_km, d.estimator.merge_radius_km);
  EXPECT_EQ(p->max_peaks, d.max_peaks);
  EXPECT_EQ(p->cell_levels, d.cell_levels);
  EXPECT_EQ(p->max_cells_per_level, d.max_cells_per_level);
  EXPECT_EQ(p->max_classifier_cells, d.max_classifier_cells);
  EXPECT_FALSE(p->cell_polygons);
}

TEST(RequestOptionsTest, EverySetOptionIsApplied) {
  LocateOptions o;
  o.set_k(7);
  o.set_estimator(geoloc::v1::ESTIMATOR_GRID_KDE);
  o.set_weight_exponent(2);
  o.set_bandwidth_km(3.5);
  o.set_sigma_deg(0.01);
  o.set_merge_radius_km(4);
  o.set_max_peaks(9);
  o.add_cell_levels(13);
  o.set_max_cells_per_level(3);
  o.set_max_classifier_cells(20);
  o.set_return_cell_polygons(true);
  absl::StatusOr<engine::LocateParams> p = Map(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->k, 7);
  EXPECT_EQ(p->estimator.kind, geo::EstimatorKind::kGridKde);
  EXPECT_EQ(p->estimator.weight_exponent_m, 2);
  EXPECT_EQ(p->estimator.bandwidth_km, 3.5);
  EXPECT_EQ(p->estimator.sigma_deg, 0.01);
  EXPECT_EQ(p->estimator.merge_radius_km, 4);
  EXPECT_EQ(p->max_peaks, 9);
  EXPECT_EQ(p->cell_levels, std::vector<int>{13});
  EXPECT_EQ(p->max_cells_per_level, 3);
  EXPECT_EQ(p->max_classifier_cells, 20);
  EXPECT_TRUE(p->cell_polygons);
}

TEST(RequestOptionsTest, KIsLimitedByTheServersMaxK) {
  for (uint32_t k : {1u, 60u, static_cast<uint32_t>(kMaxK)}) {
    LocateOptions o;
    o.set_k(k);
    absl::StatusOr<engine::LocateParams> p = Map(o);
    ASSERT_TRUE(p.ok()) << k << ": " << p.status();
    EXPECT_EQ(p->k, static_cast<int>(k));
  }
  for (uint32_t k : {static_cast<uint32_t>(kMaxK) + 1, 1u << 31, UINT32_MAX}) {
    LocateOptions o;
    o.set_k(k);
    ExpectInvalid(o, {"k = " + std::to_string(k), "limit of 500"});
  }
}

TEST(RequestOptionsTest, EveryEstimatorMapsAndUnknownValuesAreRefused) {
  const std::vector<std::pair<geoloc::v1::Estimator, geo::EstimatorKind>> cases = {
      {geoloc::v1::ESTIMATOR_NEAREST, geo::EstimatorKind::kNearest},
      {geoloc::v1::ESTIMATOR_MEAN, geo::EstimatorKind::kMean},
      {geoloc::v1::ESTIMATOR_WEIGHTED_MEAN, geo::EstimatorKind::kWeightedMean},
      {geoloc::v1::ESTIMATOR_GRID_KDE, geo::EstimatorKind::kGridKde},
      {geoloc::v1::ESTIMATOR_SPHERICAL_KDE, geo::EstimatorKind::kSphericalKde},
  };
  for (const auto& [proto, kind] : cases) {
    LocateOptions o;
    o.set_estimator(proto);
    absl::StatusOr<engine::LocateParams> p = Map(o);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->estimator.kind, kind);
    EXPECT_EQ(api::EstimatorToProto(kind), proto);
  }
  // proto3 enums are open: any int32 arrives as is.
  for (int value : {6, 17, -1, std::numeric_limits<int>::max(), std::numeric_limits<int>::min()}) {
    LocateOptions o;
    o.set_estimator(static_cast<geoloc::v1::Estimator>(value));
    ExpectInvalid(o, {"estimator = " + std::to_string(value)});
  }
}

// A new estimator needs its row in proto/estimator_mapping.cc: every kind maps to its own API value
// (not UNSPECIFIED), which maps back to it.
TEST(RequestOptionsTest, EveryEstimatorMapsToItsOwnApiValue) {
  std::set<int> values;
  for (const geo::EstimatorNames& e : geo::AllEstimators()) {
    const geoloc::v1::Estimator proto = api::EstimatorToProto(e.kind);
    EXPECT_NE(proto, geoloc::v1::ESTIMATOR_UNSPECIFIED) << e.name << " has no API value";
    EXPECT_TRUE(values.insert(proto).second) << e.name << " shares its API value";
    EXPECT_EQ(api::EstimatorFromProto(proto), std::optional<geo::EstimatorKind>(e.kind)) << e.name;
    LocateOptions o;
    o.set_estimator(proto);
    absl::StatusOr<engine::LocateParams> p = Map(o);
    ASSERT_TRUE(p.ok()) << e.name << ": " << p.status();
    EXPECT_EQ(p->estimator.kind, e.kind) << e.name;
  }
  EXPECT_EQ(api::EstimatorFromProto(geoloc::v1::ESTIMATOR_UNSPECIFIED), std::nullopt);
}

// One double option: how to set it, its accepted boundaries and values just outside them.
struct DoubleOption {
  std::string name;
  std::function<void(LocateOptions*, double)> set;
  std::vector<double> accepted;
  std::vector<double> refused;
};

std::vector<DoubleOption> DoubleOptions() {
  return {
      {"weight_exponent",
       [](LocateOptions* o, double v) { o->set_weight_exponent(v); },
       {0, 5, 50},
       {-0.001, 50.001, -1e300, 1e300}},
      {"bandwidth_km",
       [](LocateOptions* o, double v) { o->set_bandwidth_km(v); },
       {0.001, 1, 20000},
       {0, 0.0009, -1, 20000.5}},
      {"sigma_deg",
       [](LocateOptions* o, double v) { o->set_sigma_deg(v); },
       {1e-9, 0.0025, 45},
       {0, -0.0, -1, 45.0001}},
      {"merge_radius_km",
       [](LocateOptions* o, double v) { o->set_merge_radius_km(v); },
       {0, 1, 20015},
       {-0.5, 20015.5}},
  };
}

TEST(RequestOptionsTest, EveryDoubleOptionIsRangeCheckedAndNamed) {
  for (const DoubleOption& option : DoubleOptions()) {
    for (double v : option.accepted) {
      LocateOptions o;
      option.set(&o, v);
      absl::StatusOr<engine::LocateParams> p = Map(o);
      EXPECT_TRUE(p.ok()) << option.name << " = " << v << ": " << p.status();
    }
    for (double v : option.refused) {
      SCOPED_TRACE(option.name + " = " + std::to_string(v));
      LocateOptions o;
      option.set(&o, v);
      ExpectInvalid(o, {option.name + " = ", "out of range"});
    }
  }
}

TEST(RequestOptionsTest, NanAndInfinitiesAreRefusedNamingTheOption) {
  for (const DoubleOption& option : DoubleOptions()) {
    for (double v : {kNan, -kNan, kInf, -kInf}) {
      SCOPED_TRACE(option.name + " = " + std::to_string(v));
      LocateOptions o;
      option.set(&o, v);
      ExpectInvalid(o, {option.name + " = ", "finite"});
    }
  }
}

// One count option: its setter and its largest accepted value (0 always means "default").
struct CountOption {
  std::string name;
  std::function<void(LocateOptions*, uint32_t)> set;
  std::function<int(const engine::LocateParams&)> get;
  uint32_t max;
};

TEST(RequestOptionsTest, EveryCountOptionIsRangeCheckedWithoutWrapping) {
  const std::vector<CountOption> options = {
      {"max_peaks", [](LocateOptions* o, uint32_t v) { o->set_max_peaks(v); },
       [](const engine::LocateParams& p) { return p.max_peaks; }, 100},
      {"max_cells_per_level", [](LocateOptions* o, uint32_t v) { o->set_max_cells_per_level(v); },
       [](const engine::LocateParams& p) { return p.max_cells_per_level; }, 100},
      {"max_classifier_cells", [](LocateOptions* o, uint32_t v) { o->set_max_classifier_cells(v); },
       [](const engine::LocateParams& p) { return p.max_classifier_cells; }, 1000},
  };
  for (const CountOption& option : options) {
    for (uint32_t v : {1u, option.max}) {
      LocateOptions o;
      option.set(&o, v);
      absl::StatusOr<engine::LocateParams> p = Map(o);
      ASSERT_TRUE(p.ok()) << option.name << " = " << v << ": " << p.status();
      EXPECT_EQ(option.get(*p), static_cast<int>(v)) << option.name;
    }
    // 2^32 - 1 would be -1 as an int, and 2^31 would be INT_MIN: the message shows what was sent.
    for (uint32_t v : {option.max + 1, 1u << 31, UINT32_MAX}) {
      SCOPED_TRACE(option.name + " = " + std::to_string(v));
      LocateOptions o;
      option.set(&o, v);
      ExpectInvalid(o, {option.name + " = " + std::to_string(v), "out of range"});
    }
  }
}

TEST(RequestOptionsTest, CellLevelsAreCountedAndRangeChecked) {
  LocateOptions eight;
  for (int level = 0; level < 8; ++level) eight.add_cell_levels(level * 4 > 30 ? 30 : level * 4);
  absl::StatusOr<engine::LocateParams> p = Map(eight);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->cell_levels.size(), 8u);

  LocateOptions nine = eight;
  nine.add_cell_levels(1);
  ExpectInvalid(nine, {"cell_levels", "9 levels", "at most 8"});

  for (int bad : {-1, 31, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()}) {
    LocateOptions o;
    o.add_cell_levels(10);
    o.add_cell_levels(bad);
    ExpectInvalid(o, {"cell_levels[1] = " + std::to_string(bad), "0 to 30"});
  }
  LocateOptions bounds;
  bounds.add_cell_levels(0);
  bounds.add_cell_levels(30);
  p = Map(bounds);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->cell_levels, (std::vector<int>{0, 30}));
}

TEST(RequestOptionsTest, RegionLevelsReplaceTheDefaultsAndAreChecked) {
  absl::StatusOr<engine::LocateParams> defaults = Map(LocateOptions());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->region_levels, std::vector<double>({0.5, 0.68, 0.9, 0.95}));
  EXPECT_FALSE(defaults->region_cells);
  LocateOptions o;
  o.add_region_levels(0.8);
  o.add_region_levels(0.99);
  o.set_return_region_cells(true);
  absl::StatusOr<engine::LocateParams> p = Map(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->region_levels, std::vector<double>({0.8, 0.99}));
  EXPECT_TRUE(p->region_cells);
  for (double bad : {0.0, 1.0, -0.5, kNan}) {
    LocateOptions b;
    b.add_region_levels(0.5);
    b.add_region_levels(bad);
    ExpectInvalid(b, {"region_levels[1]"});
  }
  LocateOptions decreasing;
  decreasing.add_region_levels(0.9);
  decreasing.add_region_levels(0.5);
  ExpectInvalid(decreasing, {"region_levels must increase", "region_levels[1]"});
  LocateOptions many;
  for (int i = 1; i <= engine::kMaxRegionLevels + 1; ++i) many.add_region_levels(i / 10.0);
  ExpectInvalid(many, {"region_levels", "at most 8"});
}

TEST(RequestOptionsTest, TheAbstentionThresholdIsTheServersAndChecked) {
  engine::LocateParams d = Defaults();
  d.abstain_below = 0.3;
  absl::StatusOr<engine::LocateParams> p = ToLocateParams(LocateOptions(), d, kMaxK);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_DOUBLE_EQ(p->abstain_below, 0.3);
  for (double bad : {1.0, -0.1, kNan}) {
    d.abstain_below = bad;
    absl::Status st = engine::ValidateLocateParams(d, kMaxK);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_THAT(std::string(st.message()), HasSubstr("abstain_below")) << bad;
  }
}

TEST(RequestOptionsTest, TheRegionBudgetIsTheServersAndChecked) {
  engine::LocateParams d = Defaults();
  EXPECT_EQ(d.region_cells_per_level, engine::kDefaultRegionCellsPerLevel);
  d.region_cells_per_level = 250;
  absl::StatusOr<engine::LocateParams> p = ToLocateParams(LocateOptions(), d, kMaxK);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->region_cells_per_level, 250);
  for (int bad : {0, 15, 4097}) {
    d.region_cells_per_level = bad;
    absl::Status st = engine::ValidateLocateParams(d, kMaxK);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_THAT(std::string(st.message()), HasSubstr("region_cells_per_level")) << bad;
  }
}

TEST(RequestOptionsTest, AHugeLevelListIsRefusedCheaply) {
  LocateOptions o;
  for (int i = 0; i < 100000; ++i) o.add_cell_levels(10);
  ExpectInvalid(o, {"cell_levels", "100000 levels"});
}

TEST(RequestOptionsTest, BrokenServerDefaultsAreReported) {
  engine::LocateParams bad = Defaults();
  bad.k = kMaxK + 1;
  absl::StatusOr<engine::LocateParams> p = ToLocateParams(LocateOptions(), bad, kMaxK);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("options: k = 501"));
}

TEST(RequestOptionsTest, DefaultsRoundTripThroughLocateOptions) {
  engine::LocateParams d = Defaults();
  d.estimator.kind = geo::EstimatorKind::kWeightedMean;
  d.estimator.merge_radius_km = 2.5;
  LocateOptions o = ToLocateOptions(d);
  EXPECT_EQ(o.k(), 60u);
  EXPECT_EQ(o.estimator(), geoloc::v1::ESTIMATOR_WEIGHTED_MEAN);
  EXPECT_EQ(o.bandwidth_km(), 1.0);
  EXPECT_EQ(o.merge_radius_km(), 2.5);
  EXPECT_THAT(o.cell_levels(), ::testing::ElementsAre(6, 10));

  // Sent back against other defaults, they reproduce `d`.
  engine::LocateParams other;
  other.k = 3;
  other.estimator.bandwidth_km = 7;
  other.max_peaks = 1;
  absl::StatusOr<engine::LocateParams> p = ToLocateParams(o, other, kMaxK);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->k, d.k);
  EXPECT_EQ(p->estimator.kind, d.estimator.kind);
  EXPECT_EQ(p->estimator.bandwidth_km, d.estimator.bandwidth_km);
  EXPECT_EQ(p->estimator.merge_radius_km, d.estimator.merge_radius_km);
  EXPECT_EQ(p->max_peaks, d.max_peaks);
  EXPECT_EQ(p->cell_levels, d.cell_levels);
  EXPECT_EQ(p->max_cells_per_level, d.max_cells_per_level);
  EXPECT_EQ(p->max_classifier_cells, d.max_classifier_cells);
}

TEST(RequestOptionsTest, UnsetMergeRadiusIsReportedAsTheBandwidth) {
  engine::LocateParams d = Defaults();  // merge_radius_km 0: "= bandwidth"
  EXPECT_EQ(ToLocateOptions(d).merge_radius_km(), d.estimator.bandwidth_km);
}

// Search areas: each shape maps to the engine's value; the mode defaults to HARD; the values'
// limits (radius, vertex and token counts, SOFT on circles only, coordinates) are refused with
// INVALID_ARGUMENT naming the field.
TEST(RequestOptionsTest, SearchAreas) {
  LocateOptions o;
  auto* circle = o.mutable_area()->mutable_circle();
  circle->mutable_center()->set_latitude(48.85);
  circle->mutable_center()->set_longitude(2.35);
  circle->set_radius_km(10);
  absl::StatusOr<engine::LocateParams> p = Map(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->area.shape, geo::SearchArea::Shape::kCircle);
  EXPECT_TRUE(p->area.hard());
  EXPECT_EQ(p->area.center.lat, 48.85);
  EXPECT_EQ(p->area.center.lon, 2.35);
  EXPECT_EQ(p->area.radius_km, 10);
  o.mutable_area()->set_mode(geoloc::v1::SearchArea::SOFT);
  p = Map(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->area.soft());

  circle->set_radius_km(0);
  ExpectInvalid(o, {"options: ", "area.circle.radius_km = 0"});
  circle->set_radius_km(kNan);
  ExpectInvalid(o, {"area.circle.radius_km"});
  circle->set_radius_km(5);
  circle->mutable_center()->set_latitude(95);
  ExpectInvalid(o, {"area.circle.center", "latitude 95"});
  o.mutable_area()->set_mode(static_cast<geoloc::v1::SearchArea::Mode>(7));
  ExpectInvalid(o, {"area.mode = 7"});

  LocateOptions poly;
  for (auto [lat, lng] : {std::pair{10.0, 170.0}, {10.0, -170.0}, {-10.0, -170.0}}) {
    auto* v = poly.mutable_area()->mutable_polygon()->add_vertices();
    v->set_latitude(lat);
    v->set_longitude(lng);
  }
  p = Map(poly);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->area.polygon.size(), 3u);
  EXPECT_EQ(p->area.polygon[1].lon, -170);
  poly.mutable_area()->set_mode(geoloc::v1::SearchArea::SOFT);
  ExpectInvalid(poly, {"SOFT needs a circle"});
  poly.mutable_area()->set_mode(geoloc::v1::SearchArea::HARD);
  poly.mutable_area()->mutable_polygon()->mutable_vertices()->RemoveLast();
  ExpectInvalid(poly, {"area.polygon has 2 vertices"});

  LocateOptions cells;
  cells.mutable_area()->mutable_cells();
  ExpectInvalid(cells, {"area.cells has 0 tokens"});
  cells.mutable_area()->mutable_cells()->add_tokens("89c25");
  p = Map(cells);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->area.cell_tokens, std::vector<std::string>{"89c25"});

  // No shape: no area, whatever the mode says.
  LocateOptions none;
  none.mutable_area()->set_mode(geoloc::v1::SearchArea::SOFT);
  p = Map(none);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->area.empty());
}

}  // namespace
}  // namespace geoloc::server
