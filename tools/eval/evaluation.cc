#include "tools/eval/evaluation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/cells/s2_cells.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/common/status_macros.h"
#include "core/common/thread_pool.h"
#include "core/engine/fusion.h"
#include "core/geo/distance.h"
#include "core/geo/estimator.h"
#include "core/geo/metrics.h"
#include "core/index/csv.h"
#include "core/model/image_decoder.h"
#include "core/model/model_info.h"
#include "core/model/preprocess.h"
#include "tools/eval/region_tally.h"

namespace geoloc::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kReliabilityBins = 20;
constexpr double kMinProbability = 1e-12;

std::string Label(const geo::EstimatorOptions& o, int k) {
  std::string label = absl::StrFormat("%s k=%d", geo::EstimatorName(o.kind), k);
  switch (o.kind) {
    case geo::EstimatorKind::kWeightedMean:
      absl::StrAppendFormat(&label, " m=%g", o.weight_exponent_m);
      break;
    case geo::EstimatorKind::kGridKde:
      absl::StrAppendFormat(&label, " m=%g sigma=%gdeg", o.weight_exponent_m, o.sigma_deg);
      break;
    case geo::EstimatorKind::kSphericalKde:
      absl::StrAppendFormat(&label, " m=%g h=%gkm", o.weight_exponent_m, o.bandwidth_km);
      break;
    default:
      break;
  }
  return label;
}

// Accuracy and median over the localizable queries; errors_km keeps one entry per query.
void Summarise(const RetrievalRun& run, EstimatorReport& report) {
  std::vector<double> errors;
  errors.reserve(run.queries.size());
  for (size_t i = 0; i < run.queries.size(); ++i) {
    if (run.queries[i].localizable) errors.push_back(report.errors_km[i]);
  }
  report.accuracy = geo::AccuracyAtThresholds(errors, report.thresholds_km);
  report.median_error_km = geo::MedianError(errors);
}

// The median, NaN for none (a report field without data).
double MedianOrNaN(std::vector<double> v) { return v.empty() ? kNaN : Median(std::move(v)); }

class BundleCells : public LeafCells {
 public:
  explicit BundleCells(const engine::BundleClassifier& classifier) : classifier_(classifier) {}
  int num_classes() const override { return classifier_.num_classes(); }
  geo::LatLon LeafCentre(int leaf) const override {
    return cells::CellCenter(classifier_.cells().leaf_node(leaf).id);
  }
  int LeafClassAt(geo::LatLon point) const override {
    return classifier_.cells().LeafClassOf(point);
  }

 private:
  const engine::BundleClassifier& classifier_;
};

// EvaluateEstimator for Evaluate and EvaluateFused: `fuse_with` null answers with the top peak.
EstimatorReport EvaluateEstimator(const RetrievalRun& run, int k,
                                  const geo::EstimatorOptions& options,
                                  const std::vector<double>& thresholds_km, int max_peaks,
                                  const ClassifierOutputs* fuse_with) {
  EstimatorReport report;
  report.label = Label(options, k);
  report.options = options;
  report.k = k;
  report.thresholds_km = thresholds_km;
  report.errors_km.assign(run.queries.size(), kNaN);
  std::vector<geo::Neighbor> neighbors;
  absl::Duration spent;
  int64_t evaluated = 0;
  for (size_t qi = 0; qi < run.queries.size(); ++qi) {
    const RetrievedQuery& q = run.queries[qi];
    if (!q.localizable) continue;
    ++evaluated;
    neighbors.clear();
    for (const Hit& h : q.neighbors) {
      if (static_cast<int>(neighbors.size()) == k) break;
      neighbors.push_back(geo::Neighbor{h.pos, h.score});
    }
    const absl::Time t0 = absl::Now();
    absl::StatusOr<geo::Estimate> estimate =
        geo::EstimateLocation(neighbors, run.score_kind, options);
    spent += absl::Now() - t0;
    if (!estimate.ok() || estimate->peaks.empty()) {
      ++report.failures;
      report.errors_km[qi] = std::numeric_limits<double>::infinity();
      continue;
    }
    geo::LatLon answer = estimate->peaks.front().pos;
    if (fuse_with != nullptr) {
      const size_t n = std::min<size_t>(estimate->peaks.size(), max_peaks);
      const std::vector<float>& probs = fuse_with->probs[qi];
      std::vector<double> leaf_probability(n);
      for (size_t i = 0; i < n; ++i) {
        const int leaf = fuse_with->cells->LeafClassAt(estimate->peaks[i].pos);
        leaf_probability[i] = leaf < 0 ? 0.0 : probs[leaf];
      }
      const engine::FusedChoice fused =
          engine::FusePeaks(absl::MakeConstSpan(estimate->peaks).first(n), leaf_probability,
                            fuse_with->cells->num_classes());
      answer = estimate->peaks[fused.peak].pos;
    }
    report.errors_km[qi] = geo::HaversineKm(answer, q.truth);
  }
  Summarise(run, report);
  report.ms_per_query = evaluated == 0 ? 0 : absl::ToDoubleMilliseconds(spent) / evaluated;
  return report;
}

