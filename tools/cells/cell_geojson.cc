#include "tools/cells/cell_geojson.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/common/json_proto.h"
#include "core/cells/s2_cells.h"
#include "google/protobuf/struct.pb.h"

namespace geoloc::cells_cli {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Value NumberValue(double number) {
  Value value;
  if (std::isfinite(number)) {
    value.set_number_value(number);
  } else {
    value.set_null_value(google::protobuf::NULL_VALUE);
  }
  return value;
}

Value StringValue(const std::string& text) {
  Value value;
  value.set_string_value(text);
  return value;
}

Value RingValue(const GeoRing& ring) {
  Value value;
  for (const LonLat& p : ring) {
    Value position;
    *position.mutable_list_value()->add_values() = NumberValue(p.lon);
    *position.mutable_list_value()->add_values() = NumberValue(p.lat);
    *value.mutable_list_value()->add_values() = std::move(position);
  }
  return value;
}

}  // namespace

absl::StatusOr<std::string> CellsToGeoJson(const cells::CellHierarchy& cells,
                                           const CellGeoJsonOptions& options) {
  if (options.points_per_edge < 1 || options.points_per_edge > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("points_per_edge ", options.points_per_edge, " outside [1, 64]"));
  }
  Struct collection;
  auto& fields = *collection.mutable_fields();
  fields["type"] = StringValue("FeatureCollection");
  ListValue* features = fields["features"].mutable_list_value();
  for (const cells::CellNode& node : cells.nodes()) {
    if (options.leaves_only && !node.is_leaf()) continue;
    const std::vector<GeoRing> pieces =
        SplitRingAtAntimeridian(cells::CellVertices(node.id, options.points_per_edge));
    if (pieces.empty()) {
      return absl::InternalError(absl::StrCat("cell ", cells::CellToken(node.id),
                                              " has no drawable outline"));
    }
    Value geometry;
    auto& g = *geometry.mutable_struct_value()->mutable_fields();
    if (pieces.size() == 1) {
      g["type"] = StringValue("Polygon");
      *g["coordinates"].mutable_list_value()->add_values() = RingValue(pieces[0]);
    } else {
      g["type"] = StringValue("MultiPolygon");
      for (const GeoRing& piece : pieces) {
        Value polygon;
        *polygon.mutable_list_value()->add_values() = RingValue(piece);
        *g["coordinates"].mutable_list_value()->add_values() = std::move(polygon);
      }
    }
    Value feature;
    auto& f = *feature.mutable_struct_value()->mutable_fields();
    f["type"] = StringValue("Feature");
    f["geometry"] = std::move(geometry);
    auto& p = *f["properties"].mutable_struct_value()->mutable_fields();
    p["token"] = StringValue(cells::CellToken(node.id));
    p["level"] = NumberValue(node.level);
    p["count"] = NumberValue(static_cast<double>(node.count));
    p["leaf_class"] = NumberValue(node.leaf_class);
    p["area_km2"] = NumberValue(cells::CellAreaKm2(node.id));
    *features->add_values() = std::move(feature);
  }
  return ToJsonString(collection);
}

}  // namespace geoloc::cells_cli
