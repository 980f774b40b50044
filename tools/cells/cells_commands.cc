#include "tools/cells/cells_commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/cells/adaptive_cells.h"
#include "core/cells/cell_hierarchy.h"
#include "core/cells/cell_hierarchy_stats.h"
#include "core/common/file_util.h"
#include "core/common/logging.h"
#include "core/common/sha256.h"
#include "core/common/status_macros.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/csv.h"
#include "core/index/metadata.h"
#include "tools/cells/bundle_extras.h"
#include "tools/cells/group_split.h"

namespace geoloc::cells_cli {
namespace {

namespace fs = std::filesystem;
using model::CellHeadVariant;

// Rows per Bundle::Reconstruct call (bounds the temporary copy).
constexpr int64_t kReconstructChunk = 65536;

absl::StatusOr<std::vector<geo::LatLon>> PointsFromCsv(const std::string& path) {
  GEOLOC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  absl::StatusOr<index::CsvTable> table = index::ParseCsv(text);
  if (!table.ok()) return Annotate(table.status(), path);
  const int lat = table->Column({"lat", "latitude"});
  const int lon = table->Column({"lon", "lng", "longitude"});
  if (lat < 0 || lon < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": needs lat (or latitude) and lon (or lng, longitude) columns"));
  }
  std::vector<geo::LatLon> points;
  points.reserve(table->rows.size());
  for (const index::CsvRow& row : table->rows) {
    geo::LatLon p;
    if (!absl::SimpleAtod(row.fields[lat], &p.lat) || !absl::SimpleAtod(row.fields[lon], &p.lon)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ": bad coordinate '",
                                                     row.fields[lat], "', '", row.fields[lon],
                                                     "'"));
    }
    GEOLOC_RETURN_IF_ERROR(Annotate(geo::ValidateLatLon(p), absl::StrCat(path, ":", row.line)));
    points.push_back(p);
  }
  return points;
}

// The bundle's metadata, after checking metadata.bin against the manifest's SHA-256.
absl::StatusOr<index::MetadataTable> OpenBundleMetadata(const std::string& bundle) {
  GEOLOC_ASSIGN_OR_RETURN(index::BundleManifest manifest, index::ReadManifest(bundle));
  const std::string path = (fs::path(bundle) / manifest.metadata().file()).string();
  GEOLOC_ASSIGN_OR_RETURN(std::string sha, Sha256File(path));
  if (sha != manifest.metadata().sha256()) {
    return absl::DataLossError(absl::StrCat(path, ": SHA-256 ", sha, ", the manifest says ",
                                            manifest.metadata().sha256()));
  }
  return index::MetadataTable::Open(path);
}

// The bundle's cells.json bytes, checked against the manifest. NOT_FOUND when it has none.
absl::StatusOr<std::pair<std::string, index::ExtraEntry>> ReadBundleCells(
    const std::string& bundle) {
  GEOLOC_ASSIGN_OR_RETURN(std::optional<index::ExtraEntry> entry, FindExtra(bundle, kCellsExtra));
  if (!entry.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        bundle, " has no cells: run `geoloc-cells generate --bundle ", bundle, "` first"));
  }
  const std::string path = (fs::path(bundle) / entry->file()).string();
  GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  const std::string sha = Sha256Hex(bytes);
  if (sha != entry->sha256()) {
    return absl::DataLossError(
        absl::StrCat(path, ": SHA-256 ", sha, ", the manifest says ", entry->sha256()));
  }
  return std::make_pair(std::move(bytes), *entry);
}

std::string Rfc3339Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

