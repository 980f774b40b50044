#include "client/geojson.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace geoloc::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr double kEarthRadiusKm = 6371.0088;  // mean radius, as the server's estimators use
constexpr double kPi = 3.14159265358979323846;
constexpr int kCircleVertices = 64;
// A circle this large covers a hemisphere and has no useful flat-map outline.
constexpr double kMaxCircleRadiusKm = 10000.0;

double Radians(double degrees) { return degrees * kPi / 180.0; }
double Degrees(double radians) { return radians * 180.0 / kPi; }

// Wraps a longitude difference into (-180, 180].
double WrapDelta(double delta) {
  delta = std::fmod(delta, 360.0);
  if (delta > 180.0) delta -= 360.0;
  if (delta <= -180.0) delta += 360.0;
  return delta;
}

// Twice the signed area in the lon/lat plane: positive for counter-clockwise.
double SignedArea2(const Ring& ring) {
  double area = 0;
  for (size_t i = 0, n = ring.size(); i < n; ++i) {
    const LonLat& a = ring[i];
    const LonLat& b = ring[(i + 1) % n];
    area += a.lon * b.lat - b.lon * a.lat;
  }
  return area;
}

// Sutherland-Hodgman against one vertical line: keeps lon <= x (keep_west) or lon >= x. A
// half-plane is convex, so any simple ring clips correctly.
Ring ClipAtLongitude(const Ring& ring, double x, bool keep_west) {
  Ring out;
  const size_t n = ring.size();
  auto inside = [&](const LonLat& p) { return keep_west ? p.lon <= x : p.lon >= x; };
  auto crossing = [&](const LonLat& a, const LonLat& b) {
    const double t = (x - a.lon) / (b.lon - a.lon);
    return LonLat{x, a.lat + t * (b.lat - a.lat)};
  };
  for (size_t i = 0; i < n; ++i) {
    const LonLat& cur = ring[i];
    const LonLat& prev = ring[(i + n - 1) % n];
    if (inside(cur)) {
      if (!inside(prev)) out.push_back(crossing(prev, cur));
      out.push_back(cur);
    } else if (inside(prev)) {
      out.push_back(crossing(prev, cur));
    }
  }
  return out;
}

Ring WithoutRepeats(const Ring& ring) {
  Ring out;
  for (const LonLat& p : ring) {
    if (out.empty() || out.back().lon != p.lon || out.back().lat != p.lat) out.push_back(p);
  }
  while (out.size() > 1 && out.front().lon == out.back().lon && out.front().lat == out.back().lat) {
    out.pop_back();
  }
  return out;
}

// JSON has no NaN or infinity: those become null.
Value NumberValue(double number) {
  Value value;
  if (std::isfinite(number)) {
    value.set_number_value(number);
  } else {
    value.set_null_value(google::protobuf::NULL_VALUE);
  }
  return value;
}

Value StringValue(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

Value Position(const LonLat& p) {
  Value value;
  ListValue* list = value.mutable_list_value();
  *list->add_values() = NumberValue(p.lon);
  *list->add_values() = NumberValue(p.lat);
  return value;
}

Value RingValue(const Ring& ring) {
  Value value;
  for (const LonLat& p : ring) *value.mutable_list_value()->add_values() = Position(p);
  return value;
}

Value Geometry(absl::string_view type, Value coordinates) {
  Value value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["type"] = StringValue(type);
  fields["coordinates"] = std::move(coordinates);
  return value;
}

Struct Properties(absl::string_view kind, absl::string_view image) {
  Struct properties;
  (*properties.mutable_fields())["kind"] = StringValue(kind);
  (*properties.mutable_fields())["image"] = StringValue(image);
  return properties;
}

void Set(Struct* properties, const std::string& key, Value value) {
  (*properties->mutable_fields())[key] = std::move(value);
}

}  // namespace

