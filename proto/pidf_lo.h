// PIDF-LO: the location object of emergency-call systems (NG9-1-1, NENA i3): a presence document
// (RFC 3863) carrying geopriv location (RFC 4119) in the shapes of RFC 5491 (GML, WGS 84,
// latitude before longitude) with the confidence element of RFC 7459. This is how a CAD system
// receives where geoloc thinks a photo was taken (docs/CLIENT.md, "PIDF-LO for CAD systems").
// Shared by the CLI (--pidf_lo) and geolocd's HTTP API (Accept: application/pidf+xml), so both
// write the same document; library geoloc_pidf_lo (proto/CMakeLists.txt).
//
//   PidfLoDocument doc;
//   doc.entity = "pres:caller@psap.example";
//   doc.timestamp = absl::Now();
//   doc.best = {{48.8582, 2.2945}, 850.0, {0.68, PidfLoPdf::kUnknown}};
//   doc.regions.push_back({"region-90", {piece_ring}, {0.90, PidfLoPdf::kUnknown}});
//   GEOLOC_ASSIGN_OR_RETURN(std::string xml, WritePidfLo(doc));
//
// The document, one <tuple> per statement, each with one <geopriv>, one <location-info> and one
// <con:confidence>:
//
//   | tuple id   | <location-info> holds               | <con:confidence>                      |
//   |------------|-------------------------------------|---------------------------------------|
//   | best       | gs:Circle: gml:pos "lat lon" and    | P(truth within the radius), or        |
//   |            | gs:radius in metres (EPSG 9001)     | "unknown" (an uncalibrated answer)    |
//   | region.id  | one gml:Polygon per piece           | P(truth inside one of the polygons)   |
//
// A region's confidence belongs to the union of its pieces: a piece alone carries no confidence
// of its own. Each piece is written as its outer polygon (outer_polygon.h: convex, at most 15
// vertices, holes dropped), which contains the piece, so the stated confidence stays a lower
// bound. Written numbers are rounded so that statements stay true: coordinates to 7 decimals (at
// most 8 mm) with polygons widened by kPidfLoPolygonMarginM to absorb that, radii rounded up (by
// at least the centre's rounding), confidences rounded down to 0.01 percent and capped at 99.99
// (RFC 7459's schema excludes 0 and 100).
//
// Every text value (entity, note) is XML-escaped; text that XML 1.0 cannot carry (invalid UTF-8,
// control characters) is refused. Pure functions; thread-safe.
#ifndef GEOLOC_PROTO_PIDF_LO_H_
#define GEOLOC_PROTO_PIDF_LO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/geo/lat_lon.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::pidf {

// Namespaces (RFC 3863, RFC 4119, RFC 5491, RFC 7459) and the reference system and unit names.
inline constexpr char kPidfNamespace[] = "urn:ietf:params:xml:ns:pidf";
inline constexpr char kGeoprivNamespace[] = "urn:ietf:params:xml:ns:pidf:geopriv10";
inline constexpr char kBasicPolicyNamespace[] = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy";
inline constexpr char kGmlNamespace[] = "http://www.opengis.net/gml";
inline constexpr char kGeoShapeNamespace[] = "http://www.opengis.net/pidflo/1.0";
inline constexpr char kConfidenceNamespace[] = "urn:ietf:params:xml:ns:geopriv:conf";
inline constexpr char kWgs84SrsName[] = "urn:ogc:def:crs:EPSG::4326";
inline constexpr char kMetreUom[] = "urn:ogc:def:uom:EPSG::9001";

// Decimals of written latitudes and longitudes (1e-7 degree: at most 8 mm on the ground).
inline constexpr int kPidfLoCoordinateDecimals = 7;
// The least distance, metres, from a region piece to the edges of its written polygon: more than
// the coordinates' rounding.
inline constexpr double kPidfLoPolygonMarginM = 0.02;
// The tuple id of the best estimate's circle.
inline constexpr char kPidfLoBestTupleId[] = "best";

// RFC 7459's pdf attribute: the shape of the distribution the confidence was derived from.
// geoloc's calibrated probabilities are measured, not derived from a shape: kUnknown.
enum class PidfLoPdf { kUnknown, kNormal, kRectangular };

