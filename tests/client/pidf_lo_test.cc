// PIDF-LO documents parsed back with libxml2, a real namespace-aware XML parser: namespaces
// (looked up by URI, whatever prefixes the writer chose), shapes, coordinate order, the RFC 7459
// confidence element, escaping, and that the parsed numbers give back the answer (within the
// documented rounding, which never weakens a statement: polygons still contain the region,
// radii are not smaller, confidences not larger).
#include "proto/pidf_lo.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "core/geo/distance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/sphere_checks.h"

namespace geoloc::pidf {
namespace {

using client::sphere_checks::MinDistanceInsideM;
using ::testing::HasSubstr;

// The namespace URIs as the RFCs spell them, written out here rather than taken from pidf_lo.h.
constexpr char kPidf[] = "urn:ietf:params:xml:ns:pidf";
constexpr char kGp[] = "urn:ietf:params:xml:ns:pidf:geopriv10";
constexpr char kGbp[] = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy";
constexpr char kGml[] = "http://www.opengis.net/gml";
constexpr char kGs[] = "http://www.opengis.net/pidflo/1.0";
constexpr char kCon[] = "urn:ietf:params:xml:ns:geopriv:conf";

// A parsed document with XPath under the test's own prefixes (p, gp, gbp, gml, gs, con).
class Xml {
 public:
  explicit Xml(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "pidf-lo.xml", nullptr,
                           XML_PARSE_NONET)) {
    if (doc_ == nullptr) return;
    context_ = xmlXPathNewContext(doc_);
    const std::pair<const char*, const char*> prefixes[] = {
        {"p", kPidf}, {"gp", kGp}, {"gbp", kGbp}, {"gml", kGml}, {"gs", kGs}, {"con", kCon}};
    for (const auto& [prefix, uri] : prefixes) {
      xmlXPathRegisterNs(context_, reinterpret_cast<const xmlChar*>(prefix),
                         reinterpret_cast<const xmlChar*>(uri));
    }
  }
  ~Xml() {
    if (context_ != nullptr) xmlXPathFreeContext(context_);
    if (doc_ != nullptr) xmlFreeDoc(doc_);
  }
  Xml(const Xml&) = delete;
  Xml& operator=(const Xml&) = delete;

  bool ok() const { return doc_ != nullptr; }

  std::vector<xmlNodePtr> Nodes(const std::string& xpath, xmlNodePtr from = nullptr) const {
    context_->node = from != nullptr ? from : xmlDocGetRootElement(doc_);
    xmlXPathObjectPtr result =
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), context_);
    std::vector<xmlNodePtr> nodes;
    if (result != nullptr && result->nodesetval != nullptr) {
      for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
        nodes.push_back(result->nodesetval->nodeTab[i]);
      }
    }
    if (result != nullptr) xmlXPathFreeObject(result);
    return nodes;
  }
  // The text of the one node `xpath` selects; fails the test otherwise.
  std::string Text(const std::string& xpath, xmlNodePtr from = nullptr) const {
    const std::vector<xmlNodePtr> nodes = Nodes(xpath, from);
    EXPECT_EQ(nodes.size(), 1u) << xpath;
    return nodes.size() == 1 ? Content(nodes[0]) : std::string();
  }
  static std::string Content(xmlNodePtr node) {
    xmlChar* text = xmlNodeGetContent(node);
    std::string s = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    xmlFree(text);
    return s;
  }
  static std::string Attribute(xmlNodePtr node, const char* name) {
    xmlChar* value = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name));
    std::string s = value != nullptr ? reinterpret_cast<const char*>(value) : "<absent>";
    xmlFree(value);
    return s;
  }

 private:
  xmlDocPtr doc_ = nullptr;
  xmlXPathContextPtr context_ = nullptr;
};

// "lat lon" as written in gml:pos.
geo::LatLon ParsePos(const std::string& text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  geo::LatLon p{NAN, NAN};
  EXPECT_EQ(parts.size(), 2u) << text;
  if (parts.size() == 2) {
    EXPECT_TRUE(absl::SimpleAtod(parts[0], &p.lat)) << text;
    EXPECT_TRUE(absl::SimpleAtod(parts[1], &p.lon)) << text;
  }
  return p;
}

