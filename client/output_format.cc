#include "client/output_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/geo/estimator_options.h"
#include "google/protobuf/util/json_util.h"
#include "proto/estimator_mapping.h"

namespace geoloc::client {
namespace {

// "1h 02m 03s" for uptimes.
std::string FormatUptime(double seconds) {
  const int64_t total = static_cast<int64_t>(std::max(0.0, seconds));
  const int64_t days = total / 86400;
  const int64_t hours = (total % 86400) / 3600;
  const int64_t minutes = (total % 3600) / 60;
  const int64_t secs = total % 60;
  if (days > 0) return absl::StrFormat("%dd %02dh %02dm", days, hours, minutes);
  if (hours > 0) return absl::StrFormat("%dh %02dm %02ds", hours, minutes, secs);
  return absl::StrFormat("%dm %02ds", minutes, secs);
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

// The CLI's name of an estimator ("kde"), "default" for the server's default.
absl::string_view EstimatorShortName(v1::Estimator estimator) {
  const std::optional<geo::EstimatorKind> kind = api::EstimatorFromProto(estimator);
  return kind.has_value() ? geo::EstimatorShortName(*kind) : "default";
}

// "  3.2 km NE of Anadyr, Chukotka, Russia" (two spaces, then the named place), or nothing when
// the server has no gazetteer: the last column of a row.
std::string PlaceColumn(bool has_place, const v1::Place& place) {
  return has_place ? absl::StrCat("  ", place.description()) : std::string();
}

void AppendEstimateRow(std::string* out, absl::string_view label,
                       const v1::LocationEstimate& estimate) {
  absl::StrAppendFormat(out, "    %-14s %10.5f  %10.5f  %9.2f  %10.3f%s\n", label,
                        estimate.location().latitude(), estimate.location().longitude(),
                        estimate.uncertainty_km(), estimate.weight_share(),
                        PlaceColumn(estimate.has_place(), estimate.place()));
}

void AppendCells(std::string* out, absl::string_view title,
                 const google::protobuf::RepeatedPtrField<v1::CellConfidence>& cells) {
  if (cells.empty()) return;
  // Grouped by level, finest last, each level in the server's order (most probable first).
  std::map<int, std::vector<const v1::CellConfidence*>> by_level;
  for (const v1::CellConfidence& cell : cells) by_level[cell.level()].push_back(&cell);
  absl::StrAppendFormat(out, "  %s\n    %5s  %-18s  %11s  %s\n", title, "level", "token",
                        "share", "centre");
  for (const auto& [level, level_cells] : by_level) {
    for (const v1::CellConfidence* cell : level_cells) {
      absl::StrAppendFormat(out, "    %5d  %-18s  %11.4f  %s%s\n", level, cell->token(),
                            cell->weight_share(), FormatLatLng(cell->center()),
                            PlaceColumn(cell->has_place(), cell->place()));
    }
  }
}

}  // namespace

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " as JSON: ", status.message().as_string()));
  }
  return json;
}

std::string FormatLatLng(const v1::LatLng& location) {
  return absl::StrFormat("%.5f, %.5f", location.latitude(), location.longitude());
}

std::string StatusCodeName(int code) {
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return absl::StrCat("CODE_", code);
  }
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string FormatStatus(const absl::Status& status) {
  if (status.message().empty()) return StatusCodeName(static_cast<int>(status.code()));
  return absl::StrCat(StatusCodeName(static_cast<int>(status.code())), ": ", status.message());
}

std::string FormatTimings(const v1::StageTimings& timings) {
  std::vector<std::string> parts;
  auto add = [&parts](absl::string_view name, double ms) {
    if (ms > 0) parts.push_back(absl::StrFormat("%s %.2f ms", name, ms));
  };
  add("decode", timings.decode_ms());
  add("queue", timings.queue_ms());
  add("encode", timings.encode_ms());
  add("search", timings.search_ms());
  add("estimate", timings.estimate_ms());
  add("classify", timings.classify_ms());
  add("explain", timings.explain_ms());
  add("total", timings.total_ms());
  std::string out = parts.empty() ? std::string("none reported") : absl::StrJoin(parts, ", ");
  if (timings.batch_size() > 0) absl::StrAppend(&out, " (batch ", timings.batch_size(), ")");
  return out;
}

