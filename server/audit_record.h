// One line of the audit log (docs/OPERATIONS.md, "Audit log"): what a call asked, who asked,
// what it answered. Built by a transport (the gRPC services; an HTTP front end fills the same
// struct with transport "http") and handed to AuditLog::Record; rendered as one JSON object on
// the writer thread, so the request path only copies a few strings.
//
//   AuditRecord record = AuditRecord::Begin("Locate", "grpc");
//   record.caller = "dispatch-north";  record.image_sha256 = {Sha256Hex(image)};
//   record.SetAnswer(response);  record.Finish(status);  audit_log->Record(std::move(record));
//
// A plain value type. The caller is the token's NAME (auth.h), never the token.
#ifndef GEOLOC_SERVER_AUDIT_RECORD_H_
#define GEOLOC_SERVER_AUDIT_RECORD_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "geoloc/v1/geoloc.pb.h"

namespace geoloc::server {

// What the log keeps of an answer: enough to know what the operator was told, not the whole
// response (peaks and cells are recomputable from the image hash, the options and the versions).
struct AuditAnswer {
  double best_latitude = 0, best_longitude = 0, best_uncertainty_km = 0;
  int peaks = 0;
  bool calibrated = false;
  bool abstained = false;
  std::optional<double> localizable_probability;
  struct Region {
    double level = 0;
    double area_km2 = 0;
    bool whole_sphere = false;
  };
  std::vector<Region> regions;
  // Incidents: photos reported as disagreeing with the others (their index in the request).
  std::vector<int> dissenting_photos;
};

struct AuditRecord {
  static AuditRecord Begin(std::string method, std::string transport);

  // Fills answer, model_version and bundle_version from a Locate answer.
  void SetAnswer(const geoloc::v1::LocateResponse& response);
  // Sets the status and the latency since `start`.
  void Finish(const absl::Status& status);

  absl::Time start;                       // when the call arrived (written as RFC 3339 UTC)
  std::string method;                     // "Locate", "LocateStream/item", "SwapIndex", ...
  std::string transport;                  // "grpc", "http"
  std::string caller;                     // the token's name; empty when auth is off
  std::string peer;                       // the transport's peer address
  std::string item_id;                    // LocateStream items
  std::vector<std::string> image_sha256;  // lower-case hex, one per image, in request order
  std::optional<geoloc::v1::LocateOptions> options;
  std::string detail;                     // method-specific, e.g. SwapIndex's requested path
  std::optional<AuditAnswer> answer;
  std::string model_version;
  std::string bundle_version;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string message;
  double latency_ms = 0;
  // Photos kept for --audit_store_images (the writer stores them under their SHA-256); empty
  // unless the operator asked for it.
  std::vector<std::string> images_to_store;
};

// The record as one line of JSON (no newline). Keys are stable (docs/OPERATIONS.md).
std::string AuditJsonLine(const AuditRecord& record);
// The line the writer inserts after records were dropped (queue full), so a reader of the log
// itself sees the gap: {"time":...,"event":"audit_records_dropped","count":N}.
std::string AuditGapLine(absl::Time when, int64_t dropped);

}  // namespace geoloc::server

#endif  // GEOLOC_SERVER_AUDIT_RECORD_H_
