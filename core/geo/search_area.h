// A search area of one Locate (LocateOptions.area): where the photo is known or believed to be.
// The shape's geometry (polygon validity, cell tokens, which points it contains) lives in
// core/cells/area_region.h, the one place that speaks S2; this header holds the plain value, its
// limits and the soft prior's density, so that the engine, the server and the CLI share them.
//
//   geo::SearchArea area;  area.shape = geo::SearchArea::Shape::kCircle;
//   area.center = {48.8566, 2.3522};  area.radius_km = 10;  area.mode = geo::AreaMode::kSoft;
//   GEOLOC_RETURN_IF_ERROR(geo::ValidateSearchAreaValues(area));  // ranges; shape: AreaRegion
//
// Modes (case table):
//   mode    shape              what it does
//   kHard   circle/poly/cells  only database photos inside the shape are searched (the filter
//                              runs inside the search); an area holding none answers
//                              FAILED_PRECONDITION, never a global search
//   kSoft   circle             the k best photos overall and the k best inside the prior's support
//                              (SoftPriorSupportKm) are retrieved, and every neighbour's weight
//                              is multiplied by exp(SoftPriorLogWeight()): a Gaussian in
//                              great-circle distance from the centre holding 95% of its mass
//                              within radius_km
//   kSoft   polygon/cells      INVALID_ARGUMENT (a prior needs a centre and a spread)
//
// Plain value type; the functions are pure and thread-safe.
#ifndef GEOLOC_CORE_GEO_SEARCH_AREA_H_
#define GEOLOC_CORE_GEO_SEARCH_AREA_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/common/option_range.h"
#include "core/geo/distance.h"
#include "core/geo/lat_lon.h"

namespace geoloc::geo {

enum class AreaMode { kHard, kSoft };

// The limits of an area, beside the option (option_range.h's messages).
// A circle: more than 0, at most half the Earth's circumference (the whole sphere).
inline constexpr RealRange kAreaRadiusKmRange{
    "area.circle.radius_km", 0, kHalfCircumferenceKm, true, false, "km"};
inline constexpr int kMaxAreaPolygonVertices = 10000;
inline constexpr int kMaxAreaCellTokens = 10000;
// The soft prior's radius holds this share of its mass: exp(-R^2 / 2 s^2) = 1 - share.
inline constexpr double kSoftPriorMassShare = 0.95;
// A soft search also retrieves the best photos inside the disc holding this share of the prior
// (its support), so that the prior has candidates where it puts its mass.
inline constexpr double kSoftPriorSupportMassShare = 0.999;

struct SearchArea {
  enum class Shape { kNone, kCircle, kPolygon, kCells };
  Shape shape = Shape::kNone;
  AreaMode mode = AreaMode::kHard;
  LatLon center;                         // kCircle
  double radius_km = 0;                  // kCircle
  std::vector<LatLon> polygon;           // kPolygon: the ring, not closed, either orientation
  std::vector<std::string> cell_tokens;  // kCells

  bool empty() const { return shape == Shape::kNone; }
  bool hard() const { return shape != Shape::kNone && mode == AreaMode::kHard; }
  bool soft() const { return shape != Shape::kNone && mode == AreaMode::kSoft; }
};

// The checks that need no geometry library: coordinates (ValidateLatLon), the radius range,
// vertex and token counts (at least 3 vertices, at least one token), soft mode on a circle only.
// INVALID_ARGUMENT naming the field: "area.polygon.vertices[2]: latitude 91 is outside [-90, 90]".
// The shape itself (self-intersection, degenerate rings, malformed tokens) is checked by
// cells::AreaRegion::Build.
absl::Status ValidateSearchAreaValues(const SearchArea& area);

// The Gaussian's standard deviation in km for a soft prior of `radius_km`:
// radius_km / sqrt(-2 ln(1 - kSoftPriorMassShare)) (= radius / 2.448).
double SoftPriorSigmaKm(double radius_km);
// The radius of the disc holding kSoftPriorSupportMassShare of a soft prior of `radius_km`
// (1.52 radius_km).
double SoftPriorSupportKm(double radius_km);
// -d^2 / (2 sigma^2) for the great-circle distance d from the circle's centre: the log of the
// prior's density up to a constant (which cancels when the weights are normalised).
double SoftPriorLogWeight(const SearchArea& area, LatLon p);

// "circle (48.8566000, 2.3522000) r=10 km hard", for logs and audit lines.
std::string DescribeSearchArea(const SearchArea& area);

}  // namespace geoloc::geo

#endif  // GEOLOC_CORE_GEO_SEARCH_AREA_H_
