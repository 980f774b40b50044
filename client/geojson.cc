#include "client/geojson.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/common/json_proto.h"
#include "core/geo/distance.h"

namespace geoloc::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kCircleVertices = 64;
// A circle this large covers a hemisphere and has no useful flat-map outline.
constexpr double kMaxCircleRadiusKm = 10000.0;

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

Value BoolValue(bool b) {
  Value value;
  value.set_bool_value(b);
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

// The named place nearest to a feature (docs/PLACES.md): its description and parts, flat so that
// map viewers show them as columns.
void SetPlace(Struct* properties, const v1::Place& place) {
  Set(properties, "place", StringValue(place.description()));
  Set(properties, "place_name", StringValue(place.name()));
  Set(properties, "place_region", StringValue(place.region()));
  Set(properties, "place_country", StringValue(place.country()));
  Set(properties, "place_country_code", StringValue(place.country_code()));
  Set(properties, "place_distance_km", NumberValue(place.distance_km()));
  Set(properties, "place_bearing_deg", NumberValue(place.bearing_deg()));
}

}  // namespace

std::vector<Ring> SplitRingAtAntimeridian(const std::vector<v1::LatLng>& ring) {
  std::vector<geo::LatLon> points;
  points.reserve(ring.size());
  for (const v1::LatLng& p : ring) points.push_back({p.latitude(), p.longitude()});
  return geo::SplitRingAtAntimeridian(points);
}

std::vector<v1::LatLng> GeodesicCircle(const v1::LatLng& center, double radius_km, int vertices) {
  std::vector<v1::LatLng> ring;
  if (vertices < 3 || !(radius_km > 0)) return ring;
  // Bearings are undefined at a pole: nudge the centre off it.
  const geo::LatLon from{std::clamp(center.latitude(), -89.9999, 89.9999), center.longitude()};
  ring.reserve(static_cast<size_t>(vertices));
  for (int i = 0; i < vertices; ++i) {
    // Decreasing bearing (north, west, south, east) runs counter-clockwise on the map.
    const geo::LatLon p = geo::DestinationPoint(from, -360.0 * i / vertices, radius_km);
    v1::LatLng point;
    point.set_latitude(p.lat);
    point.set_longitude(p.lon);
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
  Set(&properties, "weight_share", NumberValue(cell.weight_share()));
  if (cell.has_place()) SetPlace(&properties, cell.place());
  if (cell.polygon_size() >= 3) {
    AddArea({cell.polygon().begin(), cell.polygon().end()}, std::move(properties));
  } else {
    AddPoint(cell.center(), std::move(properties));
  }
}

namespace {

// The rings of one region piece as GeoJSON polygons: the exterior cut at the antimeridian, each
// hole (clockwise) cut the same way and put into the polygon whose exterior holds its first
// vertex (in longitude/latitude; pieces never straddle one another).
std::vector<std::vector<Ring>> PiecePolygons(const v1::RegionPiece& piece) {
  std::vector<std::vector<Ring>> polygons;
  for (Ring& ring : SplitRingAtAntimeridian({piece.exterior().vertices().begin(),
                                             piece.exterior().vertices().end()})) {
    polygons.push_back({std::move(ring)});
  }
  if (polygons.empty()) return polygons;
  auto inside = [](const Ring& ring, const LonLat& p) {
    bool in = false;
    for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      if ((ring[i].lat > p.lat) != (ring[j].lat > p.lat) &&
          p.lon < (ring[j].lon - ring[i].lon) * (p.lat - ring[i].lat) /
                          (ring[j].lat - ring[i].lat) +
                      ring[i].lon) {
        in = !in;
      }
    }
    return in;
  };
  for (const v1::Ring& hole : piece.holes()) {
    // Cut as a counter-clockwise ring, then turned back to clockwise (RFC 7946's holes).
    std::vector<v1::LatLng> ccw(hole.vertices().rbegin(), hole.vertices().rend());
    for (Ring& ring : SplitRingAtAntimeridian(ccw)) {
      std::reverse(ring.begin(), ring.end());
      size_t owner = 0;
      for (size_t i = 0; i < polygons.size(); ++i) {
        if (!ring.empty() && inside(polygons[i][0], ring[0])) owner = i;
      }
      polygons[owner].push_back(std::move(ring));
    }
  }
  return polygons;
}

}  // namespace

