#include "core/cells/s2_cells.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "s2/s2cell.h"
#include "s2/s2cell_id.h"
#include "s2/s2edge_distances.h"
#include "s2/s2latlng.h"

namespace geoloc::cells {
namespace {

geo::LatLon ToLatLon(const S2Point& p) {
  const S2LatLng ll(p);
  return {ll.lat().degrees(), ll.lng().degrees()};
}

}  // namespace

CellId CellIdAt(geo::LatLon point, int level) {
  // S2 aborts on NaN points and silently wraps out-of-range degrees; refuse both.
  if (!(std::abs(point.lat) <= 90.0) || !(std::abs(point.lon) <= 180.0)) return kNoCell;
  if (level < 0 || level > kMaxCellLevel) return kNoCell;
  const S2CellId leaf(S2LatLng::FromDegrees(point.lat, point.lon));
  return leaf.parent(level).id();
}

std::string CellToken(CellId id) { return S2CellId(id).ToToken(); }

absl::StatusOr<CellId> CellFromToken(absl::string_view token) {
  const S2CellId id = S2CellId::FromToken(token);
  // FromToken accepts spellings with trailing zeros and ids that are no cell; the canonical
  // spelling keeps one id to one token, so tokens can serve as keys in files.
  if (!id.is_valid() || id.ToToken() != absl::AsciiStrToLower(token)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", token, "' is not an S2 cell token (canonical lower-case hex, e.g. '47e66f')",
        id.is_valid() ? absl::StrCat("; did you mean '", id.ToToken(), "'?") : ""));
  }
  return id.id();
}

bool IsValidCell(CellId id) { return S2CellId(id).is_valid(); }

int CellLevel(CellId id) {
  const S2CellId cell(id);
  return cell.is_valid() ? cell.level() : -1;
}

CellId CellParent(CellId id, int level) {
  const S2CellId cell(id);
  if (!cell.is_valid() || level < 0 || level > cell.level()) return kNoCell;
  return cell.parent(level).id();
}

std::array<CellId, 4> CellChildren(CellId id) {
  const S2CellId cell(id);
  std::array<CellId, 4> children{kNoCell, kNoCell, kNoCell, kNoCell};
  if (!cell.is_valid() || cell.is_leaf()) return children;
  for (int k = 0; k < 4; ++k) children[k] = cell.child(k).id();
  return children;
}

CellId CellRangeMin(CellId id) {
  const S2CellId cell(id);
  return cell.is_valid() ? cell.range_min().id() : kNoCell;
}

CellId CellRangeMax(CellId id) {
  const S2CellId cell(id);
  return cell.is_valid() ? cell.range_max().id() : kNoCell;
}

bool CellContains(CellId ancestor, CellId descendant) {
  const S2CellId a(ancestor);
  const S2CellId d(descendant);
  return a.is_valid() && d.is_valid() && a.contains(d);
}

geo::LatLon CellCenter(CellId id) {
  const S2CellId cell(id);
  if (!cell.is_valid()) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  return ToLatLon(cell.ToPoint());
}

std::vector<geo::LatLon> CellVertices(CellId id, int points_per_edge) {
  const S2CellId cell_id(id);
  if (!cell_id.is_valid()) return {};
  if (points_per_edge < 1) points_per_edge = 1;
  const S2Cell cell(cell_id);
  std::vector<geo::LatLon> ring;
  ring.reserve(4 * static_cast<size_t>(points_per_edge));
  for (int k = 0; k < 4; ++k) {
    const S2Point a = cell.GetVertex(k);
    const S2Point b = cell.GetVertex((k + 1) % 4);
    ring.push_back(ToLatLon(a));
    // S2 cell edges are great-circle arcs, so points on the geodesic lie on the boundary.
    for (int j = 1; j < points_per_edge; ++j) {
      ring.push_back(ToLatLon(S2::Interpolate(a, b, static_cast<double>(j) / points_per_edge)));
    }
  }
  return ring;
}

double CellAreaKm2(CellId id) {
  const S2CellId cell(id);
  if (!cell.is_valid()) return 0.0;
  return S2Cell(cell).ExactArea() * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
}

}  // namespace geoloc::cells