std::vector<Ring> SplitRingAtAntimeridian(const std::vector<v1::LatLng>& ring) {
  std::vector<Ring> pieces;
  if (ring.size() < 3) return pieces;

  // Unwrap: each step takes the short way round, so a cell over ±180 becomes one continuous ring
  // whose longitudes leave [-180, 180].
  Ring unwrapped;
  unwrapped.reserve(ring.size() + 3);
  unwrapped.push_back({ring[0].longitude(), ring[0].latitude()});
  for (size_t i = 1; i < ring.size(); ++i) {
    const double step = WrapDelta(ring[i].longitude() - ring[i - 1].longitude());
    unwrapped.push_back({unwrapped.back().lon + step, ring[i].latitude()});
  }
  const double closing_lon =
      unwrapped.back().lon + WrapDelta(ring[0].longitude() - ring.back().longitude());
  const double winding = closing_lon - unwrapped.front().lon;
  if (std::abs(winding) > 180.0) {
    // The ring goes once around a pole: counter-clockwise around the north pole runs east
    // (+360), around the south pole west. Close it along the pole's latitude.
    const double pole_lat = winding > 0 ? 90.0 : -90.0;
    unwrapped.push_back({closing_lon, ring[0].latitude()});
    unwrapped.push_back({closing_lon, pole_lat});
    unwrapped.push_back({unwrapped.front().lon, pole_lat});
  }

  double min_lon = unwrapped.front().lon;
  double max_lon = min_lon;
  for (const LonLat& p : unwrapped) {
    min_lon = std::min(min_lon, p.lon);
    max_lon = std::max(max_lon, p.lon);
  }
  // Window k covers [-180 + 360k, 180 + 360k]; its piece is shifted back by -360k.
  const int first = static_cast<int>(std::floor((min_lon + 180.0) / 360.0));
  const int last = static_cast<int>(std::floor((max_lon + 180.0) / 360.0));
  for (int k = first; k <= last; ++k) {
    const double west = -180.0 + 360.0 * k;
    Ring piece = ClipAtLongitude(ClipAtLongitude(unwrapped, west + 360.0, /*keep_west=*/true), west,
                                 /*keep_west=*/false);
    for (LonLat& p : piece) p.lon = std::clamp(p.lon - 360.0 * k, -180.0, 180.0);
    piece = WithoutRepeats(piece);
    if (piece.size() < 3) continue;
    const double area2 = SignedArea2(piece);
    if (std::abs(area2) < 1e-12) continue;                    // a sliver touching the window's edge
    if (area2 < 0) std::reverse(piece.begin(), piece.end());  // RFC 7946: counter-clockwise
    piece.push_back(piece.front());
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

std::vector<v1::LatLng> GeodesicCircle(const v1::LatLng& center, double radius_km, int vertices) {
  std::vector<v1::LatLng> ring;
  if (vertices < 3 || !(radius_km > 0)) return ring;
  // Bearings are undefined at a pole: nudge the centre off it.
  const double lat1 = Radians(std::clamp(center.latitude(), -89.9999, 89.9999));
  const double lon1 = Radians(center.longitude());
  const double angular = radius_km / kEarthRadiusKm;
  ring.reserve(static_cast<size_t>(vertices));
  for (int i = 0; i < vertices; ++i) {
    // Decreasing bearing (north, west, south, east) runs counter-clockwise on the map.
    const double bearing = -2.0 * kPi * i / vertices;
    const double lat2 = std::asin(std::sin(lat1) * std::cos(angular) +
                                  std::cos(lat1) * std::sin(angular) * std::cos(bearing));
    const double lon2 = lon1 + std::atan2(std::sin(bearing) * std::sin(angular) * std::cos(lat1),
                                          std::cos(angular) - std::sin(lat1) * std::sin(lat2));
    v1::LatLng point;
    point.set_latitude(Degrees(lat2));
    double lon = std::fmod(Degrees(lon2) + 180.0, 360.0);
    if (lon < 0) lon += 360.0;
    point.set_longitude(lon - 180.0);
    ring.push_back(point);
  }
  return ring;
}

void GeoJsonBuilder::AddFeature(Value geometry, Struct properties) {
  Value feature;
  auto& fields = *feature.mutable_struct_value()->mutable_fields();
  fields["type"] = StringValue("Feature");
  fields["geometry"] = std::move(geometry);
  *fields["properties"].mutable_struct_value() = std::move(properties);
  *features_.add_values() = std::move(feature);
}

void GeoJsonBuilder::AddPoint(const v1::LatLng& at, Struct properties) {
  AddFeature(Geometry("Point", Position({at.longitude(), at.latitude()})), std::move(properties));
}

void GeoJsonBuilder::AddArea(const std::vector<v1::LatLng>& ring, Struct properties) {
  std::vector<Ring> pieces = SplitRingAtAntimeridian(ring);
  if (pieces.empty()) return;
  if (pieces.size() == 1) {
    Value polygon;
    *polygon.mutable_list_value()->add_values() = RingValue(pieces[0]);
    AddFeature(Geometry("Polygon", std::move(polygon)), std::move(properties));
    return;
  }
  Value multi;
  for (const Ring& piece : pieces) {
    Value polygon;
    *polygon.mutable_list_value()->add_values() = RingValue(piece);
    *multi.mutable_list_value()->add_values() = std::move(polygon);
  }
  AddFeature(Geometry("MultiPolygon", std::move(multi)), std::move(properties));
}

void GeoJsonBuilder::AddCircle(const v1::LatLng& center, double radius_km, Struct properties) {
  if (!(radius_km > 0) || radius_km >= kMaxCircleRadiusKm) return;
  AddArea(GeodesicCircle(center, radius_km, kCircleVertices), std::move(properties));
}

void GeoJsonBuilder::AddCell(absl::string_view image, absl::string_view kind,
                             const v1::CellConfidence& cell) {
  Struct properties = Properties(kind, image);
  Set(&properties, "token", StringValue(cell.token()));
  Set(&properties, "level", NumberValue(cell.level()));
  Set(&properties, "probability", NumberValue(cell.probability()));
  if (cell.polygon_size() >= 3) {
    AddArea({cell.polygon().begin(), cell.polygon().end()}, std::move(properties));
  } else {
    AddPoint(cell.center(), std::move(properties));
  }
}

void GeoJsonBuilder::AddLocateResponse(absl::string_view image,
                                       const v1::LocateResponse& response) {
  auto add_estimate = [&](absl::string_view which, const v1::LocationEstimate& estimate) {
    Struct properties = Properties("estimate", image);
    Set(&properties, "estimate", StringValue(which));
    Set(&properties, "uncertainty_km", NumberValue(estimate.uncertainty_km()));
    Set(&properties, "confidence", NumberValue(estimate.confidence()));
    AddPoint(estimate.location(), std::move(properties));
  };
  if (response.has_best()) {
    add_estimate("best", response.best());
    Struct properties = Properties("estimate_uncertainty", image);
    Set(&properties, "estimate", StringValue("best"));
    Set(&properties, "uncertainty_km", NumberValue(response.best().uncertainty_km()));
    AddCircle(response.best().location(), response.best().uncertainty_km(), std::move(properties));
  }
  // Retrieval and classifier only differ from `best` when the bundle has a classifier.
  if (response.has_classifier()) {
    if (response.has_retrieval()) add_estimate("retrieval", response.retrieval());
    add_estimate("classifier", response.classifier());
  }
  for (int i = 0; i < response.peaks_size(); ++i) {
    const v1::Peak& peak = response.peaks(i);
    Struct properties = Properties("peak", image);
    Set(&properties, "rank", NumberValue(i));
    Set(&properties, "mass", NumberValue(peak.mass()));
    Set(&properties, "density", NumberValue(peak.density()));
    Set(&properties, "support", NumberValue(peak.support()));
    Set(&properties, "radius_km", NumberValue(peak.radius_km()));
    AddPoint(peak.location(), properties);
    Struct circle = Properties("peak_radius", image);
    Set(&circle, "rank", NumberValue(i));
    Set(&circle, "mass", NumberValue(peak.mass()));
    Set(&circle, "radius_km", NumberValue(peak.radius_km()));
    AddCircle(peak.location(), peak.radius_km(), std::move(circle));
  }
  for (const v1::CellConfidence& cell : response.cells()) AddCell(image, "cell", cell);
  for (const v1::CellConfidence& cell : response.classifier_cells()) {
    AddCell(image, "classifier_cell", cell);
  }
  for (int i = 0; i < response.neighbors_size(); ++i) {
    const v1::Neighbor& neighbor = response.neighbors(i);
    Struct properties = Properties("neighbor", image);
    Set(&properties, "rank", NumberValue(i));
    // Ids are int64; as strings they survive JSON readers that hold numbers in doubles.
    Set(&properties, "id", StringValue(absl::StrCat(neighbor.id())));
    Set(&properties, "similarity", NumberValue(neighbor.similarity()));
    Set(&properties, "source", StringValue(neighbor.source()));
    Set(&properties, "group", StringValue(neighbor.group()));
    AddPoint(neighbor.location(), std::move(properties));
  }
}

void GeoJsonBuilder::AddExplainTarget(absl::string_view image,
                                      const v1::ExplainResponse& response) {
  switch (response.target_kind()) {
    case v1::ExplainResponse::TARGET_KIND_PEAK: {
      const v1::Peak& peak = response.peak();
      Struct properties = Properties("peak", image);
      Set(&properties, "mass", NumberValue(peak.mass()));
      Set(&properties, "density", NumberValue(peak.density()));
      Set(&properties, "support", NumberValue(peak.support()));
      Set(&properties, "radius_km", NumberValue(peak.radius_km()));
      Set(&properties, "target_score", NumberValue(response.target_score()));
      AddPoint(peak.location(), std::move(properties));
      Struct circle = Properties("peak_radius", image);
      Set(&circle, "radius_km", NumberValue(peak.radius_km()));
      AddCircle(peak.location(), peak.radius_km(), std::move(circle));
      break;
    }
    case v1::ExplainResponse::TARGET_KIND_NEIGHBOR: {
      const v1::Neighbor& neighbor = response.neighbor();
      Struct properties = Properties("neighbor", image);
      Set(&properties, "id", StringValue(absl::StrCat(neighbor.id())));
      Set(&properties, "similarity", NumberValue(neighbor.similarity()));
      Set(&properties, "source", StringValue(neighbor.source()));
      Set(&properties, "group", StringValue(neighbor.group()));
      Set(&properties, "target_score", NumberValue(response.target_score()));
      AddPoint(neighbor.location(), std::move(properties));
      break;
    }
    case v1::ExplainResponse::TARGET_KIND_CELL:
      AddCell(image, "classifier_cell", response.cell());
      break;
    default:
      break;
  }
}

absl::StatusOr<std::string> GeoJsonBuilder::ToJson() const {
  Struct collection;
  auto& fields = *collection.mutable_fields();
  fields["type"] = StringValue("FeatureCollection");
  *fields["features"].mutable_list_value() = features_;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(collection, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print GeoJSON: ", status.message().as_string()));
  }
  return json;
}

}  // namespace geoloc::client
