#include "core/cells/adaptive_cells.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cells/crafted_world.h"

namespace geoloc::cells {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// (id, count) of every node, for comparing against hand-derived expectations.
std::vector<std::pair<CellId, int64_t>> Counts(const CellHierarchy& h) {
  std::vector<std::pair<CellId, int64_t>> out;
  for (const CellNode& node : h.nodes()) out.emplace_back(node.id, node.count);
  return out;
}

const CellNode& Node(const CellHierarchy& h, CellId id) {
  const int index = h.NodeIndex(id);
  EXPECT_GE(index, 0) << CellToken(id);
  return h.nodes()[index];
}

TEST(AdaptiveCellsTest, CraftedWorldGivesTheHandDerivedHierarchy) {
  const CraftedWorld w = MakeCraftedWorld();
  auto h = GenerateAdaptiveCells(w.points, w.options);
  ASSERT_TRUE(h.ok()) << h.status();

  EXPECT_THAT(Counts(*h),
              UnorderedElementsAre(std::pair{w.a, 26}, std::pair{w.a0, 13}, std::pair{w.a00, 12},
                                   std::pair{w.a000, 12}, std::pair{w.a1, 8}, std::pair{w.a3, 4},
                                   std::pair{w.b, 11}, std::pair{w.d, 10}));
  // Node order: level, then id.
  std::vector<CellId> ids;
  for (const CellNode& node : h->nodes()) ids.push_back(node.id);
  EXPECT_THAT(ids, ElementsAre(w.a, w.b, w.d, w.a0, w.a1, w.a3, w.a00, w.a000));

  // Leaves numbered by increasing id.
  ASSERT_EQ(h->num_classes(), 5);
  EXPECT_EQ(h->leaf_node(0).id, w.a000);
  EXPECT_EQ(h->leaf_node(1).id, w.a1);
  EXPECT_EQ(h->leaf_node(2).id, w.a3);
  EXPECT_EQ(h->leaf_node(3).id, w.b);
  EXPECT_EQ(h->leaf_node(4).id, w.d);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(h->leaf_node(k).leaf_class, k);

  EXPECT_EQ(h->depth(), 4);  // levels 2..5
  EXPECT_EQ(h->total_points(), 50);
  EXPECT_EQ(h->options(), w.options);

  // Structure: parents and children.
  EXPECT_EQ(Node(*h, w.a).parent, -1);
  EXPECT_EQ(Node(*h, w.b).parent, -1);
  EXPECT_EQ(Node(*h, w.d).parent, -1);
  EXPECT_EQ(h->nodes()[Node(*h, w.a0).parent].id, w.a);
  EXPECT_EQ(h->nodes()[Node(*h, w.a000).parent].id, w.a00);
  std::vector<CellId> children_of_a;
  for (int child : Node(*h, w.a).children) children_of_a.push_back(h->nodes()[child].id);
  EXPECT_THAT(children_of_a, ElementsAre(w.a0, w.a1, w.a3));
  EXPECT_TRUE(Node(*h, w.b).children.empty());  // its children were all dropped
  EXPECT_FALSE(Node(*h, w.a).is_leaf());
  EXPECT_FALSE(Node(*h, w.a00).is_leaf());
  EXPECT_TRUE(Node(*h, w.b).is_leaf());

  // Dropped cells are absent.
  for (CellId dropped : {w.a01, w.a2, w.c, w.e, CellChildren(w.b)[0]}) {
    EXPECT_EQ(h->NodeIndex(dropped), -1) << CellToken(dropped);
  }
}

TEST(AdaptiveCellsTest, InputOrderDoesNotMatter) {
  CraftedWorld w = MakeCraftedWorld();
  auto first = GenerateAdaptiveCells(w.points, w.options);
  std::mt19937 rng(3);
  std::shuffle(w.points.begin(), w.points.end(), rng);
  auto second = GenerateAdaptiveCells(w.points, w.options);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first->ToJson(), *second->ToJson());
}

