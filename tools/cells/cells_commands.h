// The commands of geoloc-cells (docs/CLASSIFIER.md), callable in-process: each takes its options,
// writes its report to `out` and returns a status (progress goes to stderr).
//
//   GenerateCommandOptions gen;  gen.bundle = "bundles/world";  gen.cells.t_max = 40;
//   GEOLOC_RETURN_IF_ERROR(RunGenerate(gen, std::cout));
//   TrainCommandOptions train;  train.bundle = "bundles/world";  train.variants = AllVariants();
//   GEOLOC_ASSIGN_OR_RETURN(TrainReport report, RunTrain(train, std::cout));
//
// generate: what happens to the bundle's extras (the head is only valid for the cells it was
// trained on; its geoloc_head.json records their SHA-256):
//   | bundle has                          | without --force               | with --force          |
//   | no "cells"                          | cells added                   | cells added           |
//   | "cells" with identical bytes        | nothing changes (head kept)   | nothing changes       |
//   | other "cells", no "head"            | cells replaced                | cells replaced        |
//   | other "cells" and a "head"          | FAILED_PRECONDITION, nothing  | head removed, then    |
//   |                                     | changes                       | cells replaced        |
// Each change rewrites manifest.json atomically (checksums, digest and version updated); the head
// is removed before the cells change, so no manifest ever pairs a head with cells it was not
// trained on.
//
// train: the head is added as extra "head" (head.pt) only when the bundle's cells.json is still
// the one it was trained on when training ends (else ABORTED, nothing changes).
//
// Not thread-safe against other processes editing the same bundle (see bundle_extras.h).
#ifndef GEOLOC_TOOLS_CELLS_CELLS_COMMANDS_H_
#define GEOLOC_TOOLS_CELLS_CELLS_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/cells/adaptive_cell_options.h"
#include "core/model/cell_classifier.h"
#include "core/model/cell_head_info.h"
#include "tools/cells/cell_geojson.h"

namespace geoloc::cells_cli {

struct GenerateCommandOptions {
  std::string bundle;  // store the hierarchy in this bundle as extra "cells"
  std::string csv;     // coordinates from this CSV (lat, lon columns) instead of the bundle's rows
  std::string out;     // also (or, without a bundle, only) write cells.json here
  cells::AdaptiveCellOptions cells;
  bool force = false;  // replace cells a head depends on (the head is removed; see the table)
};
absl::Status RunGenerate(const GenerateCommandOptions& options, std::ostream& out);

struct ExportGeoJsonCommandOptions {
  std::string bundle;      // the bundle's cells.json (its SHA-256 checked against the manifest)
  std::string cells_path;  // or a cells.json file
  std::string out;         // the .geojson to write (atomically)
  CellGeoJsonOptions geojson;
};
absl::Status RunExportGeoJson(const ExportGeoJsonCommandOptions& options, std::ostream& out);

struct TrainCommandOptions {
  std::string bundle;
  // Variants to train; with more than one, the one with the lowest validation loss is saved.
  std::vector<model::CellHeadVariant> variants = {model::CellHeadVariant::kHmc};
  int hidden = 512;
  int epochs = 200;
  double learning_rate = 1e-3;
  int batch_size = 256;
  int patience = 10;
  double val_fraction = 0.2;
  uint64_t seed = 0;  // initialisation, batch order and the group split
  double alpha = 0.9;
  float epsilon = 0.01f;
  int threads = 0;  // LibTorch intra-op threads (0: LibTorch's default)
  bool show_progress = true;
  bool print_epochs = true;  // one line per epoch on `out`
};

std::vector<model::CellHeadVariant> AllVariants();

struct TrainedVariant {
  model::CellHeadVariant variant = model::CellHeadVariant::kHmc;
  model::CellTrainResult training;
  model::CellEvaluation validation;  // of the restored best epoch
};

struct TrainReport {
  std::vector<TrainedVariant> variants;  // in the order trained
  int saved = 0;                         // index into variants of the head stored in the bundle
  int64_t rows = 0;
  int64_t excluded_rows = 0;
  int64_t train_rows = 0;
  int64_t val_rows = 0;
  int num_classes = 0;
  std::string bundle_version;  // after the head was added
};
absl::StatusOr<TrainReport> RunTrain(const TrainCommandOptions& options, std::ostream& out);

}  // namespace geoloc::cells_cli

#endif  // GEOLOC_TOOLS_CELLS_CELLS_COMMANDS_H_
