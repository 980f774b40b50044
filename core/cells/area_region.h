// A search area's geometry (geo::SearchArea) on S2, behind a header with no S2 type, and the
// index that finds a bundle's photos inside it fast.
//
//   GEOLOC_ASSIGN_OR_RETURN(cells::AreaRegion region, cells::AreaRegion::Build(area));
//   cells::PointCellIndex points = cells::PointCellIndex::Build(positions);  // once per bundle
//   std::vector<int64_t> rows = points.Select(region);  // sorted rows inside the area
//
// AreaRegion::Build checks the shape (after geo::ValidateSearchAreaValues), INVALID_ARGUMENT:
//   shape                                         message names
//   polygon with duplicate adjacent or antipodal  "area.polygon: ..." and S2's validation error
//     vertices, crossing edges (self-            (S2Loop::FindValidationError)
//     intersecting)
//   polygon with (numerically) zero area          "area.polygon: degenerate ..."
//   a malformed or non-canonical cell token       "area.cells.tokens[i]: ..."
// Polygon orientation: either; the smaller of the two regions the ring bounds is the area
// (S2Loop::Normalize), so a polygon around a pole means the polar cap. Edges are geodesics, so
// rings crossing the antimeridian need no special handling.
//
// Selection (PointCellIndex::Select): the area's covering (at most kCoveringCells S2 cells) gives
// ranges of leaf cell ids; the rows whose leaf cell falls in a range are candidates, accepted at
// once inside the interior covering and otherwise tested with Contains(), so the result is exactly
// the rows whose position the area contains, in O(log n + candidates).
//
// Clipping: AreaRegion::ClipCovering is the area as cells: cells it contains are kept, cells it
// cannot intersect dropped, and the others split down to clip_level(), where those that may still
// intersect the area are kept whole; so it holds the whole area and exceeds it by boundary cells of
// clip_level() at most (exact for a cell area, whose tokens are never finer than clip_level()).
// A cell union is clipped to the area by intersecting it with that covering
// (IntersectCellUnions), computed once per area however many unions are clipped.
//
// Lifetime and threading: both are immutable after Build and safe to share between threads
// (S2Loop's lazily built index is thread-safe for const queries). Movable, not copyable.
#ifndef GEOLOC_CORE_CELLS_AREA_REGION_H_
#define GEOLOC_CORE_CELLS_AREA_REGION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"
#include "core/geo/search_area.h"

namespace geoloc::cells {

// Cells in the area's (outer and interior) coverings.
inline constexpr int kCoveringCells = 64;
// ClipCovering's boundary cells: at least this many of them across the area (level 15, 0.47 km
// diagonals, for a 25 km circle). The clip's cost doubles with it: about 1.9 ms per answer at the
// four default levels at 64, 3.7 ms at 128 (calibrate_stage_bench, docs/BENCHMARKS.md).
inline constexpr double kClipCellsAcross = 64;

// The largest diagonal (km) of an S2 cell at `level`, in [0, kMaxCellLevel].
double MaxCellDiagonalKm(int level);

// The normalised union of the points both normalised unions hold (S2CellUnion::Intersection).
std::vector<CellId> IntersectCellUnions(absl::Span<const CellId> a, absl::Span<const CellId> b);

class AreaRegion {
 public:
  static absl::StatusOr<AreaRegion> Build(const geo::SearchArea& area);
  AreaRegion(AreaRegion&&) noexcept;
  AreaRegion& operator=(AreaRegion&&) noexcept;
  ~AreaRegion();

  bool Contains(geo::LatLon p) const;
  // The same for a unit vector (x, y, z) as S2 spells points (PointCellIndex keeps them).
  bool ContainsUnit(const std::array<double, 3>& p) const;
  // Area in square km (spherical Earth).
  double AreaKm2() const;
  // The area as a normalised cell union for clipping (see Clipping above).
  std::vector<CellId> ClipCovering() const;
  // The level ClipCovering settles boundary cells at: the first whose cells' diagonal is at most
  // 1/kClipCellsAcross of the area's size (the square root of its area), or the finest token of a
  // cell area when that is finer.
  int clip_level() const;
  // Sorted, disjoint [min, max] leaf-id ranges of the outer and interior coverings.
  const std::vector<std::pair<CellId, CellId>>& covering_ranges() const;
  const std::vector<std::pair<CellId, CellId>>& interior_ranges() const;

 private:
  struct Impl;
  explicit AreaRegion(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class PointCellIndex {
 public:
  PointCellIndex() = default;
  // Row i is positions[i]; rows with an invalid position are never selected.
  static PointCellIndex Build(absl::Span<const geo::LatLon> positions);

  // The rows whose position `region` contains, ascending.
  std::vector<int64_t> Select(const AreaRegion& region) const;
  int64_t size() const { return num_rows_; }

 private:
  std::vector<CellId> leaves_;  // sorted leaf cell ids
  std::vector<int64_t> rows_;   // rows_[i] is at leaves_[i]
  std::vector<std::array<double, 3>> points_;  // unit vectors in leaves_' order (boundary test)
  int64_t num_rows_ = 0;
};

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_AREA_REGION_H_