std::string FormatLocateOptions(const v1::LocateOptions& options) {
  std::vector<std::string> parts;
  if (options.k() > 0) parts.push_back(absl::StrCat("k ", options.k()));
  if (options.estimator() != v1::ESTIMATOR_UNSPECIFIED) {
    parts.push_back(absl::StrCat("estimator ", EstimatorShortName(options.estimator())));
  }
  if (options.has_weight_exponent()) {
    parts.push_back(absl::StrCat("weight exponent ", options.weight_exponent()));
  }
  if (options.has_bandwidth_km()) {
    parts.push_back(absl::StrCat("bandwidth ", options.bandwidth_km(), " km"));
  }
  if (options.has_sigma_deg()) parts.push_back(absl::StrCat("sigma ", options.sigma_deg(), " deg"));
  if (options.has_merge_radius_km()) {
    parts.push_back(absl::StrCat("merge radius ", options.merge_radius_km(), " km"));
  }
  if (options.max_peaks() > 0) parts.push_back(absl::StrCat("peaks ", options.max_peaks()));
  if (!options.cell_levels().empty()) {
    parts.push_back(absl::StrCat("levels ", absl::StrJoin(options.cell_levels(), ",")));
  }
  if (options.max_cells_per_level() > 0) {
    parts.push_back(absl::StrCat("cells/level ", options.max_cells_per_level()));
  }
  if (options.max_classifier_cells() > 0) {
    parts.push_back(absl::StrCat("classifier cells ", options.max_classifier_cells()));
  }
  return parts.empty() ? std::string("none") : absl::StrJoin(parts, ", ");
}

// The calibrated part of an answer (docs/CALIBRATION.md), or why there is none.
void AppendCalibration(std::string* out, const v1::LocateResponse& response) {
  if (!response.calibrated()) {
    absl::StrAppend(out, "  not calibrated: no confidence region and no probability (the bundle "
                         "has no calibration for these settings)\n");
    return;
  }
  absl::StrAppendFormat(out, "  calibrated: P(localizable) %.3f%s\n",
                        response.localizable_probability(),
                        response.abstained()
                            ? absl::StrFormat("  ABSTAINED (below %.2f): treat the answer as "
                                              "unreliable",
                                              response.abstain_below())
                            : "");
  if (!response.within().empty()) {
    absl::StrAppend(out, "    P(within)");
    for (const v1::WithinProbability& w : response.within()) {
      absl::StrAppendFormat(out, "  %g km %.3f", w.threshold_km(), w.probability());
    }
    absl::StrAppend(out, "\n");
  }
  if (response.regions().empty()) return;
  absl::StrAppendFormat(out, "  regions (score group %d)\n    %5s  %9s  %16s  %6s\n",
                        response.score_group(), "level", "coverage", "area km²", "pieces");
  for (const v1::ConfidenceRegion& r : response.regions()) {
    const std::string pieces = r.whole_sphere()       ? "the whole Earth"
                               : r.pieces_size() == 0 ? "empty"
                                                      : absl::StrCat(r.pieces_size());
    // "km²" is 5 bytes but 3 columns wide; the values are padded to match.
    absl::StrAppendFormat(out, "    %5.2f  >= %6.3f  %14.1f  %6s\n", r.level(),
                          r.guaranteed_coverage(), r.area_km2(), pieces);
  }
}