// The open ring of a gml:Polygon: checks closure and the vertex limit on the way.
std::vector<geo::LatLon> PolygonRing(const Xml& xml, xmlNodePtr polygon) {
  const std::vector<xmlNodePtr> pos = xml.Nodes("gml:exterior/gml:LinearRing/gml:pos", polygon);
  EXPECT_GE(pos.size(), 4u);
  EXPECT_LE(pos.size(), 16u);  // 15 vertices, the first repeated
  std::vector<geo::LatLon> ring;
  for (xmlNodePtr node : pos) ring.push_back(ParsePos(Xml::Content(node)));
  if (ring.size() >= 2) {
    EXPECT_EQ(ring.front().lat, ring.back().lat);
    EXPECT_EQ(ring.front().lon, ring.back().lon);
    ring.pop_back();
  }
  return ring;
}

std::vector<geo::LatLon> Circle(geo::LatLon center, double radius_km, int n) {
  std::vector<geo::LatLon> ring;
  for (int i = 0; i < n; ++i) {
    ring.push_back(geo::DestinationPoint(center, 360.0 - i * 360.0 / n, radius_km));
  }
  return ring;
}

// A star-shaped counter-clockwise ring (bearings decrease), as outer_polygon_test.cc makes them.
std::vector<geo::LatLon> StarRing(std::mt19937& rng, geo::LatLon center, double radius_km, int n) {
  std::uniform_real_distribution<double> jitter(0.0, 0.9);
  std::uniform_real_distribution<double> share(0.2, 1.0);
  std::vector<geo::LatLon> ring;
  for (int i = 0; i < n; ++i) {
    ring.push_back(geo::DestinationPoint(center, 360.0 - (i + jitter(rng)) * 360.0 / n,
                                         radius_km * share(rng)));
  }
  return ring;
}

PidfLoDocument Example() {
  std::mt19937 rng(5);
  PidfLoDocument doc;
  doc.entity = "sip:+33123456789@psap.example;user=phone?x=\"1\"&y=<2>'";
  doc.timestamp = absl::FromUnixSeconds(1796605323);  // 2026-12-07T01:02:03Z
  doc.best = {{48.8582, 2.2945}, 850.0, {0.6834, PidfLoPdf::kUnknown}};
  doc.regions.push_back({"region-90",
                         {StarRing(rng, {48.9, 2.4}, 5.0, 100), Circle({48.5, 2.0}, 2.0, 20)},
                         {0.90, PidfLoPdf::kUnknown}});
  doc.note = "Estimated from a photo by geoloc (Zürich model, bundle \"b1\" & <test>)";
  return doc;
}

