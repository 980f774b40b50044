#include "server/audit_record.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"

namespace geoloc::server {
namespace {

// A JSON string literal (quotes included); control characters as \u00XX. Bytes >= 0x80 pass
// through: every string here is UTF-8 (gRPC peers, proto strings) or ASCII.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// Finite numbers as the shortest round-trip text; JSON has no NaN or infinity.
std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  std::string text = absl::StrFormat("%.15g", v);
  if (std::strtod(text.c_str(), nullptr) != v) text = absl::StrFormat("%.17g", v);
  return text;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string OptionsJson(const geoloc::v1::LocateOptions& options) {
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = false;
  print.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(options, &out, print).ok()) return "null";
  return out;
}

std::string AnswerJson(const AuditAnswer& a) {
  std::string out = absl::StrCat(
      "{\"best\":{\"latitude\":", Number(a.best_latitude), ",\"longitude\":",
      Number(a.best_longitude), ",\"uncertainty_km\":", Number(a.best_uncertainty_km),
      "},\"peaks\":", a.peaks, ",\"calibrated\":", a.calibrated ? "true" : "false",
      ",\"abstained\":", a.abstained ? "true" : "false");
  if (a.localizable_probability.has_value()) {
    absl::StrAppend(&out, ",\"localizable_probability\":", Number(*a.localizable_probability));
  }
  out += ",\"regions\":[";
  for (size_t i = 0; i < a.regions.size(); ++i) {
    const AuditAnswer::Region& r = a.regions[i];
    absl::StrAppend(&out, i ? "," : "", "{\"level\":", Number(r.level),
                    ",\"area_km2\":", Number(r.area_km2),
                    ",\"whole_sphere\":", r.whole_sphere ? "true" : "false", "}");
  }
  out += "]";
  if (!a.dissenting_photos.empty()) {
    out += ",\"dissenting_photos\":[";
    for (size_t i = 0; i < a.dissenting_photos.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", a.dissenting_photos[i]);
    }
    out += "]";
  }
  out += "}";
  return out;
}

}  // namespace

AuditRecord AuditRecord::Begin(std::string method, std::string transport) {
  AuditRecord record;
  record.start = absl::Now();
  record.method = std::move(method);
  record.transport = std::move(transport);
  return record;
}

void AuditRecord::SetAnswer(const geoloc::v1::LocateResponse& response) {
  AuditAnswer a;
  a.best_latitude = response.best().location().latitude();
  a.best_longitude = response.best().location().longitude();
  a.best_uncertainty_km = response.best().uncertainty_km();
  a.peaks = response.peaks_size();
  a.calibrated = response.calibrated();
  a.abstained = response.abstained();
  if (response.has_localizable_probability()) {
    a.localizable_probability = response.localizable_probability();
  }
  for (const auto& region : response.regions()) {
    a.regions.push_back({region.level(), region.area_km2(), region.whole_sphere()});
  }
  answer = std::move(a);
  model_version = response.model_version();
  bundle_version = response.bundle_version();
}

void AuditRecord::Finish(const absl::Status& status) {
  code = status.code();
  message = std::string(status.message());
  latency_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
}

std::string AuditJsonLine(const AuditRecord& r) {
  std::string out = absl::StrCat("{\"time\":", Quote(Rfc3339(r.start)),
                                 ",\"method\":", Quote(r.method),
                                 ",\"transport\":", Quote(r.transport),
                                 ",\"caller\":", Quote(r.caller), ",\"peer\":", Quote(r.peer));
  if (!r.item_id.empty()) absl::StrAppend(&out, ",\"item_id\":", Quote(r.item_id));
  out += ",\"image_sha256\":[";
  for (size_t i = 0; i < r.image_sha256.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", Quote(r.image_sha256[i]));
  }
  out += "]";
  if (r.options.has_value()) absl::StrAppend(&out, ",\"options\":", OptionsJson(*r.options));
  if (!r.detail.empty()) absl::StrAppend(&out, ",\"detail\":", Quote(r.detail));
  if (r.answer.has_value()) absl::StrAppend(&out, ",\"answer\":", AnswerJson(*r.answer));
  absl::StrAppend(&out, ",\"model_version\":", Quote(r.model_version),
                  ",\"bundle_version\":", Quote(r.bundle_version),
                  ",\"code\":", Quote(absl::StatusCodeToString(r.code)),
                  ",\"message\":", Quote(r.message), ",\"latency_ms\":", Number(r.latency_ms), "}");
  return out;
}

std::string AuditGapLine(absl::Time when, int64_t dropped) {
  return absl::StrCat("{\"time\":", Quote(Rfc3339(when)),
                      ",\"event\":\"audit_records_dropped\",\"count\":", dropped, "}");
}

}  // namespace geoloc::server