void PrintVariantTable(const std::vector<TrainedVariant>& variants, int saved, int num_classes,
                       std::ostream& out) {
  out << absl::StrFormat("%-11s %8s %9s %8s %7s %7s %7s %5s %8s\n", "variant", "val_loss",
                         "accuracy", "IoR", "ECE", "conf", "epochs", "best", "time_s");
  for (size_t i = 0; i < variants.size(); ++i) {
    const TrainedVariant& v = variants[i];
    out << absl::StrFormat("%-11s %8.4f %9.4f %8.2f %7.4f %7.4f %7d %5d %8.2f%s\n",
                           model::CellHeadVariantName(v.variant), v.validation.loss,
                           v.validation.accuracy, v.validation.ior, v.validation.ece,
                           v.validation.mean_confidence, v.training.epochs_run,
                           v.training.best_epoch, v.training.seconds,
                           static_cast<int>(i) == saved ? "  <- saved" : "");
  }
  out << absl::StrFormat("(%d classes: a random guess has accuracy %.4f, IoR 1)\n", num_classes,
                         1.0 / num_classes);
}

}  // namespace

std::vector<CellHeadVariant> AllVariants() {
  return {CellHeadVariant::kMc, CellHeadVariant::kHmc, CellHeadVariant::kHmcSol,
          CellHeadVariant::kHmcSmooth};
}

absl::Status RunGenerate(const GenerateCommandOptions& options, std::ostream& out) {
  if (options.bundle.empty() && options.out.empty()) {
    return absl::InvalidArgumentError("generate: give --bundle, --out or both");
  }
  if (options.bundle.empty() && options.csv.empty()) {
    return absl::InvalidArgumentError("generate: without --bundle the coordinates come from --csv");
  }
  GEOLOC_RETURN_IF_ERROR(cells::ValidateAdaptiveCellOptions(options.cells));

  std::vector<geo::LatLon> points;
  std::string source;
  if (!options.csv.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(points, PointsFromCsv(options.csv));
    source = absl::StrCat("csv ", options.csv);
  } else {
    GEOLOC_ASSIGN_OR_RETURN(index::MetadataTable meta, OpenBundleMetadata(options.bundle));
    points.reserve(meta.size());
    for (int64_t r = 0; r < meta.size(); ++r) points.push_back({meta.lat(r), meta.lon(r)});
    source = absl::StrCat("bundle ", options.bundle, " metadata");
  }
  out << "coordinates: " << points.size() << " from " << source << "\n";

  const absl::Time start = absl::Now();
  GEOLOC_ASSIGN_OR_RETURN(cells::CellHierarchy hierarchy,
                          cells::GenerateAdaptiveCells(points, options.cells));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const cells::CellHierarchyStats stats = cells::ComputeCellHierarchyStats(hierarchy);
  out << cells::FormatCellHierarchyStats(stats) << "\n";
  out << absl::StrFormat("  images in no class (excluded from training): %d\n",
                         stats.total_points - stats.covered_points);
  out << absl::StrFormat("  generated in %.3f s\n", seconds);

  GEOLOC_ASSIGN_OR_RETURN(std::string json, hierarchy.ToJson());
  if (!options.out.empty()) {
    GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(options.out, json));
    out << "wrote " << options.out << "\n";
  }
  if (options.bundle.empty()) return absl::OkStatus();

  GEOLOC_ASSIGN_OR_RETURN(std::optional<index::ExtraEntry> cells_entry,
                          FindExtra(options.bundle, kCellsExtra));
  GEOLOC_ASSIGN_OR_RETURN(std::optional<index::ExtraEntry> head_entry,
                          FindExtra(options.bundle, kHeadExtra));
  const std::string sha = Sha256Hex(json);
  if (cells_entry.has_value() && cells_entry->sha256() == sha) {
    out << options.bundle << ": cells unchanged (same cells.json), bundle not modified"
        << (head_entry.has_value() ? "; its head stays valid" : "") << "\n";
    return absl::OkStatus();
  }
  if (cells_entry.has_value() && head_entry.has_value()) {
    if (!options.force) {
      return absl::FailedPreconditionError(absl::StrCat(
          options.bundle, " has a cell classifier head trained on its current cells; new cells "
                          "would make it stale. Nothing was changed. Pass --force to replace the "
                          "cells and remove the head, then retrain it with `geoloc-cells train`."));
    }
    GEOLOC_RETURN_IF_ERROR(RemoveBundleExtra(options.bundle, kHeadExtra));
    out << options.bundle << ": removed the head (" << head_entry->file()
        << ") trained on the replaced cells; retrain it with `geoloc-cells train`\n";
  }
  GEOLOC_ASSIGN_OR_RETURN(index::BundleManifest manifest,
                          AddBundleExtraBytes(options.bundle, kCellsExtra, kCellsFile, json));
  out << options.bundle << ": " << (cells_entry.has_value() ? "replaced" : "added") << " "
      << kCellsFile << " (sha256 " << sha << "), bundle version " << manifest.version() << "\n";
  return absl::OkStatus();
}