TEST(AdaptiveCellsTest, ZeroTMinKeepsEveryNonEmptyCell) {
  CraftedWorld w = MakeCraftedWorld();
  w.options.t_min = 0;
  auto h = GenerateAdaptiveCells(w.points, w.options);
  ASSERT_TRUE(h.ok()) << h.status();
  const std::array<CellId, 4> b = CellChildren(w.b);
  EXPECT_THAT(Counts(*h),
              UnorderedElementsAre(std::pair{w.a, 26}, std::pair{w.a0, 13}, std::pair{w.a00, 12},
                                   std::pair{w.a000, 12}, std::pair{w.a01, 1}, std::pair{w.a1, 8},
                                   std::pair{w.a2, 1}, std::pair{w.a3, 4}, std::pair{w.b, 11},
                                   std::pair{b[0], 3}, std::pair{b[1], 3}, std::pair{b[2], 3},
                                   std::pair{b[3], 2}, std::pair{w.c, 3}, std::pair{w.d, 10}));
  EXPECT_EQ(h->num_classes(), 11);
  EXPECT_FALSE(Node(*h, w.b).is_leaf());
}

TEST(AdaptiveCellsTest, LevelCapLeavesOverfullCells) {
  CraftedWorld w = MakeCraftedWorld();
  w.options.lvl_end = 4;  // A0_0 (12 points) can no longer split
  auto h = GenerateAdaptiveCells(w.points, w.options);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(Node(*h, w.a00).is_leaf());
  EXPECT_EQ(Node(*h, w.a00).count, 12);
  EXPECT_EQ(h->NodeIndex(w.a000), -1);
  EXPECT_EQ(h->depth(), 3);
}

TEST(AdaptiveCellsTest, StartEqualToEndKeepsOnlyRoots) {
  CraftedWorld w = MakeCraftedWorld();
  w.options.lvl_end = w.options.lvl_start;
  auto h = GenerateAdaptiveCells(w.points, w.options);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_THAT(Counts(*h), ElementsAre(std::pair{w.a, 26}, std::pair{w.b, 11}, std::pair{w.d, 10}));
  EXPECT_EQ(h->num_classes(), 3);
  EXPECT_EQ(h->depth(), 1);
}

TEST(AdaptiveCellsTest, FacesMakeAForest) {
  // Level 0 start: one root per face that holds points. Points near the centre of all six faces.
  std::vector<geo::LatLon> points;
  for (const geo::LatLon p : {geo::LatLon{1, 1}, geo::LatLon{1, 91}, geo::LatLon{89, 0},
                              geo::LatLon{1, 179}, geo::LatLon{-1, -89}, geo::LatLon{-89, 0}}) {
    for (int i = 0; i < 3; ++i) points.push_back(p);
  }
  AdaptiveCellOptions options;
  options.lvl_start = 0;
  options.lvl_end = 3;
  options.t_min = 1;
  options.t_max = 100;
  auto h = GenerateAdaptiveCells(points, options);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->num_nodes(), 6);
  for (int face = 0; face < 6; ++face) {
    const CellNode& root = h->nodes()[face];
    EXPECT_EQ(root.id, FaceCell(face));
    EXPECT_EQ(root.parent, -1);
    EXPECT_EQ(root.count, 3);
    EXPECT_EQ(root.leaf_class, face);
  }
}

TEST(AdaptiveCellsTest, RejectsBadInputWithClearErrors) {
  const CraftedWorld w = MakeCraftedWorld();
  std::vector<geo::LatLon> points = w.points;
  points[7] = {91.0, 0.0};
  auto bad_point = GenerateAdaptiveCells(points, w.options);
  ASSERT_FALSE(bad_point.ok());
  EXPECT_EQ(bad_point.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_point.status().message()), HasSubstr("points[7]"));
  EXPECT_THAT(std::string(bad_point.status().message()), HasSubstr("latitude"));

  points[7] = {0.0, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THAT(std::string(GenerateAdaptiveCells(points, w.options).status().message()),
              HasSubstr("points[7]"));

  auto none = GenerateAdaptiveCells({}, w.options);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  AdaptiveCellOptions all_dropped = w.options;
  all_dropped.t_min = 27;
  all_dropped.t_max = 30;
  auto empty = GenerateAdaptiveCells(w.points, all_dropped);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("lower t_min"));
}