TEST(PidfLoTest, DocumentStructureNamespacesAndBestEstimate) {
  const PidfLoDocument doc = Example();
  absl::StatusOr<std::string> text = WritePidfLo(doc);
  ASSERT_TRUE(text.ok()) << text.status();
  Xml xml(*text);
  ASSERT_TRUE(xml.ok()) << *text;

  ASSERT_EQ(xml.Nodes("/p:presence").size(), 1u);
  EXPECT_EQ(Xml::Attribute(xml.Nodes("/p:presence")[0], "entity"), doc.entity);
  const std::vector<xmlNodePtr> tuples = xml.Nodes("/p:presence/p:tuple");
  ASSERT_EQ(tuples.size(), 2u);
  EXPECT_EQ(Xml::Attribute(tuples[0], "id"), "best");
  EXPECT_EQ(Xml::Attribute(tuples[1], "id"), "region-90");
  for (xmlNodePtr tuple : tuples) {
    EXPECT_EQ(xml.Text("p:timestamp", tuple), "2026-12-07T01:02:03Z");
    // One geopriv, one location-info, one confidence (RFC 5491 section 3, RFC 7459).
    EXPECT_EQ(xml.Nodes("p:status/gp:geopriv", tuple).size(), 1u);
    EXPECT_EQ(xml.Nodes("p:status/gp:geopriv/gp:location-info", tuple).size(), 1u);
    EXPECT_EQ(xml.Nodes("p:status/gp:geopriv/gp:location-info/con:confidence", tuple).size(), 1u);
    EXPECT_EQ(xml.Text("p:status/gp:geopriv/gp:usage-rules/gbp:retransmission-allowed", tuple),
              "false");
    EXPECT_EQ(xml.Text("p:status/gp:geopriv/gp:usage-rules/gbp:note-well", tuple), doc.note);
  }

  // The circle: latitude first, radius in metres not below the answer's, the confidence.
  const std::vector<xmlNodePtr> circles =
      xml.Nodes("p:status/gp:geopriv/gp:location-info/gs:Circle", tuples[0]);
  ASSERT_EQ(circles.size(), 1u);
  EXPECT_EQ(Xml::Attribute(circles[0], "srsName"), "urn:ogc:def:crs:EPSG::4326");
  const geo::LatLon centre = ParsePos(xml.Text("gml:pos", circles[0]));
  EXPECT_NEAR(centre.lat, 48.8582, 0.6e-7);
  EXPECT_NEAR(centre.lon, 2.2945, 0.6e-7);
  const std::vector<xmlNodePtr> radius = xml.Nodes("gs:radius", circles[0]);
  ASSERT_EQ(radius.size(), 1u);
  EXPECT_EQ(Xml::Attribute(radius[0], "uom"), "urn:ogc:def:uom:EPSG::9001");
  double radius_m = 0;
  ASSERT_TRUE(absl::SimpleAtod(Xml::Content(radius[0]), &radius_m));
  EXPECT_GE(radius_m, 850.0);
  EXPECT_LE(radius_m, 850.2);
  const std::vector<xmlNodePtr> confidence =
      xml.Nodes("p:status/gp:geopriv/gp:location-info/con:confidence", tuples[0]);
  ASSERT_EQ(confidence.size(), 1u);
  EXPECT_EQ(Xml::Content(confidence[0]), "68.34");
  EXPECT_EQ(Xml::Attribute(confidence[0], "pdf"), "unknown");
}

TEST(PidfLoTest, RegionPiecesArePolygonsThatContainThem) {
  const PidfLoDocument doc = Example();
  absl::StatusOr<std::string> text = WritePidfLo(doc);
  ASSERT_TRUE(text.ok()) << text.status();
  Xml xml(*text);
  ASSERT_TRUE(xml.ok());
  const std::vector<xmlNodePtr> region = xml.Nodes("/p:presence/p:tuple[@id='region-90']");
  ASSERT_EQ(region.size(), 1u);
  const std::vector<xmlNodePtr> polygons =
      xml.Nodes("p:status/gp:geopriv/gp:location-info/gml:Polygon", region[0]);
  ASSERT_EQ(polygons.size(), doc.regions[0].pieces.size());
  for (size_t i = 0; i < polygons.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "piece " << i);
    EXPECT_EQ(Xml::Attribute(polygons[i], "srsName"), "urn:ogc:def:crs:EPSG::4326");
    EXPECT_TRUE(xml.Nodes("gml:interior", polygons[i]).empty());
    const std::vector<geo::LatLon> ring = PolygonRing(xml, polygons[i]);
    // Latitude first: Paris has latitudes near 48.5-49 and longitudes near 2-2.5.
    for (const geo::LatLon& p : ring) {
      EXPECT_GT(p.lat, 48.0);
      EXPECT_LT(p.lon, 3.0);
    }
    EXPECT_GT(client::sphere_checks::OrientedArea(ring), 0);  // counter-clockwise
    for (const geo::LatLon& v : doc.regions[0].pieces[i]) {
      ASSERT_GE(MinDistanceInsideM(ring, v), 0.01);  // the 2 cm margin less the 8 mm rounding
    }
  }
  EXPECT_EQ(xml.Text("p:status/gp:geopriv/gp:location-info/con:confidence", region[0]), "90");
  // Nothing but the polygons and the confidence: the confidence is the union's.
  EXPECT_EQ(xml.Nodes("p:status/gp:geopriv/gp:location-info/*", region[0]).size(),
            polygons.size() + 1);
}

