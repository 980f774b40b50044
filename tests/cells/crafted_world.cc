#include "tests/cells/crafted_world.h"

namespace geoloc::cells {
namespace {

CellId Child(CellId cell, int k) { return CellChildren(cell)[k]; }

// An arbitrary level-2 cell of the face (child 2 of child 1), well inside it.
CellId Level2Cell(int face) { return Child(Child(FaceCell(face), 1), 2); }

void AddAtCenter(CellId cell, int n, std::vector<geo::LatLon>* points) {
  for (int i = 0; i < n; ++i) points->push_back(CellCenter(cell));
}

}  // namespace

CellId FaceCell(int face) { return (static_cast<uint64_t>(face) << 61) | (uint64_t{1} << 60); }

CraftedWorld MakeCraftedWorld() {
  CraftedWorld w;
  w.options.lvl_start = 2;
  w.options.lvl_end = 5;
  w.options.t_min = 4;
  w.options.t_max = 10;
  w.a = Level2Cell(0);
  w.b = Level2Cell(1);
  w.c = Level2Cell(2);
  w.d = Level2Cell(3);
  w.e = Level2Cell(4);
  w.a0 = Child(w.a, 0);
  w.a1 = Child(w.a, 1);
  w.a2 = Child(w.a, 2);
  w.a3 = Child(w.a, 3);
  w.a00 = Child(w.a0, 0);
  w.a01 = Child(w.a0, 1);
  w.a000 = Child(w.a00, 0);

  AddAtCenter(w.a000, 12, &w.points);
  AddAtCenter(w.a01, 1, &w.points);
  for (int k = 0; k < 4; ++k) AddAtCenter(Child(w.a1, k), 2, &w.points);
  AddAtCenter(w.a2, 1, &w.points);
  for (int k = 0; k < 4; ++k) AddAtCenter(Child(w.a3, k), 1, &w.points);
  for (int k = 0; k < 4; ++k) AddAtCenter(Child(w.b, k), k < 3 ? 3 : 2, &w.points);
  AddAtCenter(w.c, 3, &w.points);
  AddAtCenter(Child(w.d, 0), 5, &w.points);
  AddAtCenter(Child(w.d, 3), 5, &w.points);
  return w;
}

}  // namespace geoloc::cells
