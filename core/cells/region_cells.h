// S2 cells as the building blocks of regions on the sphere (confidence regions, core/calibration):
// discs that bound a cell, the level for a wanted cell size, a coarse covering of caps, and cell
// unions (normalisation, area, point membership). No S2 type appears here (s2_cells.h explains
// why).
//
//   std::vector<CellId> start = CellsCoveringCaps(caps, /*max_level=*/16);
//   std::vector<CellId> region = NormalizeCellUnion(std::move(inside_cells));
//   double km2 = CellUnionAreaKm2(region);
//
// A "cell union" here is a list of cell ids. A normalised union is sorted by id, holds no cell
// that contains or equals another, and never holds all four children of one parent (they are
// replaced by the parent), exactly as S2CellUnion::Normalize leaves it; the whole sphere is the six
// face cells. Functions that take a normalised union say so; they read it with binary searches.
//
// Every function is pure and thread-safe.
#ifndef GEOLOC_CORE_CELLS_REGION_CELLS_H_
#define GEOLOC_CORE_CELLS_REGION_CELLS_H_

#include <vector>

#include "absl/types/span.h"
#include "core/cells/s2_cells.h"
#include "core/geo/lat_lon.h"
#include "core/geo/unit_vector.h"

namespace geoloc::cells {

// A cap on the unit sphere, measured by the chord |x - centre| (Euclidean, in R^3) rather than by
// an angle: chord = 2 sin(angle / 2), 0 <= chord <= 2; a chord of 2 is the whole sphere.
struct SphereCap {
  geo::Vec3 centre;  // unit vector
  double chord = 0;
};

// What region extraction needs of a cell, from one S2Cell: its centre (where S2 splits it), a
// disc about the centre (chord, as above) that holds every point of the cell, conservative by a few
// units in the last place, and its area (km^2, as CellUnionAreaKm2). An invalid id gives zeros.
struct CellGeometry {
  geo::Vec3 centre;
  double outer_chord = 0;
  double area_km2 = 0;
};
CellGeometry CellGeometryOf(CellId id);

// The cell's centre (where S2 splits it, CellCenter) as a unit vector; zero for an invalid id.
geo::Vec3 CellCentreVector(CellId id);

// The level-`level` cell containing the unit vector p (kNoCell for a zero or non-finite vector or
// a level outside [0, 30]). Cheaper than CellIdAt for callers that already hold unit vectors.
CellId CellIdAtUnitVector(geo::Vec3 p, int level);

// S2's average cell edge at `level`, in km (about 9,300 km / 2^level).
double CellAverageEdgeKm(int level);
// The coarsest level whose average edge is at most edge_km (30 when even leaves are larger, 0 for
// edges beyond a face's).
int CellLevelForEdgeKm(double edge_km);

// A covering of the union of the caps: every point of every cap lies in one of the returned cells
// (normalised union). Each cap is covered by the cell holding its centre plus that cell's
// vertex neighbours, at the finest level <= max_level whose cells are at least twice as wide as the
// cap's radius, so a cap costs at most 9 cells; a cap wider than a cube face (or chord >= 2) gives
// the six faces. Caps with a non-finite centre or a negative chord are skipped.
std::vector<CellId> CellsCoveringCaps(absl::Span<const SphereCap> caps, int max_level);
// The level of the cells that cover `cap` in CellsCoveringCaps (0: the whole sphere; -1: the cap
// is skipped). The covering depends on the caps' centres and these levels only: two lists of caps
// with the same centres and levels have the same covering.
int CapCoveringLevel(const SphereCap& cap, int max_level);

// The normalised union of `cells` (any order, overlaps and invalid ids allowed: invalid ids are
// dropped).
std::vector<CellId> NormalizeCellUnion(std::vector<CellId> cells);

// True when `cells` is already a normalised union (see the top of this file).
bool IsNormalizedCellUnion(absl::Span<const CellId> cells);

// Index in the normalised union of the cell that contains `cell` (or equals it), -1 when none does.
int FindContainingCell(absl::Span<const CellId> normalized, CellId cell);
// True when some cell of the normalised union intersects `cell` (contains it or lies inside it).
bool CellUnionIntersects(absl::Span<const CellId> normalized, CellId cell);
// True when the point lies in the normalised union (false for an invalid coordinate).
bool CellUnionContains(absl::Span<const CellId> normalized, geo::LatLon point);

// Area of the cells on the sphere of geo's mean Earth radius, in km^2, within 0.1% (S2's
// ApproxArea from level 5 on, ExactArea above; overlaps counted twice: pass a normalised union for
// the area of the region).
double CellUnionAreaKm2(absl::Span<const CellId> cells);

// The six face cells: the whole sphere as a normalised union.
std::vector<CellId> WholeSphereCells();

}  // namespace geoloc::cells

#endif  // GEOLOC_CORE_CELLS_REGION_CELLS_H_
