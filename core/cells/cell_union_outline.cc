#include "core/cells/cell_union_outline.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <tuple>
#include <utility>

#include "core/cells/region_cells.h"
#include "s2/s2cell.h"
#include "s2/s2cell_id.h"
#include "s2/s2coords.h"
#include "s2/s2latlng.h"
#include "s2/s2loop_measures.h"
#include "s2/s2point_span.h"

namespace geoloc::cells {
namespace {

constexpr int64_t kMaxSize = int64_t{1} << kMaxCellLevel;  // leaf cells per face side

// A cell as its face and leaf-grid square [i, i + size) x [j, j + size).
struct CellSquare {
  int face = 0;
  int i = 0;
  int j = 0;
  int size = 0;
};

CellSquare SquareOf(S2CellId id) {
  int i = 0, j = 0;
  const int face = id.ToFaceIJOrientation(&i, &j, nullptr);
  const int size = id.GetSizeIJ();
  return {face, i & -size, j & -size, size};
}

// Corner k of the square, counter-clockwise from (i, j), as S2Cell::GetVertex numbers them; the
// side k (S2CellId::GetEdgeNeighbors' neighbour k lies across it) runs from corner k to corner k+1.
std::pair<int64_t, int64_t> Corner(const CellSquare& s, int k) {
  const int64_t i = s.i, j = s.j, n = s.size;
  switch (k & 3) {
    case 0:
      return {i, j};
    case 1:
      return {i + n, j};
    case 2:
      return {i + n, j + n};
    default:
      return {i, j + n};
  }
}

// The two child quadrants (di, dj) along side k, in the side's direction.
constexpr int kSideChildren[4][2][2] = {
    {{0, 0}, {1, 0}}, {{1, 0}, {1, 1}}, {{1, 1}, {0, 1}}, {{0, 1}, {0, 0}}};

// A grid corner as an exact point of the cube [-M, M]^3 (M = 2^30), the same from every face that
// shares it: the face's (u, v) axes map to cube axes as in S2::FaceUVtoXYZ, and (i, j) enter as
// 2i - M, 2j - M, which the cube coordinates u(s), v(t) are odd functions of (u(1 - s) = -u(s) for
// S2's projections). Integer keys make corners met from two faces compare equal, with no rounding.
struct CubeKey {
  int32_t x = 0, y = 0, z = 0;
  bool operator==(const CubeKey& o) const { return x == o.x && y == o.y && z == o.z; }
  bool operator<(const CubeKey& o) const { return std::tie(x, y, z) < std::tie(o.x, o.y, o.z); }
};

CubeKey KeyOf(int face, int64_t i, int64_t j) {
  const int32_t m = static_cast<int32_t>(kMaxSize);
  const int32_t a = static_cast<int32_t>(2 * i - kMaxSize);
  const int32_t b = static_cast<int32_t>(2 * j - kMaxSize);
  switch (face) {
    case 0:
      return {m, a, b};
    case 1:
      return {-a, m, b};
    case 2:
      return {-a, -b, m};
    case 3:
      return {-m, -b, -a};
    case 4:
      return {b, -m, -a};
    default:
      return {b, a, -m};
  }
}

// One boundary edge piece, directed with the union on its left.
struct Segment {
  CubeKey from, to;
  int owner = 0;  // index of the union cell whose side this is
  int face = 0;   // where `from` is, as (face, i, j), for its coordinates
  int64_t i = 0, j = 0;
};

class DisjointSets {
 public:
  explicit DisjointSets(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  int Find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Union(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<int> parent_;
};

// Walks the sides of the union's cells: joins cells that share an edge and (when `segments` is
// set) collects the boundary.
class BoundaryWalker {
 public:
  BoundaryWalker(absl::Span<const CellId> cells, std::vector<Segment>* segments)
      : cells_(cells), sets_(cells.size()), segments_(segments) {}

  void Walk() {
    S2CellId neighbors[4];
    for (size_t c = 0; c < cells_.size(); ++c) {
      const S2CellId id(cells_[c]);
      const CellSquare square = SquareOf(id);
      id.GetEdgeNeighbors(neighbors);
      for (int side = 0; side < 4; ++side) {
        Side(square, id.level(), side, neighbors[side], static_cast<int>(c));
      }
    }
  }
  DisjointSets& sets() { return sets_; }

 private:
  // Side `side` of the cell `square` at `level` (the owner cell or a descendant of it along that
  // side), whose neighbour across that side is `across`.
  void Side(const CellSquare& square, int level, int side, S2CellId across, int owner) {
    // One binary search: a union cell containing `across`, or else whether any lies inside it
    // (S2CellUnion::Contains and ::Intersects share it).
    const auto it = std::lower_bound(cells_.begin(), cells_.end(), across.id());
    const bool has_next = it != cells_.end();
    const bool has_previous = it != cells_.begin();
    if (has_next && S2CellId(*it).range_min() <= across) {  // *it contains `across`
      sets_.Union(owner, static_cast<int>(it - cells_.begin()));
      return;
    }
    if (has_previous && S2CellId(*(it - 1)).range_max() >= across) {  // so does *(it - 1)
      sets_.Union(owner, static_cast<int>(it - cells_.begin()) - 1);
      return;
    }
    const bool partly_inside =
        (has_next && S2CellId(*it).range_min() <= across.range_max()) ||
        (has_previous && S2CellId(*(it - 1)).range_max() >= across.range_min());
    if (!partly_inside) {  // nothing of the union across: the whole side is boundary
      if (segments_ != nullptr) {
        const auto [i0, j0] = Corner(square, side);
        const auto [i1, j1] = Corner(square, side + 1);
        segments_->push_back(
            {KeyOf(square.face, i0, j0), KeyOf(square.face, i1, j1), owner, square.face, i0, j0});
      }
      return;
    }
    // Finer cells of the union lie across: split the side between the two children along it (a
    // leaf's neighbour is either in or out, so this ends).
    const int half = square.size / 2;
    S2CellId neighbors[4];
    for (const auto& q : kSideChildren[side]) {
      const CellSquare child{square.face, square.i + q[0] * half, square.j + q[1] * half, half};
      S2CellId::FromFaceIJ(child.face, child.i, child.j)
          .parent(level + 1)
          .GetEdgeNeighbors(neighbors);
      Side(child, level + 1, side, neighbors[side], owner);
    }
  }

  absl::Span<const CellId> cells_;
  DisjointSets sets_;
  std::vector<Segment>* segments_;
};

// Chains the segments into closed loops (vertex keys in order, with the segment each starts).
// Where two loops touch at a corner (two outgoing segments from one vertex), the loop keeps to the
// cell it came along, so each loop bounds one edge-connected piece.
std::vector<std::vector<int>> ChainLoops(const std::vector<Segment>& segments) {
  std::vector<int> by_from(segments.size());
  std::iota(by_from.begin(), by_from.end(), 0);
  std::sort(by_from.begin(), by_from.end(),
            [&](int a, int b) { return segments[a].from < segments[b].from; });
  std::vector<CubeKey> from_keys;
  from_keys.reserve(by_from.size());
  for (int s : by_from) from_keys.push_back(segments[s].from);
  std::vector<bool> used(segments.size(), false);
  std::vector<std::vector<int>> loops;
  for (int start : by_from) {
    if (used[start]) continue;
    std::vector<int> loop;
    int current = start;
    while (true) {
      used[current] = true;
      loop.push_back(current);
      const auto [lo, hi] =
          std::equal_range(from_keys.begin(), from_keys.end(), segments[current].to);
      // Candidates: the unused segments leaving this vertex, and the loop's first one (closing).
      int next = -1;
      for (auto it = lo; it != hi; ++it) {
        const int s = by_from[it - from_keys.begin()];
        if (used[s] && s != start) continue;
        if (next < 0 || (segments[s].owner == segments[current].owner &&
                         segments[next].owner != segments[current].owner)) {
          next = s;
        }
      }
      if (next < 0 || next == start) break;
      current = next;
    }
    loops.push_back(std::move(loop));
  }
  return loops;
}

// True when the vertex between a -> b -> c continues straight along one cube axis.
bool Straight(const CubeKey& a, const CubeKey& b, const CubeKey& c) {
  const int64_t d1[3] = {int64_t{b.x} - a.x, int64_t{b.y} - a.y, int64_t{b.z} - a.z};
  const int64_t d2[3] = {int64_t{c.x} - b.x, int64_t{c.y} - b.y, int64_t{c.z} - b.z};
  int axis = -1;
  for (int k = 0; k < 3; ++k) {
    if (d1[k] != 0 || d2[k] != 0) {
      if (axis >= 0) return false;
      axis = k;
    }
  }
  return axis >= 0 && ((d1[axis] > 0) == (d2[axis] > 0)) && d1[axis] != 0 && d2[axis] != 0;
}

// The loop's corners with straight-through vertices dropped, as unit vectors.
std::vector<S2Point> LoopPoints(const std::vector<Segment>& segments,
                                const std::vector<int>& loop) {
  const size_t n = loop.size();
  std::vector<S2Point> points;
  for (size_t k = 0; k < n; ++k) {
    const Segment& here = segments[loop[k]];
    const Segment& before = segments[loop[(k + n - 1) % n]];
    if (Straight(before.from, here.from, here.to)) continue;
    points.push_back(S2::FaceSiTitoXYZ(here.face, static_cast<unsigned>(2 * here.i),
                                       static_cast<unsigned>(2 * here.j))
                         .Normalize());
  }
  return points;
}

std::vector<geo::LatLon> ToLatLons(const std::vector<S2Point>& points) {
  std::vector<geo::LatLon> ring;
  ring.reserve(points.size());
  for (const S2Point& p : points) {
    const S2LatLng ll(p);
    ring.push_back({ll.lat().degrees(), ll.lng().degrees()});
  }
  return ring;
}

}  // namespace

std::vector<CellUnionPiece> CellUnionPieces(absl::Span<const CellId> cells, bool with_outlines) {
  std::vector<CellId> normalized_copy;
  if (!IsNormalizedCellUnion(cells)) {
    normalized_copy = NormalizeCellUnion(std::vector<CellId>(cells.begin(), cells.end()));
    cells = normalized_copy;
  }
  std::vector<Segment> segments;
  BoundaryWalker walker(cells, with_outlines ? &segments : nullptr);
  walker.Walk();

  // Pieces in order of their first cell; then areas and cells.
  std::vector<int> piece_of_root(cells.size(), -1);
  std::vector<CellUnionPiece> pieces;
  std::vector<int> piece_of_cell(cells.size());
  for (size_t c = 0; c < cells.size(); ++c) {
    const int root = walker.sets().Find(static_cast<int>(c));
    if (piece_of_root[root] < 0) {
      piece_of_root[root] = static_cast<int>(pieces.size());
      pieces.emplace_back();
    }
    CellUnionPiece& piece = pieces[piece_of_root[root]];
    piece.cells.push_back(cells[c]);
    piece_of_cell[c] = piece_of_root[root];
  }
  for (CellUnionPiece& piece : pieces) piece.area_km2 = CellUnionAreaKm2(piece.cells);

  if (with_outlines) {
    // Loops per piece with the area on their left; the smallest is the exterior.
    std::vector<std::vector<std::pair<double, std::vector<S2Point>>>> loops(pieces.size());
    for (const std::vector<int>& loop : ChainLoops(segments)) {
      std::vector<S2Point> points = LoopPoints(segments, loop);
      if (points.size() < 3) continue;
      auto& mine = loops[piece_of_cell[segments[loop.front()].owner]];
      mine.emplace_back(0.0, std::move(points));
    }
    for (size_t p = 0; p < pieces.size(); ++p) {
      auto& mine = loops[p];
      if (mine.empty()) continue;
      if (mine.size() > 1) {
        for (auto& [left_area, points] : mine) left_area = S2::GetArea(S2PointLoopSpan(points));
        std::sort(mine.begin(), mine.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      pieces[p].exterior = ToLatLons(mine.front().second);
      for (size_t h = 1; h < mine.size(); ++h) pieces[p].holes.push_back(ToLatLons(mine[h].second));
    }
  }
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const auto& a, const auto& b) { return a.area_km2 > b.area_km2; });
  return pieces;
}

}  // namespace geoloc::cells