std::string FormatLocate(absl::string_view image, const v1::LocateResponse& response,
                         bool show_neighbors) {
  std::string out = absl::StrCat(image, "\n");
  const v1::LocationEstimate& best = response.best();
  if (response.has_classifier()) {
    // With a classifier, `best` is the fusion of the two; show all three so an operator sees
    // when retrieval and classifier disagree.
    // "± km" is 5 bytes but 4 columns wide: %10s pads it to the 9 columns of the values.
    absl::StrAppendFormat(&out, "  estimates\n    %-14s %10s  %10s  %10s  %10s\n", "", "latitude",
                          "longitude", "± km", "share");
    AppendEstimateRow(&out, "fused (best)", best);
    AppendEstimateRow(&out, "retrieval", response.retrieval());
    AppendEstimateRow(&out, "classifier", response.classifier());
  } else {
    absl::StrAppendFormat(&out, "  best  %s  ± %.2f km  weight share %.3f\n",
                          FormatLatLng(best.location()), best.uncertainty_km(),
                          best.weight_share());
    if (best.has_place()) absl::StrAppend(&out, "  place ", best.place().description(), "\n");
  }
  if (!response.peaks().empty()) {
    absl::StrAppendFormat(&out,
                          "  peaks (estimator %s)\n    %3s  %10s  %10s  %6s  %10s  %7s  %9s\n",
                          EstimatorShortName(response.estimator()), "#", "latitude", "longitude",
                          "mass", "density", "support", "radius km");
    for (int i = 0; i < response.peaks_size(); ++i) {
      const v1::Peak& peak = response.peaks(i);
      absl::StrAppendFormat(&out, "    %3d  %10.5f  %10.5f  %6.3f  %10.4g  %7d  %9.2f%s\n", i,
                            peak.location().latitude(), peak.location().longitude(), peak.mass(),
                            peak.density(), peak.support(), peak.radius_km(),
                            PlaceColumn(peak.has_place(), peak.place()));
    }
  }
  AppendCalibration(&out, response);
  AppendCells(&out, "cells (retrieval)", response.cells());
  AppendCells(&out, "cells (classifier)", response.classifier_cells());
  if (show_neighbors && !response.neighbors().empty()) {
    absl::StrAppendFormat(&out, "  neighbours\n    %3s  %12s  %10s  %10s  %10s  %s\n", "#", "id",
                          "similarity", "latitude", "longitude", "source");
    for (int i = 0; i < response.neighbors_size(); ++i) {
      const v1::Neighbor& neighbor = response.neighbors(i);
      absl::StrAppendFormat(&out, "    %3d  %12d  %10.4f  %10.5f  %10.5f  %s\n", i, neighbor.id(),
                            neighbor.similarity(), neighbor.location().latitude(),
                            neighbor.location().longitude(), neighbor.source());
    }
  }
  absl::StrAppendFormat(&out, "  model %s, bundle %s\n  timings: %s\n", response.model_version(),
                        response.bundle_version(), FormatTimings(response.timings()));
  return out;
}

std::string FormatExplain(absl::string_view image, const v1::ExplainResponse& response) {
  std::string out = absl::StrCat(image, "\n");
  absl::StrAppendFormat(&out, "  target  %s\n  score   %.4f\n", response.target_description(),
                        response.target_score());
  if (response.width() > 0 && response.height() > 0 && !response.saliency().empty()) {
    const auto max_it = std::max_element(response.saliency().begin(), response.saliency().end());
    const int64_t at = max_it - response.saliency().begin();
    absl::StrAppendFormat(&out, "  saliency %dx%d, strongest %.3f at row %d, column %d\n",
                          response.width(), response.height(), *max_it, at / response.width(),
                          at % response.width());
  }
  absl::StrAppendFormat(&out, "  model %s, bundle %s\n  timings: %s\n", response.model_version(),
                        response.bundle_version(), FormatTimings(response.timings()));
  return out;
}