absl::Status RunExportGeoJson(const ExportGeoJsonCommandOptions& options, std::ostream& out) {
  if (options.bundle.empty() == options.cells_path.empty()) {
    return absl::InvalidArgumentError("export-geojson: give exactly one of --bundle or --cells");
  }
  if (options.out.empty()) return absl::InvalidArgumentError("export-geojson: --out is required");
  std::string json;
  std::string from;
  if (!options.bundle.empty()) {
    GEOLOC_ASSIGN_OR_RETURN(auto cells_file, ReadBundleCells(options.bundle));
    json = std::move(cells_file.first);
    from = absl::StrCat(options.bundle, "/", cells_file.second.file());
  } else {
    GEOLOC_ASSIGN_OR_RETURN(json, ReadFileToString(options.cells_path));
    from = options.cells_path;
  }
  absl::StatusOr<cells::CellHierarchy> hierarchy = cells::CellHierarchy::FromJson(json);
  if (!hierarchy.ok()) return Annotate(hierarchy.status(), from);
  GEOLOC_ASSIGN_OR_RETURN(std::string geojson, CellsToGeoJson(*hierarchy, options.geojson));
  GEOLOC_RETURN_IF_ERROR(WriteFileAtomically(options.out, geojson));
  const int features = options.geojson.leaves_only ? hierarchy->num_classes()
                                                   : hierarchy->num_nodes();
  out << "wrote " << features << " cells of " << from << " to " << options.out << "\n";
  return absl::OkStatus();
}