TEST(PidfLoTest, RandomRegionsRoundTripOnTheWholeGlobe) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> lat(-89.5, 89.5);
  std::uniform_real_distribution<double> lon(-180.0, 180.0);
  std::uniform_real_distribution<double> log_radius(std::log(0.002), std::log(1500.0));
  std::uniform_int_distribution<int> vertices(3, 200);
  std::uniform_int_distribution<int> piece_count(1, 4);
  for (int trial = 0; trial < 150; ++trial) {
    PidfLoDocument doc;
    doc.entity = "pres:trial@example.com";
    doc.timestamp = absl::FromUnixSeconds(1796605323 + trial);
    const geo::LatLon centre = trial % 3 == 0 ? geo::LatLon{lat(rng), trial % 2 ? 179.999 : -180}
                                              : geo::LatLon{lat(rng), lon(rng)};
    doc.best = {centre, 1000 * std::exp(log_radius(rng)), {0.5, PidfLoPdf::kUnknown}};
    PidfLoRegion region{"region-95", {}, {0.95, PidfLoPdf::kUnknown}};
    const int pieces = piece_count(rng);
    for (int k = 0; k < pieces; ++k) {
      const geo::LatLon at = geo::DestinationPoint(centre, 90.0 * k, 50.0 * k);
      region.pieces.push_back(StarRing(rng, at, std::exp(log_radius(rng)), vertices(rng)));
    }
    doc.regions.push_back(region);
    absl::StatusOr<std::string> text = WritePidfLo(doc);
    ASSERT_TRUE(text.ok()) << "trial " << trial << ": " << text.status();
    Xml xml(*text);
    ASSERT_TRUE(xml.ok());
    const std::vector<xmlNodePtr> polygons = xml.Nodes(
        "/p:presence/p:tuple[@id='region-95']/p:status/gp:geopriv/gp:location-info/gml:Polygon");
    ASSERT_EQ(polygons.size(), region.pieces.size()) << "trial " << trial;
    for (size_t i = 0; i < polygons.size(); ++i) {
      const std::vector<geo::LatLon> ring = PolygonRing(xml, polygons[i]);
      EXPECT_GT(client::sphere_checks::OrientedArea(ring), 0);
      for (const geo::LatLon& v : region.pieces[i]) {
        ASSERT_GE(MinDistanceInsideM(ring, v), 0.01) << "trial " << trial << " piece " << i;
      }
    }
    const std::vector<xmlNodePtr> circle = xml.Nodes("/p:presence/p:tuple[@id='best']//gs:Circle");
    ASSERT_EQ(circle.size(), 1u);
    const geo::LatLon written = ParsePos(xml.Text("gml:pos", circle[0]));
    double radius_m = 0;
    ASSERT_TRUE(absl::SimpleAtod(xml.Text("gs:radius", circle[0]), &radius_m));
    // The written circle holds the answer's circle: centre moved less than the radius grew.
    const double moved_m = geo::HaversineKm(written, centre) * 1000;
    EXPECT_LT(moved_m, 0.008);
    EXPECT_GE(radius_m - doc.best.radius_m, moved_m);
    EXPECT_LE(radius_m - doc.best.radius_m, 0.2);
  }
}

// The confidence as written for a probability.
std::string WrittenConfidence(std::optional<double> probability, PidfLoPdf pdf,
                              std::string* pdf_attribute = nullptr) {
  PidfLoDocument doc = Example();
  doc.regions.clear();
  doc.best.confidence = {probability, pdf};
  absl::StatusOr<std::string> text = WritePidfLo(doc);
  if (!text.ok()) return "error: " + std::string(text.status().message());
  Xml xml(*text);
  const std::vector<xmlNodePtr> nodes = xml.Nodes("//con:confidence");
  if (nodes.size() != 1) return "not one confidence element";
  if (pdf_attribute != nullptr) *pdf_attribute = Xml::Attribute(nodes[0], "pdf");
  return Xml::Content(nodes[0]);
}

