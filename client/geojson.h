// GeoJSON (RFC 7946) maps of geoloc answers, for operators' map tools.
//
//   GeoJsonBuilder map;
//   map.AddLocateResponse("flood.jpg", response);
//   GEOLOC_ASSIGN_OR_RETURN(std::string json, map.ToJson());
//   GEOLOC_RETURN_IF_ERROR(WriteFileAtomically("flood.geojson", json));
//
// One FeatureCollection; every feature has properties.kind and properties.image:
//
//   | kind                 | geometry               | other properties                          |
//   |----------------------|------------------------|-------------------------------------------|
//   | estimate             | Point                  | estimate (best/retrieval/classifier),     |
//   |                      |                        | uncertainty_km, weight_share; best also:  |
//   |                      |                        | calibrated, and when calibrated           |
//   |                      |                        | localizable_probability, abstained,       |
//   |                      |                        | within [{threshold_km, probability}]      |
//   | region               | MultiPolygon (Polygon  | level, guaranteed_coverage, area_km2,     |
//   |                      | for the whole sphere;  | whole_sphere, pieces, calibrated: one per |
//   |                      | null when empty)       | confidence level of a calibrated answer   |
//   | estimate_uncertainty | Polygon / MultiPolygon | estimate "best", uncertainty_km           |
//   | peak                 | Point                  | rank (0 = most probable, explain --peak), |
//   |                      |                        | mass, density, support, radius_km         |
//   | peak_radius          | Polygon / MultiPolygon | rank, mass, radius_km                     |
//   | cell                 | Polygon / MultiPolygon | token, level, weight_share (retrieval)    |
//   | classifier_cell      | Polygon / MultiPolygon | token, level, weight_share (classifier)   |
//   | neighbor             | Point                  | rank, id, similarity, source, group       |
//
// Positions are [longitude, latitude]; rings are closed and counter-clockwise (right-hand rule).
// Circles are geodesic (radius on the sphere, 6371.0088 km), 64 vertices; circles of 10,000 km
// or more (a hemisphere) are left out. A cell the server sent without a polygon
// (return_cell_polygons unset) becomes a Point at its centre.
//
// Antimeridian and poles (RFC 7946 section 3.1.9: cut, don't wrap): rings are cut at ±180 by
// geo::SplitRingAtAntimeridian (core/geo/geojson_ring.h); a ring over ±180 (e.g. a cell over
// Fiji) becomes a MultiPolygon, a ring around a pole the band it is on a flat map. A region's
// pieces (exterior and clockwise holes, exact S2 cell outlines) are cut the same way; a hole goes
// with the cut exterior that holds it. Uncalibrated answers have no region features.
//
// Not thread-safe; one builder per map.
#ifndef GEOLOC_CLIENT_GEOJSON_H_
#define GEOLOC_CLIENT_GEOJSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/geo/geojson_ring.h"
#include "geoloc/v1/geoloc.pb.h"
#include "google/protobuf/struct.pb.h"

namespace geoloc::client {

using geo::LonLat;
using Ring = geo::GeoJsonRing;  // closed when returned: front == back

// Cuts an open, counter-clockwise lat/lng ring (CellConfidence.polygon's convention) into closed
// GeoJSON rings inside [-180, 180]: geo::SplitRingAtAntimeridian (core/geo/geojson_ring.h).
std::vector<Ring> SplitRingAtAntimeridian(const std::vector<v1::LatLng>& ring);

// The open, counter-clockwise ring of points `radius_km` from `center` on the sphere.
std::vector<v1::LatLng> GeodesicCircle(const v1::LatLng& center, double radius_km, int vertices);

class GeoJsonBuilder {
 public:
  void AddLocateResponse(absl::string_view image, const v1::LocateResponse& response);
  // The explained target: a peak (point and radius), a neighbour (point) or a cell (polygon).
  void AddExplainTarget(absl::string_view image, const v1::ExplainResponse& response);

  int feature_count() const { return features_.values_size(); }
  // The FeatureCollection, pretty-printed. Non-finite numbers are written as null.
  absl::StatusOr<std::string> ToJson() const;

 private:
  void AddPoint(const v1::LatLng& at, google::protobuf::Struct properties);
  // Adds nothing for a ring that yields no pieces.
  void AddArea(const std::vector<v1::LatLng>& ring, google::protobuf::Struct properties);
  void AddCircle(const v1::LatLng& center, double radius_km, google::protobuf::Struct properties);
  void AddCell(absl::string_view image, absl::string_view kind, const v1::CellConfidence& cell);
  void AddRegion(absl::string_view image, const v1::ConfidenceRegion& region, bool calibrated);
  void AddFeature(google::protobuf::Value geometry, google::protobuf::Struct properties);

  google::protobuf::ListValue features_;
};

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_GEOJSON_H_