struct PidfLoConfidence {
  // The probability that the truth lies in the shape, in (0, 1]; nullopt writes "unknown" (no
  // claim: RFC 5491 tells a receiver to assume 95% when the element is missing).
  std::optional<double> probability;
  PidfLoPdf pdf = PidfLoPdf::kUnknown;
};

struct PidfLoCircle {
  geo::LatLon center;
  double radius_m = 0;  // > 0
  PidfLoConfidence confidence;
};

struct PidfLoRegion {
  // The tuple id: an XML NCName (a letter or '_', then letters, digits, '.', '-', '_'), unique,
  // not kPidfLoBestTupleId. E.g. "region-90".
  std::string id;
  // Open, counter-clockwise lat/lon exteriors (great-circle edges, as CellUnionPieces gives
  // them); each is written as its outer polygon. At least one.
  std::vector<std::vector<geo::LatLon>> pieces;
  PidfLoConfidence confidence;
};

struct PidfLoDocument {
  // The presentity the location is about (RFC 3863 `entity`, a URI), e.g. the caller's SIP URI.
  std::string entity;
  absl::Time timestamp;  // when the location was determined (the tuples' <timestamp>)
  PidfLoCircle best;
  std::vector<PidfLoRegion> regions;
  // Free text for the people reading it (gbp:note-well): how the location was made. May be empty.
  std::string note;
  bool retransmission_allowed = false;  // gbp:retransmission-allowed
};

// The polygon written for a piece: OuterPolygon with the RFC 5491 limits and the writer's margin.
// OutOfRange for a piece too large for one convex polygon (see outer_polygon.h).
absl::StatusOr<std::vector<geo::LatLon>> PidfLoPolygon(absl::Span<const geo::LatLon> piece);

// The document as UTF-8 XML. InvalidArgument naming the field for: an empty entity, a bad
// coordinate or radius, a probability outside (0, 1] or below the smallest one written (0.01%),
// a bad or duplicate tuple id, a region without pieces, text XML cannot carry; a piece's
// PidfLoPolygon error.
absl::StatusOr<std::string> WritePidfLo(const PidfLoDocument& document);

// --- From a geolocd answer ---

struct PidfLoAnswerOptions {
  // The region level written (one of the answer's ConfidenceRegion levels) and the confidence
  // the circle aims for.
  double level = 0.9;
  std::string entity;      // PidfLoDocument.entity
  absl::Time timestamp;    // when the photo was located
  std::string image_name;  // named in the note, e.g. "flood.jpg"
};

// The location object of one LocateResponse:
//
//   | answer                   | best circle (centre: best.location)   | regions              |
//   |--------------------------|---------------------------------------|----------------------|
//   | calibrated               | radius: the smallest `within`         | the region at        |
//   |                          | threshold whose P(within t) reaches   | options.level, its   |
//   |                          | options.level, else the one with the  | level as confidence  |
//   |                          | highest P; confidence: that P         | (none if it is the   |
//   |                          |                                       | whole sphere or too  |
//   |                          |                                       | large for polygons)  |
//   | not calibrated           | radius: best.uncertainty_km (a        | none: nothing claims |
//   |                          | spread, at least 1 m); "unknown"      | a coverage           |
//
// The note says which, and when the service abstained. InvalidArgument when a calibrated answer
// has no region at options.level (the message lists the levels it has), or when the level is not
// in (0, 1).
absl::StatusOr<PidfLoDocument> PidfLoFromLocateResponse(const v1::LocateResponse& response,
                                                        const PidfLoAnswerOptions& options);

// The photo's content URI (RFC 6920 "ni" with SHA-256), the default presentity: the same photo,
// the same entity. "ni:///sha-256;<base64url digest>".
std::string ContentUri(absl::string_view image_bytes);

// `text` with & < > " ' replaced by entities; InvalidArgument for invalid UTF-8 or a character
// XML 1.0 does not allow (control characters other than tab, line feed, carriage return).
absl::StatusOr<std::string> EscapeXml(absl::string_view text);

}  // namespace geoloc::pidf

#endif  // GEOLOC_PROTO_PIDF_LO_H_