TEST(PidfLoTest, ConfidenceIsAPercentageRoundedDownInsideRfc7459sRange) {
  EXPECT_EQ(WrittenConfidence(0.9, PidfLoPdf::kUnknown), "90");
  EXPECT_EQ(WrittenConfidence(0.5, PidfLoPdf::kUnknown), "50");
  EXPECT_EQ(WrittenConfidence(0.955, PidfLoPdf::kUnknown), "95.5");
  EXPECT_EQ(WrittenConfidence(0.68349, PidfLoPdf::kUnknown), "68.34");  // down, not to nearest
  EXPECT_EQ(WrittenConfidence(0.0001, PidfLoPdf::kUnknown), "0.01");
  EXPECT_EQ(WrittenConfidence(1.0, PidfLoPdf::kUnknown), "99.99");  // the schema excludes 100
  std::string pdf;
  EXPECT_EQ(WrittenConfidence(0.95, PidfLoPdf::kNormal, &pdf), "95");
  EXPECT_EQ(pdf, "normal");
  EXPECT_EQ(WrittenConfidence(0.95, PidfLoPdf::kRectangular, &pdf), "95");
  EXPECT_EQ(pdf, "rectangular");
  // No claim: "unknown", never a missing element (a receiver would assume 95%).
  EXPECT_EQ(WrittenConfidence(std::nullopt, PidfLoPdf::kUnknown, &pdf), "unknown");
  EXPECT_EQ(pdf, "unknown");
  for (double bad : {0.0, -0.1, 1.5, std::nan(""), 0.00009}) {
    EXPECT_THAT(WrittenConfidence(bad, PidfLoPdf::kUnknown), HasSubstr("error: best")) << bad;
  }
}

TEST(PidfLoTest, UncalibratedAnswerHasOnlyTheCircleWithUnknownConfidence) {
  PidfLoDocument doc = Example();
  doc.regions.clear();
  doc.best.confidence = {};
  absl::StatusOr<std::string> text = WritePidfLo(doc);
  ASSERT_TRUE(text.ok()) << text.status();
  Xml xml(*text);
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(xml.Nodes("/p:presence/p:tuple").size(), 1u);
  EXPECT_TRUE(xml.Nodes("//gml:Polygon").empty());
  EXPECT_EQ(xml.Text("//con:confidence"), "unknown");
}

