#include "core/geo/search_area.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace geoloc::geo {

absl::Status ValidateSearchAreaValues(const SearchArea& area) {
  switch (area.shape) {
    case SearchArea::Shape::kNone:
      return absl::OkStatus();
    case SearchArea::Shape::kCircle:
      if (absl::Status st = ValidateLatLon(area.center); !st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("area.circle.center: ", st.message()));
      }
      if (absl::Status st = CheckRange(kAreaRadiusKmRange, area.radius_km); !st.ok()) return st;
      return absl::OkStatus();
    case SearchArea::Shape::kPolygon: {
      const size_t n = area.polygon.size();
      if (n < 3 || n > static_cast<size_t>(kMaxAreaPolygonVertices)) {
        return absl::InvalidArgumentError(
            absl::StrCat("area.polygon has ", n, " vertices (allowed: 3 to ",
                         kMaxAreaPolygonVertices, ", the ring not closed)"));
      }
      for (size_t i = 0; i < n; ++i) {
        if (absl::Status st = ValidateLatLon(area.polygon[i]); !st.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("area.polygon.vertices[", i, "]: ", st.message()));
        }
      }
      break;
    }
    case SearchArea::Shape::kCells: {
      const size_t n = area.cell_tokens.size();
      if (n < 1 || n > static_cast<size_t>(kMaxAreaCellTokens)) {
        return absl::InvalidArgumentError(
            absl::StrCat("area.cells has ", n, " tokens (allowed: 1 to ", kMaxAreaCellTokens, ")"));
      }
      break;
    }
  }
  if (area.mode == AreaMode::kSoft) {
    return absl::InvalidArgumentError(
        "area.mode SOFT needs a circle (a centre and the radius holding 95% of the prior); "
        "polygons and cells are hard filters");
  }
  return absl::OkStatus();
}

double SoftPriorSigmaKm(double radius_km) {
  return radius_km / std::sqrt(-2.0 * std::log(1.0 - kSoftPriorMassShare));
}

double SoftPriorSupportKm(double radius_km) {
  return SoftPriorSigmaKm(radius_km) * std::sqrt(-2.0 * std::log(1.0 - kSoftPriorSupportMassShare));
}

double SoftPriorLogWeight(const SearchArea& area, LatLon p) {
  const double sigma = SoftPriorSigmaKm(area.radius_km);
  const double d = HaversineKm(area.center, p);
  return -0.5 * (d / sigma) * (d / sigma);
}

std::string DescribeSearchArea(const SearchArea& area) {
  const char* mode = area.mode == AreaMode::kSoft ? "soft" : "hard";
  switch (area.shape) {
    case SearchArea::Shape::kNone:
      return "none";
    case SearchArea::Shape::kCircle:
      return absl::StrCat("circle ", FormatLatLon(area.center), " r=", area.radius_km, " km ",
                          mode);
    case SearchArea::Shape::kPolygon:
      return absl::StrCat("polygon of ", area.polygon.size(), " vertices ", mode);
    case SearchArea::Shape::kCells:
      return absl::StrCat(area.cell_tokens.size(), " cells ", mode);
  }
  return "none";
}

}  // namespace geoloc::geo