absl::StatusOr<TrainReport> RunTrain(const TrainCommandOptions& options, std::ostream& out) {
  if (options.bundle.empty()) return absl::InvalidArgumentError("train: --bundle is required");
  if (options.variants.empty()) return absl::InvalidArgumentError("train: no variant to train");

  GEOLOC_ASSIGN_OR_RETURN(std::shared_ptr<const index::Bundle> bundle,
                          index::Bundle::Load(options.bundle));
  GEOLOC_ASSIGN_OR_RETURN(auto cells_file, ReadBundleCells(options.bundle));
  const std::string cells_sha = cells_file.second.sha256();
  absl::StatusOr<cells::CellHierarchy> loaded = cells::CellHierarchy::FromJson(cells_file.first);
  if (!loaded.ok()) return Annotate(loaded.status(), options.bundle + "/" + kCellsFile);
  const cells::CellHierarchy& hierarchy = *loaded;
  const index::IndexParams& params = bundle->manifest().index();
  if (params.type() == "ivf_pq" && (params.refine().empty() || params.refine() == "none")) {
    GEOLOC_LOG(WARNING) << options.bundle
                        << " is IVF-PQ without a re-ranking store: training on the quantized "
                           "approximations of the descriptors, not the encoder's exact output";
  }

  // Labels: the leaf class of each row's coordinate; rows in no kept leaf are excluded.
  const index::MetadataTable& meta = bundle->metadata();
  TrainReport report;
  report.rows = meta.size();
  report.num_classes = hierarchy.num_classes();
  std::vector<int64_t> labeled_rows;
  std::vector<int> labels;
  std::vector<std::string> groups;
  for (int64_t r = 0; r < meta.size(); ++r) {
    const int label = hierarchy.LeafClassOf({meta.lat(r), meta.lon(r)});
    if (label < 0) {
      ++report.excluded_rows;
      continue;
    }
    labeled_rows.push_back(r);
    labels.push_back(label);
    groups.emplace_back(meta.group(r));
  }
  GEOLOC_ASSIGN_OR_RETURN(GroupSplit split,
                          SplitRowsByGroup(groups, options.val_fraction, options.seed));
  report.train_rows = static_cast<int64_t>(split.train_rows.size());
  report.val_rows = static_cast<int64_t>(split.val_rows.size());

  // Descriptors of the labelled rows, gathered into the two sides.
  const int64_t dim = bundle->dim();
  std::vector<float> x_train(report.train_rows * dim), x_val(report.val_rows * dim);
  std::vector<int> y_train(report.train_rows), y_val(report.val_rows);
  std::vector<char> is_val(labeled_rows.size(), 0);
  for (int64_t i : split.val_rows) is_val[i] = 1;
  {
    int64_t t = 0, v = 0;
    for (size_t s = 0; s < labeled_rows.size(); s += kReconstructChunk) {
      const size_t len = std::min<size_t>(kReconstructChunk, labeled_rows.size() - s);
      GEOLOC_ASSIGN_OR_RETURN(std::vector<float> desc,
                              bundle->Reconstruct(absl::MakeConstSpan(&labeled_rows[s], len)));
      for (size_t j = 0; j < len; ++j) {
        const size_t i = s + j;
        float* dst = is_val[i] ? &x_val[v * dim] : &x_train[t * dim];
        std::copy(desc.begin() + j * dim, desc.begin() + (j + 1) * dim, dst);
        if (is_val[i]) {
          y_val[v++] = labels[i];
        } else {
          y_train[t++] = labels[i];
        }
      }
    }
  }
  std::vector<char> class_trained(hierarchy.num_classes(), 0);
  for (int y : y_train) class_trained[y] = 1;
  const int untrained = static_cast<int>(
      std::count(class_trained.begin(), class_trained.end(), static_cast<char>(0)));
  out << absl::StrFormat(
      "data: %d rows, %d in no kept leaf (excluded); %d classes; train %d rows in %d groups, "
      "validation %d rows in %d groups (split by group, seed %d)\n",
      report.rows, report.excluded_rows, report.num_classes, report.train_rows,
      split.train_groups, report.val_rows, split.val_groups, options.seed);
  if (untrained > 0) {
    out << "warning: " << untrained << " classes have no training rows (all their groups fell "
        << "into validation); the head can never predict them\n";
  }
  const model::CellExamples train{x_train, y_train};
  const model::CellExamples val{x_val, y_val};

  std::unique_ptr<model::CellClassifier> best;
  for (CellHeadVariant variant : options.variants) {
    const std::string name(model::CellHeadVariantName(variant));
    model::CellClassifierOptions copts;
    copts.variant = variant;
    copts.hidden = options.hidden;
    copts.epsilon = options.epsilon;
    copts.alpha = options.alpha;
    copts.seed = options.seed;
    GEOLOC_ASSIGN_OR_RETURN(std::unique_ptr<model::CellClassifier> head,
                            model::CellClassifier::Create(hierarchy, static_cast<int>(dim), copts));
    model::CellTrainOptions topts;
    topts.max_epochs = options.epochs;
    topts.learning_rate = options.learning_rate;
    topts.batch_size = options.batch_size;
    topts.patience = options.patience;
    topts.seed = options.seed;
    topts.intra_op_threads = options.threads;
    topts.show_progress = options.show_progress;
    topts.progress_label = absl::StrCat("train ", name);
    if (options.print_epochs) {
      topts.on_epoch = [&out, &name, &options](const model::CellEpochStats& s) {
        out << absl::StrFormat("%s epoch %d/%d: train_loss %.4f val_loss %.4f val_acc %.4f %.2fs%s\n",
                               name, s.epoch, options.epochs, s.train_loss, s.val_loss,
                               s.val_accuracy, s.seconds, s.improved ? " *" : "");
      };
    }
    TrainedVariant trained;
    trained.variant = variant;
    GEOLOC_ASSIGN_OR_RETURN(trained.training, head->Train(train, val, topts));
    GEOLOC_ASSIGN_OR_RETURN(trained.validation, head->Evaluate(val));
    out << absl::StrFormat(
        "%s: best epoch %d of %d%s: val_loss %.4f accuracy %.4f IoR %.2f ECE %.4f, %.2f s\n",
        name, trained.training.best_epoch, trained.training.epochs_run,
        trained.training.stopped_early ? " (early stop)" : "", trained.validation.loss,
        trained.validation.accuracy, trained.validation.ior, trained.validation.ece,
        trained.training.seconds);
    report.variants.push_back(trained);
    if (best == nullptr ||
        trained.validation.loss < report.variants[report.saved].validation.loss) {
      report.saved = static_cast<int>(report.variants.size()) - 1;
      best = std::move(head);
    }
  }
  PrintVariantTable(report.variants, report.saved, report.num_classes, out);

  const TrainedVariant& kept = report.variants[report.saved];
  model::CellHeadInfo info;
  info.variant = kept.variant;
  info.num_classes = hierarchy.num_classes();
  info.input_dim = static_cast<int>(dim);
  info.hidden = options.hidden;
  info.level_sizes = best->level_sizes();
  info.leaf_tokens = model::LeafTokens(hierarchy);
  info.cells_sha256 = cells_sha;
  info.model_fingerprint = bundle->manifest().model().fingerprint();
  info.model_name = bundle->manifest().model().name();
  if (model::IsHierarchical(kept.variant)) info.epsilon = options.epsilon;
  if (kept.variant == CellHeadVariant::kHmcSmooth) info.alpha = options.alpha;
  info.shallow_leaf_fill = !model::IsHierarchical(kept.variant)           ? ""
                           : kept.variant == CellHeadVariant::kHmcSmooth ? "zero"
                                                                          : "one";
  info.created_at = Rfc3339Now();
  info.training.learning_rate = options.learning_rate;
  info.training.batch_size = options.batch_size;
  info.training.max_epochs = options.epochs;
  info.training.patience = options.patience;
  info.training.val_fraction = options.val_fraction;
  info.training.seed = options.seed;
  info.training.epochs_run = kept.training.epochs_run;
  info.training.best_epoch = kept.training.best_epoch;
  info.training.train_rows = report.train_rows;
  info.training.val_rows = report.val_rows;
  info.training.excluded_rows = report.excluded_rows;
  info.training.train_groups = split.train_groups;
  info.training.val_groups = split.val_groups;
  info.training.seconds = kept.training.seconds;
  info.training.bundle_version = bundle->version();
  info.metrics.val_loss = kept.validation.loss;
  info.metrics.val_accuracy = kept.validation.accuracy;
  info.metrics.ior = kept.validation.ior;
  info.metrics.ece = kept.validation.ece;
  info.metrics.val_mean_confidence = kept.validation.mean_confidence;
  info.metrics.train_loss = kept.training.best_train_loss;
  GEOLOC_ASSIGN_OR_RETURN(std::string metadata, model::CellHeadInfoToJson(info));

  GEOLOC_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  const std::string path = (fs::path(dir.path()) / kHeadFile).string();
  GEOLOC_RETURN_IF_ERROR(best->Save(path, metadata));
  // The head is only valid for the cells it was trained on: refuse if they changed meanwhile.
  GEOLOC_ASSIGN_OR_RETURN(std::optional<index::ExtraEntry> now,
                          FindExtra(options.bundle, kCellsExtra));
  if (!now.has_value() || now->sha256() != cells_sha) {
    return absl::AbortedError(absl::StrCat(options.bundle,
                                           "'s cells changed while training; the head was not "
                                           "saved (train again)"));
  }
  GEOLOC_ASSIGN_OR_RETURN(index::BundleManifest manifest,
                          index::AddBundleExtra(options.bundle, {kHeadExtra, path}));
  report.bundle_version = manifest.version();
  out << options.bundle << ": saved the " << model::CellHeadVariantName(kept.variant)
      << " head as " << kHeadFile << ", bundle version " << manifest.version() << "\n";
  return report;
}

}  // namespace geoloc::cells_cli
