#include "proto/pidf_lo.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "proto/outer_polygon.h"

namespace geoloc::pidf {
namespace {

// The coordinates' rounding moves a point by at most this (half a unit of the last decimal in
// latitude and in longitude, on the sphere): circles grow by it.
constexpr double kCoordinateRoundingM = 0.008;

std::string FormatDegrees(double degrees) {
  const double scale = std::pow(10.0, kPidfLoCoordinateDecimals);
  if (std::round(degrees * scale) == 0) degrees = 0;  // no "-0.0000000"
  return absl::StrFormat("%.*f", kPidfLoCoordinateDecimals, degrees);
}

// "lat lon", RFC 5491's order.
std::string FormatPos(geo::LatLon p) {
  return absl::StrCat(FormatDegrees(p.lat), " ", FormatDegrees(p.lon));
}

// Metres, rounded up to the decimetre after adding the centre's rounding.
std::string FormatRadius(double radius_m) {
  return absl::StrFormat("%.1f", std::ceil((radius_m + kCoordinateRoundingM) * 10.0) / 10.0);
}

absl::string_view PdfName(PidfLoPdf pdf) {
  switch (pdf) {
    case PidfLoPdf::kNormal:
      return "normal";
    case PidfLoPdf::kRectangular:
      return "rectangular";
    case PidfLoPdf::kUnknown:
      break;
  }
  return "unknown";
}

// A percentage in (0, 100) as RFC 7459's schema wants it, rounded down to 0.01 and capped at
// 99.99, so that the written number never claims more than the probability.
absl::StatusOr<std::string> FormatConfidence(const PidfLoConfidence& confidence,
                                             absl::string_view what) {
  if (!confidence.probability.has_value()) return std::string("unknown");
  const double p = *confidence.probability;
  if (!(p > 0 && p <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": confidence must be a probability in (0, 1], got ", p));
  }
  // 1e-6 hundredths absorbs the binary representation of values such as 0.9.
  int64_t hundredths = static_cast<int64_t>(std::floor(p * 10000.0 + 1e-6));
  if (hundredths >= 10000) hundredths = 9999;
  if (hundredths < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": confidence ", p, " is below 0.01%, the smallest a location object can state"));
  }
  if (hundredths % 100 == 0) return absl::StrCat(hundredths / 100);
  if (hundredths % 10 == 0) return absl::StrCat(hundredths / 100, ".", (hundredths % 100) / 10);
  return absl::StrFormat("%d.%02d", hundredths / 100, hundredths % 100);
}

absl::Status ValidateTupleId(absl::string_view id) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  bool ok = !id.empty() && letter(id[0]);
  for (char c : id) {
    ok = ok && (letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("region id '", id,
                     "' is not an XML NCName (a letter or '_', then letters, digits, '.', '-', "
                     "'_')"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePoint(geo::LatLon p, absl::string_view what) {
  absl::Status valid = geo::ValidateLatLon(p);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", valid.message()));
  return absl::OkStatus();
}

// Appends one <tuple>: `shapes` are the GML elements, already indented for <location-info>.
void AppendTuple(absl::string_view id, absl::string_view shapes, absl::string_view confidence,
                 absl::string_view pdf, absl::string_view usage_rules, absl::string_view timestamp,
                 std::string* xml) {
  absl::StrAppend(xml, "  <tuple id=\"", id, "\">\n", "    <status>\n", "      <gp:geopriv>\n",
                  "        <gp:location-info>\n", shapes, "          <con:confidence pdf=\"", pdf,
                  "\">", confidence, "</con:confidence>\n", "        </gp:location-info>\n",
                  usage_rules, "      </gp:geopriv>\n", "    </status>\n", "    <timestamp>",
                  timestamp, "</timestamp>\n", "  </tuple>\n");
}

}  // namespace

absl::StatusOr<std::string> EscapeXml(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    // Decode one UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
    int length = 0;
    uint32_t code = 0;
    if (byte < 0x80) {
      length = 1;
      code = byte;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
      code = byte & 0x1F;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      code = byte & 0x0F;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      code = byte & 0x07;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    if (i + static_cast<size_t>(length) > text.size()) {
      return absl::InvalidArgumentError(absl::StrCat("truncated UTF-8 at byte ", i));
    }
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
      if ((next & 0xC0) != 0x80) {
        return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
      }
      code = (code << 6) | (next & 0x3F);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    if (overlong || surrogate || code > 0x10FFFF) {
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    if ((code < 0x20 && code != 0x9 && code != 0xA && code != 0xD) || code == 0xFFFE ||
        code == 0xFFFF) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "character U+%04X at byte %d is not allowed in XML", code, static_cast<int>(i)));
    }
    switch (code) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";  // a raw CR would be normalised away by the reader
        break;
      default:
        out.append(text.data() + i, static_cast<size_t>(length));
    }
    i += static_cast<size_t>(length);
  }
  return out;
}

absl::StatusOr<std::vector<geo::LatLon>> PidfLoPolygon(absl::Span<const geo::LatLon> piece) {
  OuterPolygonOptions options;
  options.max_vertices = kRfc5491MaxPolygonVertices;
  options.max_edge_km = kRfc5491MaxEdgeKm;
  options.margin_m = kPidfLoPolygonMarginM;
  return OuterPolygon(piece, options);
}