void GeoJsonBuilder::AddRegion(absl::string_view image, const v1::ConfidenceRegion& region,
                               bool calibrated) {
  Struct properties = Properties("region", image);
  Set(&properties, "level", NumberValue(region.level()));
  Set(&properties, "guaranteed_coverage", NumberValue(region.guaranteed_coverage()));
  Set(&properties, "area_km2", NumberValue(region.area_km2()));
  Set(&properties, "whole_sphere", BoolValue(region.whole_sphere()));
  Set(&properties, "pieces", NumberValue(region.pieces_size()));
  Set(&properties, "calibrated", BoolValue(calibrated));
  if (region.whole_sphere()) {
    // The whole map: the band between the poles, cut at the antimeridian.
    const Ring world = {{-180, -90}, {180, -90}, {180, 90}, {-180, 90}, {-180, -90}};
    Value polygon;
    *polygon.mutable_list_value()->add_values() = RingValue(world);
    AddFeature(Geometry("Polygon", std::move(polygon)), std::move(properties));
    return;
  }
  Value multi;
  for (const v1::RegionPiece& piece : region.pieces()) {
    for (const std::vector<Ring>& rings : PiecePolygons(piece)) {
      Value polygon;
      for (const Ring& ring : rings) *polygon.mutable_list_value()->add_values() = RingValue(ring);
      *multi.mutable_list_value()->add_values() = std::move(polygon);
    }
  }
  if (multi.list_value().values_size() == 0) {
    // An empty region: no place reaches the level's threshold. The feature says so, with no shape.
    Value none;
    none.set_null_value(google::protobuf::NULL_VALUE);
    AddFeature(std::move(none), std::move(properties));
    return;
  }
  AddFeature(Geometry("MultiPolygon", std::move(multi)), std::move(properties));
}

void GeoJsonBuilder::AddLocateResponse(absl::string_view image,
                                       const v1::LocateResponse& response) {
  auto add_estimate = [&](absl::string_view which, const v1::LocationEstimate& estimate) {
    Struct properties = Properties("estimate", image);
    Set(&properties, "estimate", StringValue(which));
    Set(&properties, "uncertainty_km", NumberValue(estimate.uncertainty_km()));
    Set(&properties, "weight_share", NumberValue(estimate.weight_share()));
    if (estimate.has_place()) SetPlace(&properties, estimate.place());
    if (which == "best") {
      Set(&properties, "calibrated", BoolValue(response.calibrated()));
      if (response.calibrated()) {
        Set(&properties, "localizable_probability",
            NumberValue(response.localizable_probability()));
        Set(&properties, "abstained", BoolValue(response.abstained()));
        Value within;
        for (const v1::WithinProbability& w : response.within()) {
          Value item;
          auto& fields = *item.mutable_struct_value()->mutable_fields();
          fields["threshold_km"] = NumberValue(w.threshold_km());
          fields["probability"] = NumberValue(w.probability());
          *within.mutable_list_value()->add_values() = std::move(item);
        }
        if (!within.has_list_value()) within.mutable_list_value();
        Set(&properties, "within", std::move(within));
      }
    }
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
    if (peak.has_place()) SetPlace(&properties, peak.place());
    AddPoint(peak.location(), properties);
    Struct circle = Properties("peak_radius", image);
    Set(&circle, "rank", NumberValue(i));
    Set(&circle, "mass", NumberValue(peak.mass()));
    Set(&circle, "radius_km", NumberValue(peak.radius_km()));
    AddCircle(peak.location(), peak.radius_km(), std::move(circle));
  }
  for (const v1::ConfidenceRegion& region : response.regions()) {
    AddRegion(image, region, response.calibrated());
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
  return ToJsonString(collection);
}

}  // namespace geoloc::client