CellMetrics ComputeCellMetrics(const RetrievalRun& run, const ClassifierOutputs& classifier) {
  CellMetrics m;
  m.num_classes = classifier.cells->num_classes();
  std::vector<double> confidences;
  std::unique_ptr<bool[]> correct(new bool[run.queries.size()]);
  int64_t n = 0, right = 0, covered = 0;
  double nll = 0;
  for (size_t i = 0; i < run.queries.size(); ++i) {
    const RetrievedQuery& q = run.queries[i];
    if (!q.localizable) continue;
    const std::vector<float>& p = classifier.probs[i];
    const int top = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    const int truth = classifier.cells->LeafClassAt(q.truth);
    const bool ok = truth >= 0 && top == truth;
    if (truth >= 0) {
      ++covered;
      nll -= std::log(std::max<double>(p[truth], kMinProbability));
    }
    correct[n] = ok;
    confidences.push_back(p[top]);
    right += ok;
    ++n;
  }
  if (n == 0) return m;
  m.cell_accuracy = static_cast<double>(right) / n;
  m.ior = m.cell_accuracy * m.num_classes;
  m.covered = static_cast<double>(covered) / n;
  m.nll = covered > 0 ? nll / covered : kNaN;
  m.ece = geo::ExpectedCalibrationError(confidences,
                                        absl::MakeConstSpan(correct.get(), static_cast<size_t>(n)),
                                        kReliabilityBins);
  double sum = 0;
  for (double c : confidences) sum += c;
  m.mean_confidence = sum / n;
  m.reliability.resize(kReliabilityBins);
  for (int b = 0; b < kReliabilityBins; ++b) {
    m.reliability[b].lo = static_cast<double>(b) / kReliabilityBins;
    m.reliability[b].hi = static_cast<double>(b + 1) / kReliabilityBins;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int b = std::min(kReliabilityBins - 1,
                           static_cast<int>(confidences[i] * kReliabilityBins));
    ReliabilityBin& bin = m.reliability[b];
    ++bin.count;
    bin.mean_confidence += confidences[i];
    bin.accuracy += correct[i] ? 1 : 0;
  }
  for (ReliabilityBin& bin : m.reliability) {
    if (bin.count == 0) continue;
    bin.mean_confidence /= bin.count;
    bin.accuracy /= bin.count;
  }
  return m;
}

}  // namespace

absl::StatusOr<QueryList> ReadQueryCsv(const std::string& csv_path, const std::string& image_root) {
  QueryList list;
  GEOLOC_ASSIGN_OR_RETURN(list.sources, index::ReadCsvSource(csv_path, image_root));
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(csv_path));
  GEOLOC_ASSIGN_OR_RETURN(index::CsvTable table, index::ParseCsv(text));
  const int localizable_col = table.Column({"localizable"});
  const int split_col = table.Column({"split"});
  const size_t n = list.sources.entries.size();
  list.localizable.assign(n, true);
  list.place.resize(n);
  for (size_t i = 0; i < n; ++i) list.place[i] = list.sources.entries[i].meta.group;
  bool one_split = split_col >= 0;
  for (size_t i = 0; i < table.rows.size() && i < n; ++i) {
    const index::CsvRow& row = table.rows[i];
    if (localizable_col >= 0) {
      const std::string& v = row.fields[localizable_col];
      if (v != "0" && v != "1") {
        return absl::InvalidArgumentError(absl::StrCat(csv_path, " line ", row.line,
                                                       ": localizable must be 0 or 1, got '", v,
                                                       "'"));
      }
      list.localizable[i] = v == "1";
    }
    if (split_col >= 0) {
      if (i == 0) list.split = row.fields[split_col];
      one_split = one_split && row.fields[split_col] == list.split;
    }
  }
  if (!one_split) list.split.clear();
  return list;
}