TEST(AdaptiveCellsTest, ValidatesOptions) {
  const CraftedWorld w = MakeCraftedWorld();
  struct Case {
    AdaptiveCellOptions options;
    const char* field;
  };
  std::vector<Case> cases;
  AdaptiveCellOptions o;
  o.lvl_start = -1;
  cases.push_back({o, "lvl_start"});
  o = {};
  o.lvl_start = 5;
  o.lvl_end = 4;
  cases.push_back({o, "lvl_end"});
  o = {};
  o.lvl_end = 31;
  cases.push_back({o, "lvl_end"});
  o = {};
  o.t_min = -1;
  cases.push_back({o, "t_min"});
  o = {};
  o.t_min = 10;
  o.t_max = 9;
  cases.push_back({o, "t_max"});
  for (const Case& c : cases) {
    SCOPED_TRACE(AdaptiveCellOptionsToString(c.options));
    EXPECT_EQ(ValidateAdaptiveCellOptions(c.options).code(), absl::StatusCode::kInvalidArgument);
    auto h = GenerateAdaptiveCells(w.points, c.options);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(h.status().message()), HasSubstr(c.field));
  }
  AdaptiveCellOptions edge;
  edge.lvl_start = 0;
  edge.lvl_end = 30;
  edge.t_min = 0;
  edge.t_max = 0;
  EXPECT_TRUE(ValidateAdaptiveCellOptions(edge).ok());
  EXPECT_TRUE(ValidateAdaptiveCellOptions(AdaptiveCellOptions{}).ok());
}

// A million points: half in 40 Gaussian clusters, half uniform on the sphere. Checks the
// invariants of Algorithm 1 and that every leaf's count is the number of points LeafClassOf
// assigns to it (counted independently, point by point).
TEST(AdaptiveCellsTest, MillionPointsSatisfyTheInvariants) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> jitter(0.0, 0.2);
  std::vector<geo::LatLon> centres;
  for (int i = 0; i < 40; ++i) centres.push_back({-60 + 120 * unit(rng), -180 + 360 * unit(rng)});
  std::vector<geo::LatLon> points;
  const int n = 1000000;
  points.reserve(n);
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      const geo::LatLon& c = centres[i / 2 % centres.size()];
      points.push_back({std::clamp(c.lat + jitter(rng), -90.0, 90.0),
                        std::clamp(c.lon + jitter(rng), -180.0, 180.0)});
    } else {
      // Uniform on the sphere: sin(lat) uniform in [-1, 1].
      points.push_back({std::asin(2 * unit(rng) - 1) / geo::kDegToRad, -180 + 360 * unit(rng)});
    }
  }
  AdaptiveCellOptions options;
  options.lvl_start = 2;
  options.lvl_end = 12;
  options.t_min = 200;
  options.t_max = 5000;
  auto h = GenerateAdaptiveCells(points, options);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_GT(h->num_classes(), 100);
  EXPECT_EQ(h->total_points(), n);

  std::vector<int64_t> per_class(h->num_classes(), 0);
  for (const geo::LatLon& p : points) {
    const int k = h->LeafClassOf(p);
    if (k >= 0) ++per_class[k];
  }
  for (int k = 0; k < h->num_classes(); ++k) {
    ASSERT_EQ(per_class[k], h->leaf_node(k).count) << "class " << k;
  }
  for (const CellNode& node : h->nodes()) {
    EXPECT_GE(node.count, options.t_min);
    if (!node.is_leaf()) {
      EXPECT_GT(node.count, options.t_max);
    } else if (node.count > options.t_max) {
      // Over-full leaves only at the level cap or where every child was dropped.
      EXPECT_TRUE(node.level == options.lvl_end || node.count < 4 * options.t_min)
          << CellToken(node.id);
    }
  }
}

}  // namespace
}  // namespace geoloc::cells