absl::StatusOr<std::string> WritePidfLo(const PidfLoDocument& document) {
  if (document.entity.empty()) {
    return absl::InvalidArgumentError("entity: the presentity URI must not be empty");
  }
  absl::StatusOr<std::string> entity = EscapeXml(document.entity);
  if (!entity.ok())
    return absl::InvalidArgumentError(absl::StrCat("entity: ", entity.status().message()));
  absl::StatusOr<std::string> note = EscapeXml(document.note);
  if (!note.ok())
    return absl::InvalidArgumentError(absl::StrCat("note: ", note.status().message()));
  if (document.timestamp == absl::InfiniteFuture() || document.timestamp == absl::InfinitePast()) {
    return absl::InvalidArgumentError("timestamp must be finite");
  }
  const std::string timestamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", document.timestamp, absl::UTCTimeZone());

  std::string usage_rules = absl::StrCat(
      "        <gp:usage-rules>\n", "          <gbp:retransmission-allowed>",
      document.retransmission_allowed ? "true" : "false", "</gbp:retransmission-allowed>\n");
  if (!note->empty())
    absl::StrAppend(&usage_rules, "          <gbp:note-well>", *note, "</gbp:note-well>\n");
  absl::StrAppend(&usage_rules, "        </gp:usage-rules>\n");

  std::string xml = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "<presence xmlns=\"", kPidfNamespace, "\"\n",
      "    xmlns:gp=\"", kGeoprivNamespace, "\"\n", "    xmlns:gbp=\"", kBasicPolicyNamespace,
      "\"\n", "    xmlns:gml=\"", kGmlNamespace, "\"\n", "    xmlns:gs=\"", kGeoShapeNamespace,
      "\"\n", "    xmlns:con=\"", kConfidenceNamespace, "\"\n", "    entity=\"", *entity, "\">\n");

  // The best estimate.
  const PidfLoCircle& best = document.best;
  GEOLOC_RETURN_IF_ERROR(ValidatePoint(best.center, "best: centre"));
  if (!(best.radius_m > 0) || !std::isfinite(best.radius_m)) {
    return absl::InvalidArgumentError(
        absl::StrCat("best: radius must be a positive number of metres, got ", best.radius_m));
  }
  GEOLOC_ASSIGN_OR_RETURN(std::string best_confidence, FormatConfidence(best.confidence, "best"));
  const std::string circle = absl::StrCat(
      "          <gs:Circle srsName=\"", kWgs84SrsName, "\">\n", "            <gml:pos>",
      FormatPos(best.center), "</gml:pos>\n", "            <gs:radius uom=\"", kMetreUom, "\">",
      FormatRadius(best.radius_m), "</gs:radius>\n", "          </gs:Circle>\n");
  AppendTuple(kPidfLoBestTupleId, circle, best_confidence, PdfName(best.confidence.pdf),
              usage_rules, timestamp, &xml);

  // The regions, one tuple each.
  std::set<std::string> ids = {kPidfLoBestTupleId};
  for (const PidfLoRegion& region : document.regions) {
    GEOLOC_RETURN_IF_ERROR(ValidateTupleId(region.id));
    if (!ids.insert(region.id).second) {
      return absl::InvalidArgumentError(absl::StrCat("region id '", region.id, "' is used twice"));
    }
    if (region.pieces.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("region ", region.id, " has no pieces"));
    }
    GEOLOC_ASSIGN_OR_RETURN(
        std::string confidence,
        FormatConfidence(region.confidence, absl::StrCat("region ", region.id)));
    std::string polygons;
    for (size_t i = 0; i < region.pieces.size(); ++i) {
      absl::StatusOr<std::vector<geo::LatLon>> polygon = PidfLoPolygon(region.pieces[i]);
      if (!polygon.ok()) {
        return absl::Status(
            polygon.status().code(),
            absl::StrCat("region ", region.id, " piece ", i, ": ", polygon.status().message()));
      }
      absl::StrAppend(&polygons, "          <gml:Polygon srsName=\"", kWgs84SrsName, "\">\n",
                      "            <gml:exterior>\n", "              <gml:LinearRing>\n");
      // Closed: the first point again at the end (GML).
      for (size_t k = 0; k <= polygon->size(); ++k) {
        absl::StrAppend(&polygons, "                <gml:pos>",
                        FormatPos((*polygon)[k % polygon->size()]), "</gml:pos>\n");
      }
      absl::StrAppend(&polygons, "              </gml:LinearRing>\n",
                      "            </gml:exterior>\n", "          </gml:Polygon>\n");
    }
    AppendTuple(region.id, polygons, confidence, PdfName(region.confidence.pdf), usage_rules,
                timestamp, &xml);
  }
  absl::StrAppend(&xml, "</presence>\n");
  return xml;
}

namespace {

// "90" for 0.9, "95.5" for 0.955.
std::string LevelPercent(double level) { return absl::StrFormat("%g", level * 100); }

// A probability for people, rounded down: "91.2%".
std::string Percent(double p) {
  return absl::StrFormat("%.1f%%", std::floor(p * 1000.0 + 1e-6) / 10.0);
}

}  // namespace