QueryList AllLocalizable(index::SourceList sources) {
  QueryList list;
  const size_t n = sources.entries.size();
  list.sources = std::move(sources);
  list.localizable.assign(n, true);
  list.place.assign(n, "");
  return list;
}

absl::StatusOr<RetrievalRun> RetrieveAll(const engine::Locator& locator, const QueryList& queries,
                                         const RetrieveOptions& options) {
  const model::ModelInfo& info = locator.model_info();
  const size_t image_floats = model::PreprocessedSize(info);
  const int threads = options.decode_threads > 0
                          ? options.decode_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  const std::vector<index::SourceEntry>& entries = queries.sources.entries;
  size_t total = entries.size();
  if (options.max_queries > 0) total = std::min<size_t>(total, options.max_queries);
  RetrievalRun run;
  run.queries.reserve(total);
  run.score_kind = locator.bundle().score_kind();
  run.model = locator.model_version();
  absl::StatusOr<std::string> info_json = model::ModelInfoToJson(info);
  if (!info_json.ok()) return info_json.status();
  run.model_info_json = *std::move(info_json);
  run.bundle = locator.bundle_version();
  run.source = queries.sources.description;
  run.split = queries.split;
  std::optional<ProgressReporter> progress;
  if (options.show_progress) progress.emplace("retrieve", static_cast<int64_t>(total), "img");
  model::DecodeOptions decode;
  decode.target_min_side = std::min(info.input_height, info.input_width);
  const absl::Time start = absl::Now();
  std::vector<float> pixels(image_floats * options.batch);
  std::vector<char> ok(options.batch);
  for (size_t begin = 0; begin < total; begin += options.batch) {
    const int n = static_cast<int>(std::min<size_t>(options.batch, total - begin));
    ParallelFor(&pool, n, [&](int64_t i) {
      const index::SourceEntry& e = entries[begin + i];
      ok[i] = 0;
      auto bytes = ReadFileToString(e.path);
      if (!bytes.ok()) return;
      auto bgr = model::DecodeImage(*bytes, decode);
      if (!bgr.ok()) return;
      ok[i] = model::PreprocessInto(*bgr, info, pixels.data() + i * image_floats).ok() ? 1 : 0;
    });
    // Compact the readable images to the front of the batch.
    std::vector<size_t> kept;
    for (int i = 0; i < n; ++i) {
      if (!ok[i]) {
        ++run.unreadable;
        GEOLOC_LOG(WARNING) << "skipping unreadable query " << entries[begin + i].path;
        continue;
      }
      if (kept.size() != static_cast<size_t>(i)) {
        std::copy_n(pixels.data() + i * image_floats, image_floats,
                    pixels.data() + kept.size() * image_floats);
      }
      kept.push_back(begin + i);
    }
    if (!kept.empty()) {
      const int m = static_cast<int>(kept.size());
      std::vector<float> descriptors(static_cast<size_t>(m) * info.dim);
      GEOLOC_RETURN_IF_ERROR(locator.Encode(pixels.data(), m, descriptors.data()));
      GEOLOC_ASSIGN_OR_RETURN(auto hits, locator.Search(descriptors, options.max_k, 0, 0));
      std::vector<float> probs;
      const engine::BundleClassifier* classifier = locator.classifier();
      if (classifier != nullptr) {
        probs.resize(static_cast<size_t>(m) * classifier->num_classes());
        const absl::Time t0 = absl::Now();
        GEOLOC_RETURN_IF_ERROR(classifier->Predict(descriptors.data(), m, probs.data()));
        run.classifier_seconds += absl::ToDoubleSeconds(absl::Now() - t0);
      }
      for (int i = 0; i < m; ++i) {
        const index::SourceEntry& e = entries[kept[i]];
        RetrievedQuery q;
        q.source = e.meta.source;
        q.truth = geo::LatLon{e.meta.lat, e.meta.lon};
        q.localizable = queries.localizable.empty() || queries.localizable[kept[i]];
        q.place = queries.place.empty() ? std::string() : queries.place[kept[i]];
        for (const index::Neighbor& h : hits[i]) {
          q.neighbors.push_back(Hit{h.id, h.score, geo::LatLon{h.lat, h.lon}});
        }
        q.descriptor.assign(descriptors.begin() + static_cast<size_t>(i) * info.dim,
                            descriptors.begin() + static_cast<size_t>(i + 1) * info.dim);
        if (classifier != nullptr) {
          const auto row = probs.begin() + static_cast<size_t>(i) * classifier->num_classes();
          q.classifier_probs.assign(row, row + classifier->num_classes());
        }
        run.queries.push_back(std::move(q));
      }
    }
    if (progress) progress->Add(n);
  }
  if (progress) progress->Finish();
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  run.images_per_second = run.seconds > 0 ? run.queries.size() / run.seconds : 0;
  if (run.queries.empty()) return absl::InvalidArgumentError("no readable query image");
  return run;
}