TEST(PidfLoTest, EscapesTextAndRefusesWhatXmlCannotCarry) {
  EXPECT_EQ(*EscapeXml("a&b<c>\"d'e"), "a&amp;b&lt;c&gt;&quot;d&apos;e");
  EXPECT_EQ(*EscapeXml("Z\xC3\xBCrich \xF0\x9F\x94\xA5"), "Z\xC3\xBCrich \xF0\x9F\x94\xA5");
  EXPECT_EQ(*EscapeXml("line\r\nnext\ttab"), "line&#13;\nnext\ttab");
  for (const char* bad : {"bell\x07", "\xC3\x28", "\xED\xA0\x80", "\xEF\xBF\xBE", "\xC0\xAF",
                          "\xF4\x90\x80\x80", "cut\xE2\x82"}) {
    EXPECT_EQ(EscapeXml(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Through the writer: the error names the field.
  PidfLoDocument doc = Example();
  doc.note = "bad\x01";
  EXPECT_THAT(std::string(WritePidfLo(doc).status().message()), HasSubstr("note"));
  doc = Example();
  doc.entity = "sip:\x1b@x";
  EXPECT_THAT(std::string(WritePidfLo(doc).status().message()), HasSubstr("entity"));
  // A carriage return survives the parser's line-end normalisation.
  doc = Example();
  doc.note = "a\r\nb";
  absl::StatusOr<std::string> text = WritePidfLo(doc);
  ASSERT_TRUE(text.ok());
  Xml xml(*text);
  EXPECT_EQ(xml.Text("(//gbp:note-well)[1]"), "a\r\nb");
}

TEST(PidfLoTest, BadDocumentsAreRefusedWithTheFieldNamed) {
  auto message = [](const PidfLoDocument& doc) {
    absl::StatusOr<std::string> text = WritePidfLo(doc);
    return text.ok() ? std::string("ok") : std::string(text.status().message());
  };
  PidfLoDocument doc = Example();
  doc.entity.clear();
  EXPECT_THAT(message(doc), HasSubstr("entity"));
  doc = Example();
  doc.best.center.lat = 95;
  EXPECT_THAT(message(doc), HasSubstr("best"));
  doc = Example();
  doc.best.radius_m = 0;
  EXPECT_THAT(message(doc), HasSubstr("radius"));
  doc = Example();
  doc.regions[0].id = "90-region";
  EXPECT_THAT(message(doc), HasSubstr("NCName"));
  doc = Example();
  doc.regions[0].id = "best";
  EXPECT_THAT(message(doc), HasSubstr("twice"));
  doc = Example();
  doc.regions[0].pieces.clear();
  EXPECT_THAT(message(doc), HasSubstr("no pieces"));
  doc = Example();
  doc.regions[0].pieces.push_back(Circle({0, 0}, 9000, 24));  // larger than a hemisphere allows
  EXPECT_THAT(message(doc), HasSubstr("region region-90 piece 2"));
  doc = Example();
  doc.timestamp = absl::InfiniteFuture();
  EXPECT_THAT(message(doc), HasSubstr("timestamp"));
}

// --- From a LocateResponse ---

v1::LatLng LL(geo::LatLon p) {
  v1::LatLng out;
  out.set_latitude(p.lat);
  out.set_longitude(p.lon);
  return out;
}

void AddPiece(v1::ConfidenceRegion* region, const std::vector<geo::LatLon>& ring) {
  v1::RegionPiece* piece = region->add_pieces();
  for (const geo::LatLon& v : ring) *piece->mutable_exterior()->add_vertices() = LL(v);
}

std::vector<geo::LatLon> ExteriorOf(const v1::RegionPiece& piece) {
  std::vector<geo::LatLon> ring;
  for (const v1::LatLng& v : piece.exterior().vertices()) {
    ring.push_back({v.latitude(), v.longitude()});
  }
  return ring;
}

// A calibrated answer near Paris: P(within t) for the default thresholds, regions at 50% (one
// piece), 90% (two pieces, one with a hole) and 95% (the whole sphere).
v1::LocateResponse CalibratedAnswer() {
  std::mt19937 rng(17);
  v1::LocateResponse response;
  *response.mutable_best()->mutable_location() = LL({48.8582, 2.2945});
  response.mutable_best()->set_uncertainty_km(3.2);
  response.set_model_version("resnet18-gem@4f2a");
  response.set_bundle_version("paris-2026 <v2> & more");
  response.set_calibrated(true);
  const double thresholds[] = {1, 25, 200, 750, 2500};
  const double probabilities[] = {0.31, 0.92, 0.97, 0.985, 0.995};
  for (int i = 0; i < 5; ++i) {
    v1::WithinProbability* within = response.add_within();
    within->set_threshold_km(thresholds[i]);
    within->set_probability(probabilities[i]);
  }
  v1::ConfidenceRegion* r50 = response.add_regions();
  r50->set_level(0.5);
  AddPiece(r50, StarRing(rng, {48.86, 2.30}, 1.5, 40));
  v1::ConfidenceRegion* r90 = response.add_regions();
  r90->set_level(0.9);
  r90->set_area_km2(420.5);
  AddPiece(r90, StarRing(rng, {48.86, 2.30}, 12.0, 160));
  AddPiece(r90, Circle({45.76, 4.84}, 4.0, 30));  // Lyon
  for (const geo::LatLon& v : Circle({48.86, 2.30}, 1.0, 8)) {
    *r90->mutable_pieces(0)->add_holes()->add_vertices() = LL(v);
  }
  v1::ConfidenceRegion* r95 = response.add_regions();
  r95->set_level(0.95);
  r95->set_whole_sphere(true);
  return response;
}

PidfLoAnswerOptions AnswerOptions(double level) {
  PidfLoAnswerOptions options;
  options.level = level;
  options.entity = "sip:+33123456789@psap.example";
  options.timestamp = absl::FromUnixSeconds(1796605323);
  options.image_name = "flood.jpg";
  return options;
}

// The answer's document, written and parsed back.
std::string WriteAnswer(const v1::LocateResponse& response, double level) {
  absl::StatusOr<PidfLoDocument> doc = PidfLoFromLocateResponse(response, AnswerOptions(level));
  EXPECT_TRUE(doc.ok()) << doc.status();
  if (!doc.ok()) return "";
  absl::StatusOr<std::string> text = WritePidfLo(*doc);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

TEST(PidfLoAnswerTest, CalibratedAnswerParsedBackEqualsTheAnswer) {
  const v1::LocateResponse response = CalibratedAnswer();
  Xml xml(WriteAnswer(response, 0.9));
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(Xml::Attribute(xml.Nodes("/p:presence")[0], "entity"), "sip:+33123456789@psap.example");

  // The circle: the smallest threshold whose calibrated P(within t) reaches 90%: 25 km at 92%.
  const std::vector<xmlNodePtr> circle = xml.Nodes("/p:presence/p:tuple[@id='best']//gs:Circle");
  ASSERT_EQ(circle.size(), 1u);
  const geo::LatLon centre = ParsePos(xml.Text("gml:pos", circle[0]));
  EXPECT_NEAR(centre.lat, response.best().location().latitude(), 0.6e-7);
  EXPECT_NEAR(centre.lon, response.best().location().longitude(), 0.6e-7);
  double radius_m = 0;
  ASSERT_TRUE(absl::SimpleAtod(xml.Text("gs:radius", circle[0]), &radius_m));
  EXPECT_GE(radius_m, 25000.0);
  EXPECT_LE(radius_m, 25000.2);
  EXPECT_EQ(xml.Text("/p:presence/p:tuple[@id='best']//con:confidence"), "92");

  // The 90% region: one polygon per piece, each holding its piece, the level as confidence.
  const std::vector<xmlNodePtr> tuples = xml.Nodes("/p:presence/p:tuple");
  ASSERT_EQ(tuples.size(), 2u);
  EXPECT_EQ(Xml::Attribute(tuples[1], "id"), "region-90");
  EXPECT_EQ(xml.Text("p:status/gp:geopriv/gp:location-info/con:confidence", tuples[1]), "90");
  EXPECT_EQ(Xml::Attribute(xml.Nodes(".//con:confidence", tuples[1])[0], "pdf"), "unknown");
  const std::vector<xmlNodePtr> polygons = xml.Nodes(".//gml:Polygon", tuples[1]);
  const v1::ConfidenceRegion& r90 = response.regions(1);
  ASSERT_EQ(polygons.size(), static_cast<size_t>(r90.pieces_size()));
  for (int i = 0; i < r90.pieces_size(); ++i) {
    const std::vector<geo::LatLon> ring = PolygonRing(xml, polygons[static_cast<size_t>(i)]);
    EXPECT_GT(client::sphere_checks::OrientedArea(ring), 0);
    for (const geo::LatLon& v : ExteriorOf(r90.pieces(i))) {
      ASSERT_GE(MinDistanceInsideM(ring, v), 0.01) << "piece " << i;
    }
  }
  const std::string note = xml.Text("(//gbp:note-well)[1]");
  EXPECT_THAT(note, HasSubstr("flood.jpg"));
  EXPECT_THAT(note, HasSubstr("paris-2026 <v2> & more"));  // escaped on the way, intact here
  EXPECT_THAT(note, HasSubstr("within 25 km of the estimate) = 92.0%"));
  EXPECT_THAT(note, HasSubstr("one of its 2 polygons with probability at least 90%"));
}

TEST(PidfLoAnswerTest, LevelChoosesTheCircleAndTheRegion) {
  const v1::LocateResponse response = CalibratedAnswer();
  // 50%: the 25 km circle again (1 km has only 31%), the one-piece region.
  Xml half(WriteAnswer(response, 0.5));
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half.Text("/p:presence/p:tuple[@id='best']//con:confidence"), "92");
  EXPECT_EQ(half.Nodes("/p:presence/p:tuple[@id='region-50']//gml:Polygon").size(), 1u);
  EXPECT_EQ(half.Text("/p:presence/p:tuple[@id='region-50']//con:confidence"), "50");

  // 95%: the circle of 200 km at 97%; the region is the whole sphere, so no region is written
  // (it would claim nothing) and the note says why.
  Xml whole(WriteAnswer(response, 0.95));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole.Text("/p:presence/p:tuple[@id='best']//con:confidence"), "97");
  EXPECT_EQ(whole.Nodes("/p:presence/p:tuple").size(), 1u);
  EXPECT_THAT(whole.Text("(//gbp:note-well)[1]"), HasSubstr("95% region is not written"));

  // No region at the asked level: an error that lists the answer's levels.
  absl::StatusOr<PidfLoDocument> missing = PidfLoFromLocateResponse(response, AnswerOptions(0.8));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("(it has 0.5, 0.9, 0.95)"));
  EXPECT_EQ(PidfLoFromLocateResponse(response, AnswerOptions(1.0)).status().code(),
            absl::StatusCode::kInvalidArgument);

  // No threshold reaches the level: the most probable one, with what it has.
  v1::LocateResponse weak = response;
  for (int i = 0; i < weak.within_size(); ++i)
    weak.mutable_within(i)->set_probability(0.1 + i * 0.05);
  Xml low(WriteAnswer(weak, 0.5));
  ASSERT_TRUE(low.ok());
  double radius_m = 0;
  ASSERT_TRUE(absl::SimpleAtod(low.Text("//gs:radius"), &radius_m));
  EXPECT_NEAR(radius_m, 2500e3, 1);
  EXPECT_EQ(low.Text("/p:presence/p:tuple[@id='best']//con:confidence"), "30");
}

TEST(PidfLoAnswerTest, UncalibratedAnswerClaimsNothing) {
  v1::LocateResponse response = CalibratedAnswer();
  response.set_calibrated(false);
  response.clear_within();
  response.clear_regions();
  Xml xml(WriteAnswer(response, 0.9));
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(xml.Nodes("/p:presence/p:tuple").size(), 1u);
  EXPECT_TRUE(xml.Nodes("//gml:Polygon").empty());
  EXPECT_EQ(xml.Text("//con:confidence"), "unknown");
  EXPECT_EQ(Xml::Attribute(xml.Nodes("//con:confidence")[0], "pdf"), "unknown");
  double radius_m = 0;
  ASSERT_TRUE(absl::SimpleAtod(xml.Text("//gs:radius"), &radius_m));
  EXPECT_NEAR(radius_m, 3200, 0.2);  // the spread, uncertainty_km
  EXPECT_THAT(xml.Text("(//gbp:note-well)[1]"), HasSubstr("Not calibrated"));
  // A spread of 0 still makes a valid circle.
  response.mutable_best()->set_uncertainty_km(0);
  Xml zero(WriteAnswer(response, 0.9));
  ASSERT_TRUE(zero.ok());
  ASSERT_TRUE(absl::SimpleAtod(zero.Text("//gs:radius"), &radius_m));
  EXPECT_NEAR(radius_m, 1.0, 0.2);
}

TEST(PidfLoAnswerTest, AbstentionAndUnwritableRegionsAreSaid) {
  v1::LocateResponse response = CalibratedAnswer();
  response.set_abstained(true);
  response.set_localizable_probability(0.12);
  response.set_abstain_below(0.3);
  // A third piece larger than any convex polygon can hold: the whole region is left out (a
  // region missing a piece would not hold its confidence).
  AddPiece(response.mutable_regions(1), Circle({0, 0}, 9000, 24));
  Xml xml(WriteAnswer(response, 0.9));
  ASSERT_TRUE(xml.ok());
  EXPECT_TRUE(xml.Nodes("//gml:Polygon").empty());
  const std::string note = xml.Text("(//gbp:note-well)[1]");
  EXPECT_THAT(note, HasSubstr("90% region is not written: it is too large for polygons"));
  EXPECT_THAT(note, HasSubstr("declines to locate this photo: P(localizable) = 12.0%"));
}

}  // namespace
}  // namespace geoloc::pidf
