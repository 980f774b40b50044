#include "core/cells/cell_hierarchy.h"

#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/cells/adaptive_cells.h"
#include "core/cells/cell_hierarchy_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cells/crafted_world.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::cells {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

CellHierarchy CraftedHierarchy() {
  const CraftedWorld w = MakeCraftedWorld();
  auto h = GenerateAdaptiveCells(w.points, w.options);
  EXPECT_TRUE(h.ok()) << h.status();
  return *std::move(h);
}

// Points spread over the crafted world, including dropped and empty cells.
std::vector<geo::LatLon> ProbePoints(const CraftedWorld& w) {
  std::vector<geo::LatLon> probes = w.points;
  for (CellId cell : {w.a, w.a0, w.a00, w.a01, w.a2, w.b, w.c, w.d, w.e}) {
    for (CellId child : CellChildren(cell)) probes.push_back(CellCenter(child));
  }
  return probes;
}

void ExpectSameHierarchy(const CellHierarchy& a, const CellHierarchy& b) {
  EXPECT_EQ(a.options(), b.options());
  EXPECT_EQ(a.total_points(), b.total_points());
  EXPECT_EQ(a.depth(), b.depth());
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  ASSERT_EQ(a.num_classes(), b.num_classes());
  for (int i = 0; i < a.num_nodes(); ++i) {
    SCOPED_TRACE(i);
    const CellNode& x = a.nodes()[i];
    const CellNode& y = b.nodes()[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.level, y.level);
    EXPECT_EQ(x.count, y.count);
    EXPECT_EQ(x.parent, y.parent);
    EXPECT_EQ(x.children, y.children);
    EXPECT_EQ(x.leaf_class, y.leaf_class);
  }
}

TEST(CellHierarchyTest, LookupsFollowTheKeptLeaves) {
  const CraftedWorld w = MakeCraftedWorld();
  const CellHierarchy h = CraftedHierarchy();
  // Classes: 0 A0_0_0, 1 A1, 2 A3, 3 B, 4 D.
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.a000)), 0);
  EXPECT_EQ(h.LeafClassOf(CellCenter(CellChildren(w.a1)[2])), 1);
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.a3)), 2);
  EXPECT_EQ(h.LeafClassOf(CellCenter(CellChildren(w.b)[3])), 3);  // in a dropped child of B
  EXPECT_EQ(h.LeafClassOf(CellCenter(CellChildren(w.d)[1])), 4);  // where D had no points
  // No kept leaf: dropped cells, the area of A0_0 outside A0_0_0, an empty face, bad input.
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.a01)), -1);
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.a2)), -1);
  EXPECT_EQ(h.LeafClassOf(CellCenter(CellChildren(w.a00)[3])), -1);
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.c)), -1);
  EXPECT_EQ(h.LeafClassOf(CellCenter(w.e)), -1);
  EXPECT_EQ(h.LeafClassOf({std::numeric_limits<double>::quiet_NaN(), 0.0}), -1);
  EXPECT_EQ(h.LeafClassOf({95.0, 0.0}), -1);

  // Cells at or below a leaf map to it; internal nodes, ancestors and strangers do not.
  EXPECT_EQ(h.LeafClassOfCell(w.a1), 1);
  EXPECT_EQ(h.LeafClassOfCell(CellChildren(CellChildren(w.a1)[3])[3]), 1);
  EXPECT_EQ(h.LeafClassOfCell(CellIdAt(CellCenter(w.d), kMaxCellLevel)), 4);
  EXPECT_EQ(h.LeafClassOfCell(w.a), -1);
  EXPECT_EQ(h.LeafClassOfCell(w.a00), -1);
  EXPECT_EQ(h.LeafClassOfCell(FaceCell(0)), -1);
  EXPECT_EQ(h.LeafClassOfCell(w.c), -1);
  EXPECT_EQ(h.LeafClassOfCell(kNoCell), -1);

  EXPECT_EQ(h.nodes()[h.NodeIndex(w.a0)].id, w.a0);
  EXPECT_EQ(h.NodeIndex(w.a2), -1);
  EXPECT_EQ(h.NodeIndex(kNoCell), -1);
}

TEST(CellHierarchyTest, AncestorsAreRootFirst) {
  const CraftedWorld w = MakeCraftedWorld();
  const CellHierarchy h = CraftedHierarchy();
  std::vector<CellId> ids;
  for (int n : h.AncestorsOf(h.NodeIndex(w.a000))) ids.push_back(h.nodes()[n].id);
  EXPECT_THAT(ids, ElementsAre(w.a, w.a0, w.a00));
  EXPECT_THAT(h.AncestorsOf(h.NodeIndex(w.b)), IsEmpty());
  EXPECT_THAT(h.AncestorsOf(-1), IsEmpty());
  EXPECT_THAT(h.AncestorsOf(h.num_nodes()), IsEmpty());
}