std::unique_ptr<LeafCells> CellsOf(const engine::BundleClassifier& classifier) {
  return std::make_unique<BundleCells>(classifier);
}

absl::StatusOr<ClassifierOutputs> StoredOutputs(const RetrievalRun& run, const LeafCells& cells,
                                                std::string name) {
  ClassifierOutputs out;
  out.name = std::move(name);
  out.cells = &cells;
  for (const RetrievedQuery& q : run.queries) {
    if (q.classifier_probs.size() != static_cast<size_t>(cells.num_classes())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "query ", q.source, " has ", q.classifier_probs.size(),
          " stored classifier probabilities, the cells have ", cells.num_classes(), " classes"));
    }
    out.probs.push_back(q.classifier_probs);
  }
  out.ms_per_query = run.queries.empty() ? 0 : run.classifier_seconds * 1000 / run.queries.size();
  return out;
}

absl::StatusOr<ClassifierOutputs> PredictOutputs(const RetrievalRun& run,
                                                 const engine::BundleClassifier& classifier,
                                                 const LeafCells& cells, std::string name) {
  ClassifierOutputs out;
  out.name = std::move(name);
  out.cells = &cells;
  const int classes = classifier.num_classes();
  const absl::Time t0 = absl::Now();
  constexpr size_t kBatch = 256;
  for (size_t begin = 0; begin < run.queries.size(); begin += kBatch) {
    const size_t n = std::min(kBatch, run.queries.size() - begin);
    const size_t dim = run.queries[begin].descriptor.size();
    if (dim == 0) {
      return absl::FailedPreconditionError("the stored retrieval has no query descriptors");
    }
    std::vector<float> desc;
    desc.reserve(n * dim);
    for (size_t i = 0; i < n; ++i) {
      const std::vector<float>& d = run.queries[begin + i].descriptor;
      if (d.size() != dim) return absl::FailedPreconditionError("descriptors of unequal size");
      desc.insert(desc.end(), d.begin(), d.end());
    }
    std::vector<float> probs(n * classes);
    GEOLOC_RETURN_IF_ERROR(classifier.Predict(desc.data(), static_cast<int>(n), probs.data()));
    for (size_t i = 0; i < n; ++i) {
      out.probs.emplace_back(probs.begin() + i * classes, probs.begin() + (i + 1) * classes);
    }
  }
  out.ms_per_query = run.queries.empty()
                         ? 0
                         : absl::ToDoubleMilliseconds(absl::Now() - t0) / run.queries.size();
  return out;
}

EstimatorReport Evaluate(const RetrievalRun& run, int k, const geo::EstimatorOptions& options,
                         const std::vector<double>& thresholds_km) {
  return EvaluateEstimator(run, k, options, thresholds_km, 0, nullptr);
}

EstimatorReport EvaluateFused(const RetrievalRun& run, int k, const geo::EstimatorOptions& options,
                              int max_peaks, const ClassifierOutputs& classifier,
                              const std::vector<double>& thresholds_km) {
  EstimatorReport report = EvaluateEstimator(run, k, options, thresholds_km,
                                             std::max(max_peaks, 1), &classifier);
  report.label = absl::StrCat("fused(", classifier.name, ") ", report.label);
  report.method = "fused";
  report.classifier = classifier.name;
  return report;
}

