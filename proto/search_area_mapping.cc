#include "proto/search_area_mapping.h"

#include "absl/strings/str_cat.h"

namespace geoloc::api {

absl::StatusOr<geo::SearchArea> SearchAreaFromProto(const v1::SearchArea& area) {
  geo::SearchArea out;
  switch (area.mode()) {
    case v1::SearchArea::MODE_UNSPECIFIED:
    case v1::SearchArea::HARD:
      out.mode = geo::AreaMode::kHard;
      break;
    case v1::SearchArea::SOFT:
      out.mode = geo::AreaMode::kSoft;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("area.mode = ", static_cast<int>(area.mode()),
                                                     " is not a SearchArea.Mode (HARD = 1, "
                                                     "SOFT = 2, or 0 for HARD)"));
  }
  switch (area.shape_case()) {
    case v1::SearchArea::kCircle:
      out.shape = geo::SearchArea::Shape::kCircle;
      out.center = {area.circle().center().latitude(), area.circle().center().longitude()};
      out.radius_km = area.circle().radius_km();
      break;
    case v1::SearchArea::kPolygon:
      out.shape = geo::SearchArea::Shape::kPolygon;
      for (const v1::LatLng& p : area.polygon().vertices()) {
        out.polygon.push_back({p.latitude(), p.longitude()});
      }
      break;
    case v1::SearchArea::kCells:
      out.shape = geo::SearchArea::Shape::kCells;
      out.cell_tokens.assign(area.cells().tokens().begin(), area.cells().tokens().end());
      break;
    case v1::SearchArea::SHAPE_NOT_SET:
      out.shape = geo::SearchArea::Shape::kNone;
      break;
  }
  return out;
}

v1::SearchArea SearchAreaToProto(const geo::SearchArea& area) {
  v1::SearchArea out;
  out.set_mode(area.mode == geo::AreaMode::kSoft ? v1::SearchArea::SOFT : v1::SearchArea::HARD);
  switch (area.shape) {
    case geo::SearchArea::Shape::kNone:
      out.clear_mode();
      break;
    case geo::SearchArea::Shape::kCircle: {
      v1::SearchArea::Circle* c = out.mutable_circle();
      c->mutable_center()->set_latitude(area.center.lat);
      c->mutable_center()->set_longitude(area.center.lon);
      c->set_radius_km(area.radius_km);
      break;
    }
    case geo::SearchArea::Shape::kPolygon:
      for (const geo::LatLon& p : area.polygon) {
        v1::LatLng* v = out.mutable_polygon()->add_vertices();
        v->set_latitude(p.lat);
        v->set_longitude(p.lon);
      }
      break;
    case geo::SearchArea::Shape::kCells:
      for (const std::string& t : area.cell_tokens) out.mutable_cells()->add_tokens(t);
      break;
  }
  return out;
}

}  // namespace geoloc::api