TEST(CellHierarchyTest, JsonRoundTripKeepsStructureAndLookups) {
  const CraftedWorld w = MakeCraftedWorld();
  const CellHierarchy h = CraftedHierarchy();
  auto json = h.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"format_version\": 1"));
  EXPECT_THAT(*json, HasSubstr(absl::StrCat("\"token\": \"", CellToken(w.a000), "\"")));
  auto back = CellHierarchy::FromJson(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameHierarchy(h, *back);
  for (const geo::LatLon& p : ProbePoints(w)) {
    EXPECT_EQ(h.LeafClassOf(p), back->LeafClassOf(p));
  }
  EXPECT_EQ(*back->ToJson(), *json);
}

TEST(CellHierarchyTest, SavesAndLoadsFiles) {
  const CellHierarchy h = CraftedHierarchy();
  const ::geoloc::testing::ScratchDir dir("cells");
  const std::string path = dir.file("hierarchy.json");
  ASSERT_TRUE(h.Save(path).ok());
  auto loaded = CellHierarchy::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameHierarchy(h, *loaded);

  auto missing = CellHierarchy::Load(dir.file("no_such_cells.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no_such_cells.json"));
}

TEST(CellHierarchyTest, EmptyHierarchyRoundTrips) {
  const CellHierarchy empty;
  EXPECT_EQ(empty.num_classes(), 0);
  EXPECT_EQ(empty.depth(), 0);
  EXPECT_EQ(empty.LeafClassOf({1.0, 2.0}), -1);
  auto back = CellHierarchy::FromJson(*empty.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->num_nodes(), 0);
}

// A hand-written file in the documented format: root "1" (face 0) split into "04" and "0c"
// ("0c" a leaf), "04" split into "01"; plus root "3" (face 1), a leaf. Leaves by id: "01", "0c",
// "3". Each corruption below changes one thing.
constexpr char kValidJson[] = R"({
  "format_version": 1,
  "options": {"lvl_start": 0, "lvl_end": 2, "t_min": "2", "t_max": "10"},
  "total_points": "40",
  "num_classes": 3,
  "depth": 3,
  "cells": [
    {"token": "1", "level": 0, "count": "30", "parent": "", "leaf_class": -1},
    {"token": "3", "level": 0, "count": "5", "parent": "", "leaf_class": 2},
    {"token": "04", "level": 1, "count": "20", "parent": "1", "leaf_class": -1},
    {"token": "0c", "level": 1, "count": "6", "parent": "1", "leaf_class": 1},
    {"token": "01", "level": 2, "count": "12", "parent": "04", "leaf_class": 0}
  ]
})";

TEST(CellHierarchyTest, HandWrittenFileLoads) {
  auto h = CellHierarchy::FromJson(kValidJson);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->num_classes(), 3);
  EXPECT_EQ(h->depth(), 3);
  EXPECT_EQ(CellToken(h->leaf_node(0).id), "01");
  EXPECT_EQ(CellToken(h->leaf_node(1).id), "0c");
  EXPECT_EQ(CellToken(h->leaf_node(2).id), "3");
  EXPECT_EQ(h->total_points(), 40);
  // Cell order in the file does not matter: move the first root to the end.
  const std::string root = R"({"token": "1", "level": 0, "count": "30", "parent": "", )"
                           R"("leaf_class": -1})";
  const std::string last = R"("leaf_class": 0})";
  const std::string reordered =
      absl::StrReplaceAll(kValidJson, {{root + ",", ""}, {last, absl::StrCat(last, ", ", root)}});
  auto again = CellHierarchy::FromJson(reordered);
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectSameHierarchy(*h, *again);
}

TEST(CellHierarchyTest, CorruptFilesAreRejectedWithAReason) {
  struct Case {
    std::string from, to, reason;
  };
  const std::vector<Case> cases = {
      {"\"cells\"", "\"cells\" [", "invalid"},                               // malformed JSON
      {"\"format_version\": 1", "\"format_version\": 2", "format_version"},  // unknown version
      {"\"token\": \"0c\"", "\"token\": \"0g\"", "cells[3]"},                // bad token
      {"\"token\": \"0c\"", "\"token\": \"0c0\"", "did you mean"},           // non-canonical
      {"\"token\": \"01\", \"level\": 2", "\"token\": \"01\", \"level\": 3", "level"},
      {"\"parent\": \"04\"", "\"parent\": \"1\"", "parent"},  // wrong parent
      {"\"count\": \"20\"", "\"count\": \"10\"", "t_max"},    // split a small cell
      {"\"count\": \"12\"", "\"count\": \"1\"", "t_min"},     // below t_min
      {"\"count\": \"6\"", "\"count\": \"19\"", "children"},  // children > parent
      {"\"total_points\": \"40\"", "\"total_points\": \"30\"", "total_points"},
      {"\"leaf_class\": 0", "\"leaf_class\": 2", "leaf_class"},  // renumbered
      {"\"num_classes\": 3", "\"num_classes\": 4", "num_classes"},
      {"\"depth\": 3", "\"depth\": 2", "depth"},
      {"\"lvl_end\": 2", "\"lvl_end\": 1", "level 2"},     // cell below lvl_end
      {"\"t_min\": \"2\"", "\"t_min\": \"20\"", "t_max"},  // invalid options
      // A node whose parent is missing.
      {R"({"token": "04", "level": 1, "count": "20", "parent": "1", "leaf_class": -1},)", "",
       "no parent"},
      // The same cell twice.
      {R"({"token": "3", "level": 0, "count": "5", "parent": "", "leaf_class": 2},)",
       R"({"token": "3", "level": 0, "count": "5", "parent": "", "leaf_class": 2},
          {"token": "3", "level": 0, "count": "5", "parent": "", "leaf_class": 2},)",
       "twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.to);
    const std::string corrupt = absl::StrReplaceAll(kValidJson, {{c.from, c.to}});
    ASSERT_NE(corrupt, kValidJson) << "the corruption did not apply";
    auto h = CellHierarchy::FromJson(corrupt);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(h.status().message()), HasSubstr(c.reason));
  }
}