EstimatorReport EvaluateClassifier(const RetrievalRun& run, const ClassifierOutputs& classifier,
                                   const std::vector<double>& thresholds_km) {
  EstimatorReport report;
  report.label = absl::StrFormat("classifier %s (top leaf of %d)", classifier.name,
                                 classifier.cells->num_classes());
  report.method = "classifier";
  report.classifier = classifier.name;
  report.thresholds_km = thresholds_km;
  report.errors_km.assign(run.queries.size(), kNaN);
  for (size_t i = 0; i < run.queries.size(); ++i) {
    const RetrievedQuery& q = run.queries[i];
    if (!q.localizable) continue;
    const std::vector<float>& p = classifier.probs[i];
    const int top = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    report.errors_km[i] = geo::HaversineKm(classifier.cells->LeafCentre(top), q.truth);
  }
  Summarise(run, report);
  report.ms_per_query = classifier.ms_per_query;
  report.cell_metrics = ComputeCellMetrics(run, classifier);
  return report;
}

int FirstHitRank(const RetrievedQuery& query, double radius_km) {
  for (size_t i = 0; i < query.neighbors.size(); ++i) {
    if (geo::HaversineKm(query.neighbors[i].pos, query.truth) <= radius_km) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

std::vector<double> RecallAtN(const RetrievalRun& run, const std::vector<int>& ns,
                              double radius_km) {
  std::vector<std::vector<geo::LatLon>> ranked;
  std::vector<geo::LatLon> truths;
  for (const RetrievedQuery& q : run.queries) {
    if (!q.localizable) continue;
    std::vector<geo::LatLon> positions;
    for (const Hit& h : q.neighbors) positions.push_back(h.pos);
    ranked.push_back(std::move(positions));
    truths.push_back(q.truth);
  }
  return geo::RecallAtN(ranked, truths, ns, radius_km);
}

DistractorSeparation SeparateDistractors(const RetrievalRun& run) {
  std::vector<double> good, bad;
  for (const RetrievedQuery& q : run.queries) {
    if (q.neighbors.empty()) continue;
    const double s = q.neighbors.front().score;
    const double top = run.score_kind == geo::ScoreKind::kSimilarity ? s : -s;
    (q.localizable ? good : bad).push_back(top);
  }
  DistractorSeparation d;
  d.distractors = static_cast<int64_t>(bad.size());
  d.median_top1_localizable = MedianOrNaN(good);
  d.median_top1_distractor = MedianOrNaN(bad);
  if (good.empty() || bad.empty()) {
    d.auroc = kNaN;
    return d;
  }
  // Mann-Whitney U by sorting: for each localizable score, the distractors below it (ties half).
  std::sort(bad.begin(), bad.end());
  double wins = 0;
  for (double g : good) {
    const auto lo = std::lower_bound(bad.begin(), bad.end(), g);
    const auto hi = std::upper_bound(bad.begin(), bad.end(), g);
    wins += static_cast<double>(lo - bad.begin()) + 0.5 * static_cast<double>(hi - lo);
  }
  d.auroc = wins / (static_cast<double>(good.size()) * static_cast<double>(bad.size()));
  return d;
}

RetrievalStats ComputeRetrievalStats(const RetrievalRun& run, int k) {
  RetrievalStats s;
  s.k = k;
  std::vector<double> top1, kth, ratio;
  int64_t n = 0, top1_near = 0, any_near = 0, near_100m = 0, near_1km = 0, near_25km = 0;
  for (const RetrievedQuery& q : run.queries) {
    if (!q.localizable || q.neighbors.empty()) continue;
    ++n;
    const size_t last = std::min<size_t>(k, q.neighbors.size()) - 1;
    top1.push_back(q.neighbors.front().score);
    kth.push_back(q.neighbors[last].score);
    if (run.score_kind == geo::ScoreKind::kSimilarity) {
      ratio.push_back(std::pow((q.neighbors.front().score + 1) / (q.neighbors[last].score + 1), 5));
    }
    int within_100m = 0;
    for (size_t i = 0; i <= last; ++i) {
      const double d = geo::HaversineKm(q.neighbors[i].pos, q.truth);
      within_100m += d <= 0.1;
      near_1km += d <= 1;
      near_25km += d <= 25;
      if (i == 0) top1_near += d <= 0.1;
    }
    near_100m += within_100m;
    any_near += within_100m > 0;
  }
  if (n == 0) return s;
  s.median_top1_score = MedianOrNaN(top1);
  s.median_kth_score = MedianOrNaN(kth);
  s.median_weight_ratio = Median(ratio);
  s.top1_within_100m = static_cast<double>(top1_near) / n;
  s.any_within_100m = static_cast<double>(any_near) / n;
  s.mean_within_100m = static_cast<double>(near_100m) / n;
  s.mean_within_1km = static_cast<double>(near_1km) / n;
  s.mean_within_25km = static_cast<double>(near_25km) / n;
  return s;
}

std::vector<std::pair<int, geo::EstimatorOptions>> TuneConfigurations(const TuneGrid& grid) {
  std::vector<std::pair<int, geo::EstimatorOptions>> configs;
  for (geo::EstimatorKind kind : grid.estimators) {
    geo::EstimatorOptions o;
    o.kind = kind;
    switch (kind) {
      case geo::EstimatorKind::kNearest:
        configs.push_back({1, o});
        break;
      case geo::EstimatorKind::kMean:
        for (int k : grid.k) configs.push_back({k, o});
        break;
      case geo::EstimatorKind::kWeightedMean:
        for (int k : grid.k) {
          for (double m : grid.m) {
            o.weight_exponent_m = m;
            configs.push_back({k, o});
          }
        }
        break;
      case geo::EstimatorKind::kGridKde:
        for (int k : grid.k) {
          for (double m : grid.m) {
            for (double sigma : grid.sigma_deg) {
              o.weight_exponent_m = m;
              o.sigma_deg = sigma;
              configs.push_back({k, o});
            }
          }
        }
        break;
      case geo::EstimatorKind::kSphericalKde:
        for (int k : grid.k) {
          for (double m : grid.m) {
            for (double h : grid.bandwidth_km) {
              o.weight_exponent_m = m;
              o.bandwidth_km = h;
              configs.push_back({k, o});
            }
          }
        }
        break;
    }
  }
  return configs;
}

std::vector<TuneBest> Tune(const RetrievalRun& run, const TuneGrid& grid,
                           const std::vector<double>& thresholds_km, bool show_progress,
                           int threads) {
  const std::vector<std::pair<int, geo::EstimatorOptions>> configs = TuneConfigurations(grid);
  std::vector<EstimatorReport> reports(configs.size());
  std::optional<ProgressReporter> progress;
  if (show_progress) progress.emplace("tune", static_cast<int64_t>(configs.size()), "configs");
  const int workers = threads > 0
                          ? threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<ThreadPool> pool;
  if (workers > 1) pool = std::make_unique<ThreadPool>(workers - 1);
  ParallelFor(pool.get(), static_cast<int64_t>(configs.size()), [&](int64_t i) {
    reports[i] = Evaluate(run, configs[i].first, configs[i].second, thresholds_km);
    reports[i].errors_km.clear();  // not kept: 576 configurations x queries
    if (progress) progress->Add(1);
  });
  if (progress) progress->Finish();
  std::vector<TuneBest> best(thresholds_km.size());
  for (size_t t = 0; t < thresholds_km.size(); ++t) {
    best[t].threshold_km = thresholds_km[t];
    best[t].best.resize(grid.estimators.size());
    for (size_t e = 0; e < grid.estimators.size(); ++e) {
      EstimatorReport* slot = nullptr;
      for (size_t i = 0; i < configs.size(); ++i) {
        if (configs[i].second.kind != grid.estimators[e]) continue;
        // Grid order is the order of `configs`; a later configuration wins only when better.
        if (slot == nullptr || reports[i].accuracy[t] > slot->accuracy[t]) slot = &reports[i];
      }
      if (slot != nullptr) best[t].best[e] = *slot;
    }
  }
  return best;
}

std::string ThresholdName(double km) {
  return km < 1 ? absl::StrFormat("%gm", km * 1000) : absl::StrFormat("%gkm", km);
}

}  // namespace geoloc::eval
