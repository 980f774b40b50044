#include "core/cells/area_region.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/geo/distance.h"
#include "s2/s1angle.h"
#include "s2/s2cap.h"
#include "s2/s2cell.h"
#include "s2/s2coords.h"
#include "s2/s2metrics.h"
#include "s2/s2cell_id.h"
#include "s2/s2cell_union.h"
#include "s2/s2error.h"
#include "s2/s2latlng.h"
#include "s2/s2loop.h"
#include "s2/s2polygon.h"
#include "s2/s2region.h"
#include "s2/s2region_coverer.h"

namespace geoloc::cells {
namespace {

// A ring whose area (steradians) is below this is degenerate: about 4 square metres.
constexpr double kMinPolygonSteradians = 1e-13;

S2Point ToPoint(geo::LatLon p) {
  return S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
}

std::vector<std::pair<CellId, CellId>> Ranges(const S2CellUnion& cells) {
  std::vector<std::pair<CellId, CellId>> out;
  for (const S2CellId& c : cells) {
    const CellId lo = c.range_min().id(), hi = c.range_max().id();
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

}  // namespace

double MaxCellDiagonalKm(int level) {
  return S2::kMaxDiag.GetValue(level) * geo::kEarthRadiusKm;
}

std::vector<CellId> IntersectCellUnions(absl::Span<const CellId> a, absl::Span<const CellId> b) {
  auto to_union = [](absl::Span<const CellId> cells) {
    std::vector<S2CellId> ids;
    ids.reserve(cells.size());
    for (CellId c : cells) ids.emplace_back(c);
    return S2CellUnion::FromNormalized(std::move(ids));
  };
  const S2CellUnion both = to_union(a).Intersection(to_union(b));
  std::vector<CellId> out;
  out.reserve(both.size());
  for (const S2CellId& c : both) out.push_back(c.id());
  return out;
}

struct AreaRegion::Impl {
  std::unique_ptr<S2Region> region;  // S2Cap, S2Polygon or S2CellUnion
  double steradians = 0;
  int clip_level = 0;
  std::vector<std::pair<CellId, CellId>> covering, interior;
};

AreaRegion::AreaRegion(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AreaRegion::AreaRegion(AreaRegion&&) noexcept = default;
AreaRegion& AreaRegion::operator=(AreaRegion&&) noexcept = default;
AreaRegion::~AreaRegion() = default;

absl::StatusOr<AreaRegion> AreaRegion::Build(const geo::SearchArea& area) {
  if (absl::Status st = geo::ValidateSearchAreaValues(area); !st.ok()) return st;
  auto impl = std::make_unique<Impl>();
  switch (area.shape) {
    case geo::SearchArea::Shape::kNone:
      return absl::InvalidArgumentError("area: no shape (a circle, a polygon or cells)");
    case geo::SearchArea::Shape::kCircle: {
      const double angle = std::min(area.radius_km / geo::kEarthRadiusKm, M_PI);
      auto cap = std::make_unique<S2Cap>(ToPoint(area.center), S1Angle::Radians(angle));
      impl->steradians = cap->GetArea();
      impl->region = std::move(cap);
      break;
    }
    case geo::SearchArea::Shape::kPolygon: {
      std::vector<S2Point> vertices;
      vertices.reserve(area.polygon.size());
      for (geo::LatLon p : area.polygon) vertices.push_back(ToPoint(p));
      auto loop = std::make_unique<S2Loop>(vertices, S2Debug::DISABLE);
      S2Error error;
      if (loop->FindValidationError(&error)) {
        return absl::InvalidArgumentError(
            absl::StrCat("area.polygon: not a simple ring: ", error.text()));
      }
      loop->Normalize();  // the smaller side: a ring cannot mean "everything but"
      if (loop->GetArea() < kMinPolygonSteradians) {
        return absl::InvalidArgumentError(
            "area.polygon: degenerate (its vertices enclose no area)");
      }
      impl->steradians = loop->GetArea();
      impl->region = std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
      break;
    }
    case geo::SearchArea::Shape::kCells: {
      std::vector<S2CellId> ids;
      ids.reserve(area.cell_tokens.size());
      for (size_t i = 0; i < area.cell_tokens.size(); ++i) {
        absl::StatusOr<CellId> id = CellFromToken(area.cell_tokens[i]);
        if (!id.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("area.cells.tokens[", i, "]: ", id.status().message()));
        }
        ids.emplace_back(*id);
      }
      auto cells = std::make_unique<S2CellUnion>(std::move(ids));  // normalised
      for (const S2CellId& c : *cells) impl->clip_level = std::max(impl->clip_level, c.level());
      impl->steradians = cells->ExactArea();
      impl->region = std::move(cells);
      break;
    }
  }
  const double size_radians = std::sqrt(impl->steradians);
  impl->clip_level = std::max(
      impl->clip_level, S2::kMaxDiag.GetLevelForMaxValue(size_radians / kClipCellsAcross));
  S2RegionCoverer::Options options;
  options.set_max_cells(kCoveringCells);
  S2RegionCoverer coverer(options);
  impl->covering = Ranges(coverer.GetCovering(*impl->region));
  impl->interior = Ranges(coverer.GetInteriorCovering(*impl->region));
  return AreaRegion(std::move(impl));
}

bool AreaRegion::Contains(geo::LatLon p) const {
  if (!geo::ValidateLatLon(p).ok()) return false;
  return impl_->region->Contains(ToPoint(p));
}

bool AreaRegion::ContainsUnit(const std::array<double, 3>& p) const {
  return impl_->region->Contains(S2Point(p[0], p[1], p[2]));
}

double AreaRegion::AreaKm2() const {
  return impl_->steradians * geo::kEarthRadiusKm * geo::kEarthRadiusKm;
}

int AreaRegion::clip_level() const { return impl_->clip_level; }

std::vector<CellId> AreaRegion::ClipCovering() const {
  std::vector<S2CellId> kept;
  std::vector<S2CellId> pending;
  for (int face = 0; face < 6; ++face) pending.push_back(S2CellId::FromFace(face));
  while (!pending.empty()) {
    const S2CellId id = pending.back();
    pending.pop_back();
    if (!id.is_valid()) continue;
    const S2Cell cell(id);
    if (impl_->region->Contains(cell)) {
      kept.push_back(id);
    } else if (impl_->region->MayIntersect(cell)) {
      if (id.level() >= impl_->clip_level) {
        kept.push_back(id);  // a boundary cell, kept whole
      } else {
        for (S2CellId child = id.child_begin(); child != id.child_end(); child = child.next()) {
          pending.push_back(child);
        }
      }
    }
  }
  S2CellUnion clipped(std::move(kept));  // normalised
  std::vector<CellId> out;
  out.reserve(clipped.size());
  for (const S2CellId& c : clipped) out.push_back(c.id());
  return out;
}

const std::vector<std::pair<CellId, CellId>>& AreaRegion::covering_ranges() const {
  return impl_->covering;
}
const std::vector<std::pair<CellId, CellId>>& AreaRegion::interior_ranges() const {
  return impl_->interior;
}

PointCellIndex PointCellIndex::Build(absl::Span<const geo::LatLon> positions) {
  PointCellIndex index;
  index.num_rows_ = static_cast<int64_t>(positions.size());
  std::vector<std::pair<CellId, int64_t>> keyed;
  keyed.reserve(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) {
    if (!geo::ValidateLatLon(positions[i]).ok()) continue;
    keyed.emplace_back(S2CellId(ToPoint(positions[i])).id(), static_cast<int64_t>(i));
  }
  std::sort(keyed.begin(), keyed.end());
  index.leaves_.reserve(keyed.size());
  index.rows_.reserve(keyed.size());
  index.points_.reserve(keyed.size());
  for (const auto& [leaf, row] : keyed) {
    index.leaves_.push_back(leaf);
    index.rows_.push_back(row);
    const S2Point p = ToPoint(positions[row]);
    index.points_.push_back({p.x(), p.y(), p.z()});
  }
  return index;
}

std::vector<int64_t> PointCellIndex::Select(const AreaRegion& region) const {
  // Rows are marked in a bitmap and read back in order: cheaper than sorting them.
  std::vector<uint64_t> bits(static_cast<size_t>((num_rows_ + 63) / 64), 0);
  int64_t count = 0;
  const auto& interior = region.interior_ranges();
  size_t in = 0;  // the first interior range that may still hold a leaf (both are sorted)
  for (const auto& [lo, hi] : region.covering_ranges()) {
    const size_t begin = std::lower_bound(leaves_.begin(), leaves_.end(), lo) - leaves_.begin();
    const size_t end = std::upper_bound(leaves_.begin(), leaves_.end(), hi) - leaves_.begin();
    for (size_t i = begin; i < end; ++i) {
      const CellId leaf = leaves_[i];
      while (in < interior.size() && interior[in].second < leaf) ++in;
      const bool inside_interior = in < interior.size() && interior[in].first <= leaf;
      if (inside_interior || region.ContainsUnit(points_[i])) {
        bits[rows_[i] >> 6] |= uint64_t{1} << (rows_[i] & 63);
        ++count;
      }
    }
  }
  std::vector<int64_t> out;
  out.reserve(count);
  for (size_t w = 0; w < bits.size(); ++w) {
    for (uint64_t b = bits[w]; b != 0; b &= b - 1) {
      out.push_back(static_cast<int64_t>(w * 64 + __builtin_ctzll(b)));
    }
  }
  return out;
}

}  // namespace geoloc::cells