absl::StatusOr<PidfLoDocument> PidfLoFromLocateResponse(const v1::LocateResponse& response,
                                                        const PidfLoAnswerOptions& options) {
  if (!(options.level > 0 && options.level < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the region level must be in (0, 1), got ", options.level));
  }
  PidfLoDocument doc;
  doc.entity = options.entity;
  doc.timestamp = options.timestamp;
  doc.best.center = {response.best().location().latitude(), response.best().location().longitude()};
  std::vector<std::string> notes;
  notes.push_back(absl::StrCat(
      "Where the photo", options.image_name.empty() ? "" : absl::StrCat(" ", options.image_name),
      " was taken, estimated from its pixels by geoloc (model ", response.model_version(),
      ", bundle ", response.bundle_version(), "); the circle is centred on the best estimate."));

  // The circle: a calibrated threshold and its probability, or the spread with no claim.
  const v1::WithinProbability* chosen = nullptr;
  if (response.calibrated()) {
    for (const v1::WithinProbability& within : response.within()) {  // increasing thresholds
      if (within.probability() >= options.level) {
        chosen = &within;
        break;
      }
      if (chosen == nullptr || within.probability() > chosen->probability()) chosen = &within;
    }
  }
  if (chosen != nullptr) {
    doc.best.radius_m = chosen->threshold_km() * 1000.0;
    doc.best.confidence = {chosen->probability(), PidfLoPdf::kUnknown};
    notes.push_back(absl::StrCat("Circle: P(the photo was taken within ",
                                 absl::StrFormat("%g", chosen->threshold_km()),
                                 " km of the estimate) = ", Percent(chosen->probability()),
                                 ", calibrated on photos like it."));
  } else {
    doc.best.radius_m = std::max(response.best().uncertainty_km() * 1000.0, 1.0);
    doc.best.confidence = {};
    notes.push_back(
        "Not calibrated: the circle is the spread of the evidence, with no probability "
        "(confidence unknown), and no region is given.");
  }

  if (response.calibrated()) {
    const v1::ConfidenceRegion* region = nullptr;
    std::vector<std::string> levels;
    for (const v1::ConfidenceRegion& candidate : response.regions()) {
      levels.push_back(absl::StrFormat("%g", candidate.level()));
      if (std::abs(candidate.level() - options.level) < 1e-6) region = &candidate;
    }
    if (region == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the answer has no confidence region at level ", options.level, " (it has ",
                       levels.empty() ? "none" : absl::StrJoin(levels, ", "), ")"));
    }
    const std::string label = absl::StrCat(LevelPercent(region->level()), "% region");
    bool writable = !region->whole_sphere() && region->pieces_size() > 0;
    for (const v1::RegionPiece& piece : region->pieces()) {
      std::vector<geo::LatLon> ring;
      for (const v1::LatLng& v : piece.exterior().vertices()) {
        ring.push_back({v.latitude(), v.longitude()});
      }
      if (!writable || !PidfLoPolygon(ring).ok()) {
        writable = false;
        break;
      }
      // All pieces or none: a region missing a piece would not hold its confidence.
      PidfLoRegion* out = doc.regions.empty() ? &doc.regions.emplace_back() : &doc.regions[0];
      out->pieces.push_back(std::move(ring));
    }
    if (writable) {
      PidfLoRegion& out = doc.regions[0];
      out.id = absl::StrCat("region-", LevelPercent(region->level()));
      out.confidence = {region->level(), PidfLoPdf::kUnknown};
      notes.push_back(absl::StrCat(
          "Tuple ", out.id, ": the photo was taken inside ",
          out.pieces.size() == 1 ? std::string("its polygon")
                                 : absl::StrCat("one of its ", out.pieces.size(), " polygons"),
          " with probability at least ", LevelPercent(region->level()),
          "% (split-conformal guarantee for photos exchangeable with the calibration photos; "
          "each polygon is a convex outer approximation of a piece of the ",
          label, ", ", absl::StrFormat("%.6g", region->area_km2()), " km2 in all)."));
    } else {
      doc.regions.clear();
      notes.push_back(absl::StrCat(
          "The ", label, " is not written: ",
          region->whole_sphere() ? "it is the whole Earth (too little calibration or evidence)"
                                 : "it is too large for polygons",
          "."));
    }
    if (response.abstained()) {
      notes.push_back(absl::StrCat("geoloc declines to locate this photo: P(localizable) = ",
                                   Percent(response.localizable_probability()),
                                   " is below the service's threshold of ",
                                   Percent(response.abstain_below()), "."));
    }
  }
  doc.note = absl::StrJoin(notes, " ");
  return doc;
}

std::string ContentUri(absl::string_view image_bytes) {
  const std::string digest = absl::HexStringToBytes(Sha256Hex(image_bytes));
  std::string encoded;
  absl::WebSafeBase64Escape(digest, &encoded);
  return absl::StrCat("ni:///sha-256;", encoded);
}

}  // namespace geoloc::pidf