TEST(CellHierarchyTest, CreateDerivesStructureFromCells) {
  AdaptiveCellOptions options;
  options.lvl_start = 0;
  options.lvl_end = 2;
  options.t_min = 2;
  options.t_max = 10;
  const CellId face0 = FaceCell(0);
  const CellId child = CellChildren(face0)[1];
  const CellId grandchild = CellChildren(child)[2];
  auto h = CellHierarchy::Create(options, 100, {{grandchild, 12}, {face0, 30}, {child, 20}});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->num_nodes(), 3);
  EXPECT_EQ(h->nodes()[0].id, face0);
  EXPECT_THAT(h->nodes()[0].children, ElementsAre(1));
  EXPECT_EQ(h->nodes()[2].parent, 1);
  EXPECT_EQ(h->num_classes(), 1);
  EXPECT_EQ(h->leaf_node_index(0), 2);

  auto missing_parent = CellHierarchy::Create(options, 100, {{grandchild, 12}, {face0, 30}});
  EXPECT_THAT(std::string(missing_parent.status().message()), HasSubstr("no parent"));
  auto invalid_id = CellHierarchy::Create(options, 100, {{kNoCell, 12}});
  EXPECT_THAT(std::string(invalid_id.status().message()), HasSubstr("not a valid S2 cell"));
  auto negative_total = CellHierarchy::Create(options, -1, {});
  EXPECT_EQ(negative_total.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CellHierarchyTest, StatsSummariseTheCraftedWorld) {
  const CellHierarchy h = CraftedHierarchy();
  const CellHierarchyStats stats = ComputeCellHierarchyStats(h);
  EXPECT_EQ(stats.num_nodes, 8);
  EXPECT_EQ(stats.num_classes, 5);
  EXPECT_EQ(stats.depth, 4);
  EXPECT_THAT(stats.cells_per_level, ElementsAre(3, 3, 1, 1));   // A B D | A0 A1 A3 | A0_0 | A0_0_0
  EXPECT_THAT(stats.leaves_per_level, ElementsAre(2, 2, 0, 1));  // B D | A1 A3 | - | A0_0_0
  EXPECT_EQ(stats.leaf_points_min, 4);
  EXPECT_EQ(stats.leaf_points_median, 10.0);  // of 4, 8, 10, 11, 12
  EXPECT_EQ(stats.leaf_points_max, 12);
  EXPECT_EQ(stats.total_points, 50);
  EXPECT_EQ(stats.covered_points, 45);
  EXPECT_DOUBLE_EQ(stats.coverage, 0.9);
  // A level-5 leaf is the smallest, a level-2 leaf the largest.
  EXPECT_DOUBLE_EQ(stats.leaf_area_km2_min, CellAreaKm2(MakeCraftedWorld().a000));
  EXPECT_GT(stats.leaf_area_km2_max, 10 * stats.leaf_area_km2_min);
  const std::string text = FormatCellHierarchyStats(stats);
  EXPECT_THAT(text, HasSubstr("5 classes"));
  EXPECT_THAT(text, HasSubstr("45 of 50 points"));
  EXPECT_THAT(text, HasSubstr("L5: 1 (1 leaves)"));

  const CellHierarchyStats none = ComputeCellHierarchyStats(CellHierarchy());
  EXPECT_EQ(none.num_classes, 0);
  EXPECT_EQ(none.coverage, 0.0);
}

TEST(CellHierarchyTest, ConcurrentLookupsAgree) {
  const CraftedWorld w = MakeCraftedWorld();
  const CellHierarchy h = CraftedHierarchy();
  const std::vector<geo::LatLon> probes = ProbePoints(w);
  std::vector<int> expected;
  for (const geo::LatLon& p : probes) expected.push_back(h.LeafClassOf(p));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        for (size_t i = 0; i < probes.size(); ++i) {
          if (h.LeafClassOf(probes[i]) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace geoloc::cells
