#include "tools/eval/eval_files.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/common/status_macros.h"
#include "core/geo/estimator_options.h"

namespace geoloc::eval {
namespace {

constexpr char kSimilarity[] = "similarity";
constexpr char kDistance[] = "distance";

}  // namespace

files::StoredRun ToStoredRun(const RetrievalRun& run) {
  files::StoredRun s;
  s.set_format_version(kStoredRunFormatVersion);
  s.set_model(run.model);
  s.set_model_info_json(run.model_info_json);
  s.set_bundle(run.bundle);
  s.set_score_kind(run.score_kind == geo::ScoreKind::kSimilarity ? kSimilarity : kDistance);
  s.set_source(run.source);
  s.set_split(run.split);
  s.set_unreadable(run.unreadable);
  s.set_seconds(run.seconds);
  s.set_images_per_second(run.images_per_second);
  s.set_classifier_seconds(run.classifier_seconds);
  for (const RetrievedQuery& q : run.queries) {
    files::StoredQuery* sq = s.add_queries();
    sq->set_source(q.source);
    sq->set_lat(q.truth.lat);
    sq->set_lon(q.truth.lon);
    sq->set_localizable(q.localizable);
    sq->set_place(q.place);
    for (const Hit& h : q.neighbors) {
      files::StoredNeighbor* n = sq->add_neighbors();
      n->set_id(h.id);
      n->set_score(static_cast<float>(h.score));
      n->set_lat(h.pos.lat);
      n->set_lon(h.pos.lon);
    }
    sq->mutable_embedding()->Add(q.descriptor.begin(), q.descriptor.end());
    sq->mutable_classifier_probs()->Add(q.classifier_probs.begin(), q.classifier_probs.end());
  }
  return s;
}

absl::StatusOr<RetrievalRun> FromStoredRun(const files::StoredRun& s) {
  if (s.format_version() != kStoredRunFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("stored retrieval format ", s.format_version(), "; this geoloc-eval reads ",
                     kStoredRunFormatVersion));
  }
  RetrievalRun run;
  if (s.score_kind() == kSimilarity) {
    run.score_kind = geo::ScoreKind::kSimilarity;
  } else if (s.score_kind() == kDistance) {
    run.score_kind = geo::ScoreKind::kDistance;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown score kind '", s.score_kind(), "'"));
  }
  run.model = s.model();
  run.model_info_json = s.model_info_json();
  run.bundle = s.bundle();
  run.source = s.source();
  run.split = s.split();
  run.unreadable = s.unreadable();
  run.seconds = s.seconds();
  run.images_per_second = s.images_per_second();
  run.classifier_seconds = s.classifier_seconds();
  run.queries.reserve(s.queries_size());
  for (const files::StoredQuery& sq : s.queries()) {
    RetrievedQuery q;
    q.source = sq.source();
    q.truth = geo::LatLon{sq.lat(), sq.lon()};
    q.localizable = sq.localizable();
    q.place = sq.place();
    for (const files::StoredNeighbor& n : sq.neighbors()) {
      q.neighbors.push_back(Hit{n.id(), n.score(), geo::LatLon{n.lat(), n.lon()}});
    }
    q.descriptor.assign(sq.embedding().begin(), sq.embedding().end());
    q.classifier_probs.assign(sq.classifier_probs().begin(), sq.classifier_probs().end());
    run.queries.push_back(std::move(q));
  }
  if (run.queries.empty()) return absl::InvalidArgumentError("the stored retrieval has no query");
  return run;
}

absl::Status SaveRetrieval(const RetrievalRun& run, const std::string& path) {
  std::string bytes;
  if (!ToStoredRun(run).SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("cannot serialise the retrieval for ", path));
  }
  return WriteFileAtomically(path, bytes);
}

absl::StatusOr<RetrievalRun> LoadRetrieval(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  files::StoredRun stored;
  if (!stored.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a stored retrieval (geoloc-eval retrieve --out)"));
  }
  absl::StatusOr<RetrievalRun> run = FromStoredRun(stored);
  if (!run.ok()) return Annotate(run.status(), path);
  return run;
}

files::EstimatorRow ToRow(const EstimatorReport& r, const std::string& tuned_for) {
  files::EstimatorRow row;
  row.set_label(r.label);
  row.set_method(r.method);
  row.set_estimator(r.method == "classifier" ? r.classifier
                                             : std::string(geo::EstimatorName(r.options.kind)));
  row.set_classifier(r.classifier);
  row.set_k(r.k);
  row.set_weight_exponent(r.options.weight_exponent_m);
  row.set_sigma_deg(r.options.sigma_deg);
  row.set_bandwidth_km(r.options.bandwidth_km);
  for (size_t t = 0; t < r.thresholds_km.size() && t < r.accuracy.size(); ++t) {
    (*row.mutable_accuracy())[ThresholdName(r.thresholds_km[t])] = r.accuracy[t];
  }
  row.set_median_error_km(r.median_error_km);
  row.set_failures(r.failures);
  row.set_ms_per_query(r.ms_per_query);
  row.set_tuned_for(tuned_for);
  if (r.method == "classifier") {
    const CellMetrics& m = r.cell_metrics;
    files::ClassifierMetrics* c = row.mutable_classifier_metrics();
    c->set_num_classes(m.num_classes);
    c->set_cell_accuracy(m.cell_accuracy);
    c->set_ior(m.ior);
    c->set_ece(m.ece);
    c->set_nll(m.nll);
    c->set_covered(m.covered);
    c->set_mean_confidence(m.mean_confidence);
    for (const ReliabilityBin& b : m.reliability) {
      files::ReliabilityBin* out = c->add_reliability();
      out->set_confidence_lo(b.lo);
      out->set_confidence_hi(b.hi);
      out->set_count(b.count);
      out->set_mean_confidence(b.mean_confidence);
      out->set_accuracy(b.accuracy);
    }
  }
  return row;
}

}  // namespace geoloc::eval
