// A hand-built point set whose adaptive cells are known by hand (see the tree below), shared by
// the cells tests.
//
//   CraftedWorld world = MakeCraftedWorld();
//   auto cells = GenerateAdaptiveCells(world.points, world.options);
//
// Options: lvl_start 2, lvl_end 5, t_min 4, t_max 10. Roots A, B, C, D are level-2 cells on faces
// 0, 1, 2, 3 (so A < B < C < D by id); E on face 4 gets no point. X_j is child j of X. Points sit
// at cell centres, which lie inside the cell (away from its boundary).
//
//   A    26 > t_max: split            B  11 > t_max: split, but every child (3, 3, 3, 2) is
//   |-A0   13: split                      dropped, so B is a leaf again (11 points)
//   | |-A0_0   12: split (level 4 < 5)  C   3 < t_min: dropped
//   | | `-A0_0_0 12: level 5 = lvl_end, D  10 = t_max: not split (points in D_0 and D_3), leaf
//   | |          stays an over-full leaf
//   | `-A0_1    1: dropped            Leaves by id = classes: 0 A0_0_0 (12), 1 A1 (8), 2 A3 (4),
//   |-A1    8: leaf (2 in each child)    3 B (11), 4 D (10); 45 of 50 points covered.
//   |-A2    1: dropped
//   `-A3    4 = t_min: leaf (1 in each child)
#ifndef GEOLOC_TESTS_CELLS_CRAFTED_WORLD_H_
#define GEOLOC_TESTS_CELLS_CRAFTED_WORLD_H_

#include <vector>

#include "core/cells/adaptive_cell_options.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"

namespace geoloc::cells {

struct CraftedWorld {
  AdaptiveCellOptions options;
  std::vector<geo::LatLon> points;
  CellId a, a0, a00, a000, a01, a1, a2, a3, b, c, d, e;
};

// S2's face cell ids: face << 61 | 1 << 60.
CellId FaceCell(int face);
CraftedWorld MakeCraftedWorld();

}  // namespace geoloc::cells

#endif  // GEOLOC_TESTS_CELLS_CRAFTED_WORLD_H_
