#include "core/cells/region_cells.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/geo/distance.h"
#include "s2/s2cell.h"
#include "s2/s2cell_id.h"
#include "s2/s2cell_union.h"
#include "s2/s2metrics.h"

namespace geoloc::cells {
namespace {

// Relative and absolute slack that makes the discs conservative against rounding.
constexpr double kChordSlack = 1e-12;

geo::Vec3 ToVec3(const S2Point& p) { return {p.x(), p.y(), p.z()}; }

double Chord(const S2Point& a, const S2Point& b) { return (a - b).Norm(); }

// S2's ApproxArea is within 0.1% from level 5 on (cells under 350 km) and several times cheaper
// than ExactArea, which the large cells get.
double SteradiansOf(const S2Cell& cell) {
  constexpr int kApproxFromLevel = 5;
  return cell.level() >= kApproxFromLevel ? cell.ApproxArea() : cell.ExactArea();
}

}  // namespace

CellGeometry CellGeometryOf(CellId id) {
  const S2CellId cell_id(id);
  CellGeometry g;
  if (!cell_id.is_valid()) return g;
  const S2Cell cell(cell_id);
  const S2Point centre = cell.GetCenter();
  g.centre = ToVec3(centre);
  // The cell is a convex geodesic quadrilateral within a hemisphere of its centre, so its farthest
  // point from the centre is a vertex.
  double outer = 0;
  for (int k = 0; k < 4; ++k) outer = std::max(outer, Chord(centre, cell.GetVertex(k)));
  g.outer_chord = outer * (1 + kChordSlack) + kChordSlack;
  g.area_km2 = SteradiansOf(cell) * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
  return g;
}

geo::Vec3 CellCentreVector(CellId id) {
  const S2CellId cell_id(id);
  if (!cell_id.is_valid()) return {};
  return ToVec3(cell_id.ToPoint());
}

CellId CellIdAtUnitVector(geo::Vec3 p, int level) {
  if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) return kNoCell;
  if (p.x == 0 && p.y == 0 && p.z == 0) return kNoCell;
  if (level < 0 || level > kMaxCellLevel) return kNoCell;
  return S2CellId(S2Point(p.x, p.y, p.z)).parent(level).id();
}

double CellAverageEdgeKm(int level) {
  return S2::kAvgEdge.GetValue(std::clamp(level, 0, kMaxCellLevel)) * geo::kEarthRadiusKm;
}

int CellLevelForEdgeKm(double edge_km) {
  if (!(edge_km > 0)) return kMaxCellLevel;
  return S2::kAvgEdge.GetLevelForMaxValue(edge_km / geo::kEarthRadiusKm);
}

int CapCoveringLevel(const SphereCap& cap, int max_level) {
  max_level = std::clamp(max_level, 0, kMaxCellLevel);
  const geo::Vec3 c = cap.centre;
  if (!std::isfinite(c.x) || !std::isfinite(c.y) || !std::isfinite(c.z) || !(cap.chord >= 0)) {
    return -1;
  }
  if (c.x == 0 && c.y == 0 && c.z == 0) return -1;
  const double radius = cap.chord >= 2 ? geo::kPi : 2.0 * std::asin(0.5 * cap.chord);
  // Cells at least twice as wide as the radius: the cap cannot reach past the ring of cells
  // around the one holding its centre.
  const int level = std::min(max_level, S2::kMinWidth.GetLevelForMinValue(2 * radius));
  return S2::kMinWidth.GetValue(level) < 2 * radius ? 0 : level;
}

std::vector<CellId> CellsCoveringCaps(absl::Span<const SphereCap> caps, int max_level) {
  // The cell holding each cap's centre, then each distinct one with its ring of neighbours (caps
  // of one size around nearby centres share cells: a kernel density's caps mostly do).
  std::vector<S2CellId> centres;
  centres.reserve(caps.size());
  for (const SphereCap& cap : caps) {
    const int level = CapCoveringLevel(cap, max_level);
    if (level < 0) continue;
    if (level == 0) return WholeSphereCells();
    centres.push_back(S2CellId(S2Point(cap.centre.x, cap.centre.y, cap.centre.z)).parent(level));
  }
  std::sort(centres.begin(), centres.end());
  centres.erase(std::unique(centres.begin(), centres.end()), centres.end());
  std::vector<S2CellId> cells = centres;
  std::vector<S2CellId> neighbors;
  for (const S2CellId& centre : centres) {
    neighbors.clear();
    centre.AppendAllNeighbors(centre.level(), &neighbors);
    cells.insert(cells.end(), neighbors.begin(), neighbors.end());
  }
  S2CellUnion normalized(std::move(cells));  // sorts, drops duplicates and contained cells
  std::vector<CellId> out;
  out.reserve(normalized.num_cells());
  for (const S2CellId& id : normalized) out.push_back(id.id());
  return out;
}

std::vector<CellId> NormalizeCellUnion(std::vector<CellId> cells) {
  std::vector<S2CellId> ids;
  ids.reserve(cells.size());
  for (CellId id : cells) {
    if (S2CellId(id).is_valid()) ids.emplace_back(id);
  }
  S2CellUnion normalized(std::move(ids));
  cells.clear();
  for (const S2CellId& id : normalized) cells.push_back(id.id());
  return cells;
}

bool IsNormalizedCellUnion(absl::Span<const CellId> cells) {
  std::vector<S2CellId> ids;
  ids.reserve(cells.size());
  for (CellId id : cells) ids.emplace_back(id);
  return S2CellUnion::FromVerbatim(std::move(ids)).IsNormalized();
}

int FindContainingCell(absl::Span<const CellId> normalized, CellId cell) {
  const S2CellId id(cell);
  if (!id.is_valid()) return -1;
  const auto it = std::lower_bound(normalized.begin(), normalized.end(), cell);
  if (it != normalized.end() && S2CellId(*it).range_min() <= id) {
    return static_cast<int>(it - normalized.begin());
  }
  if (it != normalized.begin() && S2CellId(*(it - 1)).range_max() >= id) {
    return static_cast<int>(it - normalized.begin()) - 1;
  }
  return -1;
}

bool CellUnionIntersects(absl::Span<const CellId> normalized, CellId cell) {
  const S2CellId id(cell);
  if (!id.is_valid()) return false;
  const auto it = std::lower_bound(normalized.begin(), normalized.end(), cell);
  if (it != normalized.end() && S2CellId(*it).range_min() <= id.range_max()) return true;
  return it != normalized.begin() && S2CellId(*(it - 1)).range_max() >= id.range_min();
}

bool CellUnionContains(absl::Span<const CellId> normalized, geo::LatLon point) {
  const CellId leaf = CellIdAt(point, kMaxCellLevel);
  return leaf != kNoCell && FindContainingCell(normalized, leaf) >= 0;
}

double CellUnionAreaKm2(absl::Span<const CellId> cells) {
  double steradians = 0;
  for (CellId id : cells) {
    const S2CellId cell(id);
    if (cell.is_valid()) steradians += SteradiansOf(S2Cell(cell));
  }
  return steradians * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
}

std::vector<CellId> WholeSphereCells() {
  std::vector<CellId> faces;
  for (int face = 0; face < 6; ++face) faces.push_back(S2CellId::FromFace(face).id());
  return faces;
}

}  // namespace geoloc::cells