std::string FormatServerStatus(const v1::GetStatusResponse& status) {
  std::string out;
  absl::StrAppendFormat(&out, "server     %s, %s, up %s\n",
                        status.server_version().empty() ? "geolocd" : status.server_version(),
                        status.serving() ? "serving" : "NOT serving",
                        FormatUptime(status.uptime_seconds()));
  const v1::ModelStatus& model = status.model();
  absl::StrAppendFormat(&out,
                        "model      %s (backbone %s, head %s, %d-d %s), input %dx%d, %s on %s\n"
                        "           fingerprint %s\n",
                        model.name(), model.backbone(), model.head(), model.dim(), model.metric(),
                        model.input_width(), model.input_height(), model.precision(),
                        model.device(), model.fingerprint());
  const v1::BundleStatus& bundle = status.bundle();
  absl::StrAppendFormat(&out,
                        "bundle     %s at %s\n"
                        "           %d vectors in %d shards, index %s, created %s, cells %s, "
                        "classifier %s\n",
                        bundle.version(), bundle.path(), bundle.vector_count(),
                        bundle.shard_count(), bundle.index_type(), bundle.created_at(),
                        YesNo(bundle.has_cells()), YesNo(bundle.has_classifier()));
  if (status.has_last_swap()) {
    const v1::SwapRecord& swap = status.last_swap();
    const std::string when = absl::FormatTime(
        "%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(static_cast<int64_t>(swap.unix_time() * 1e6)),
        absl::UTCTimeZone());
    absl::StrAppendFormat(&out, "last swap  %s via %s at %s: %s (%.2f s)%s%s\n",
                          swap.ok() ? "ok" : "FAILED", swap.trigger(), when, swap.bundle_path(),
                          swap.load_seconds(), swap.message().empty() ? "" : " - ", swap.message());
  }
  const v1::GazetteerStatus& gazetteer = status.gazetteer();
  if (gazetteer.loaded()) {
    absl::StrAppendFormat(&out, "places     %d named places from %s (%s)\n           %s\n",
                          gazetteer.places(), gazetteer.path(), gazetteer.license(),
                          gazetteer.attribution());
  } else {
    absl::StrAppend(&out, "places     none: no gazetteer, answers carry no place names\n");
  }
  absl::StrAppendFormat(&out, "defaults   %s\n", FormatLocateOptions(status.defaults()));
  absl::StrAppendFormat(&out,
                        "batching   max batch %d, max wait %.2f ms, queue %d/%d, in flight %d\n",
                        status.max_batch(), status.max_batch_wait_ms(), status.queue_depth(),
                        status.queue_capacity(), status.in_flight());
  return out;
}

std::string FormatSwapIndex(const v1::SwapIndexResponse& response) {
  return absl::StrFormat(
      "swapped in bundle %s (was %s): %d vectors, loaded in %.2f s\n", response.bundle_version(),
      response.previous_bundle_version().empty() ? std::string("none")
                                                 : response.previous_bundle_version(),
      response.vector_count(), response.load_seconds());
}

std::string FormatStreamItem(absl::string_view name, const v1::LocateStreamResponse& response) {
  if (response.status().code() != 0) {
    return absl::StrFormat("error  %s  %s: %s", name, StatusCodeName(response.status().code()),
                           response.status().message());
  }
  const v1::LocationEstimate& best = response.result().best();
  const v1::LocateResponse& r = response.result();
  const std::string calibration =
      !r.calibrated() ? "  uncalibrated"
                      : absl::StrFormat("  P(localizable) %.3f%s", r.localizable_probability(),
                                        r.abstained() ? "  ABSTAINED" : "");
  return absl::StrFormat("ok     %s  %s  ± %.2f km  weight share %.3f%s", name,
                         FormatLatLng(best.location()), best.uncertainty_km(), best.weight_share(),
                         calibration);
}

std::string FormatStreamSummary(const StreamTotals& totals) {
  const double seconds = absl::ToDoubleSeconds(totals.elapsed);
  const double answered = static_cast<double>(totals.ok + totals.errors);
  return absl::StrFormat("%d images: %d ok, %d error%s, %d unreadable in %.2f s (%.2f images/s)",
                         totals.images, totals.ok, totals.errors, totals.errors == 1 ? "" : "s",
                         totals.unreadable, seconds, seconds > 0 ? answered / seconds : 0.0);
}

}  // namespace geoloc::client
