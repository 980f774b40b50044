// geoloc-cells: adaptive S2 cells and the hierarchical cell classifier for an index bundle
// (docs/CLASSIFIER.md).
//
//   geoloc-cells generate --bundle B [--csv F] [--out cells.json] [--lvl_start 2] [--lvl_end 15]
//       [--t_min 50] [--t_max 1000] [--force]
//   geoloc-cells export-geojson (--bundle B | --cells cells.json) --out F.geojson
//       [--points_per_edge 8] [--leaves_only]
//   geoloc-cells train --bundle B [--variant mc|hmc|hmc_sol|hmc_smooth|all] [--hidden 512]
//       [--epochs 200] [--lr 1e-3] [--batch 256] [--patience 10] [--val_fraction 0.2] [--seed 0]
//       [--alpha 0.9] [--epsilon 0.01] [--threads 0]
//
// Exit status: 0 success; 1 the command failed (bad data or option values, I/O, a refused
// replacement); 2 usage error (unknown command, missing or conflicting flags).
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/common/command_line.h"
#include "core/common/logging.h"
#include "core/model/cell_head_info.h"
#include "tools/cells/cells_commands.h"

ABSL_FLAG(std::string, bundle, "", "the index bundle directory");
ABSL_FLAG(std::string, csv, "", "generate: coordinates from this CSV (lat, lon columns)");
ABSL_FLAG(std::string, out, "",
          "generate: also write cells.json here; export-geojson: the .geojson to write");
ABSL_FLAG(int32_t, lvl_start, 2, "generate: S2 level of the roots");
ABSL_FLAG(int32_t, lvl_end, 15, "generate: deepest S2 level a split may create");
ABSL_FLAG(int64_t, t_min, 50, "generate: cells with fewer images are dropped");
ABSL_FLAG(int64_t, t_max, 1000, "generate: cells with more images are split");
ABSL_FLAG(bool, force, false,
          "generate: replace cells even though the bundle's head was trained on them (the head "
          "is removed)");
ABSL_FLAG(std::string, cells, "", "export-geojson: a cells.json file instead of --bundle");
ABSL_FLAG(int32_t, points_per_edge, 8, "export-geojson: points per cell edge (1..64)");
ABSL_FLAG(bool, leaves_only, false, "export-geojson: only the leaf cells (the classes)");
ABSL_FLAG(std::string, variant, "hmc", "train: mc, hmc, hmc_sol, hmc_smooth or all");
ABSL_FLAG(int32_t, hidden, 512, "train: width of the shared dense layer");
ABSL_FLAG(int32_t, epochs, 200, "train: maximum epochs");
ABSL_FLAG(double, lr, 1e-3, "train: Adam learning rate");
ABSL_FLAG(int32_t, batch, 256, "train: minibatch size");
ABSL_FLAG(int32_t, patience, 10, "train: stop after this many epochs without a better val loss");
ABSL_FLAG(double, val_fraction, 0.2, "train: share of rows (whole groups) held out");
ABSL_FLAG(uint64_t, seed, 0, "train: initialisation, batch order and group split");
ABSL_FLAG(double, alpha, 0.9, "train: HMC-smooth's smoothing factor");
ABSL_FLAG(double, epsilon, 0.01, "train: off-branch weight of the level matrices");
ABSL_FLAG(int32_t, threads, 0, "train: LibTorch intra-op threads (0: LibTorch's default)");
ABSL_FLAG(bool, progress, true, "train: progress with rate and ETA on stderr");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace geoloc::cells_cli {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Fail(const char* command, const absl::Status& status) {
  std::cerr << "geoloc-cells: " << command << ": " << status << "\n";
  return kExitFailure;
}

int Usage(const std::string& message) {
  std::cerr << "geoloc-cells: " << message << "\n"
            << "run 'geoloc-cells --help' for the commands and flags\n";
  return kExitUsage;
}

int Generate() {
  GenerateCommandOptions options;
  options.bundle = absl::GetFlag(FLAGS_bundle);
  options.csv = absl::GetFlag(FLAGS_csv);
  options.out = absl::GetFlag(FLAGS_out);
  options.cells.lvl_start = absl::GetFlag(FLAGS_lvl_start);
  options.cells.lvl_end = absl::GetFlag(FLAGS_lvl_end);
  options.cells.t_min = absl::GetFlag(FLAGS_t_min);
  options.cells.t_max = absl::GetFlag(FLAGS_t_max);
  options.force = absl::GetFlag(FLAGS_force);
  if (options.bundle.empty() && options.out.empty()) {
    return Usage("generate: give --bundle, --out or both");
  }
  if (options.bundle.empty() && options.csv.empty()) {
    return Usage("generate: without --bundle the coordinates come from --csv");
  }
  const absl::Status status = RunGenerate(options, std::cout);
  return status.ok() ? 0 : Fail("generate", status);
}

int ExportGeoJson() {
  ExportGeoJsonCommandOptions options;
  options.bundle = absl::GetFlag(FLAGS_bundle);
  options.cells_path = absl::GetFlag(FLAGS_cells);
  options.out = absl::GetFlag(FLAGS_out);
  options.geojson.points_per_edge = absl::GetFlag(FLAGS_points_per_edge);
  options.geojson.leaves_only = absl::GetFlag(FLAGS_leaves_only);
  if (options.bundle.empty() == options.cells_path.empty()) {
    return Usage("export-geojson: give exactly one of --bundle or --cells");
  }
  if (options.out.empty()) return Usage("export-geojson: --out is required");
  const absl::Status status = RunExportGeoJson(options, std::cout);
  return status.ok() ? 0 : Fail("export-geojson", status);
}

int Train() {
  TrainCommandOptions options;
  options.bundle = absl::GetFlag(FLAGS_bundle);
  if (options.bundle.empty()) return Usage("train: --bundle is required");
  const std::string variant = absl::GetFlag(FLAGS_variant);
  if (variant == "all") {
    options.variants = AllVariants();
  } else {
    absl::StatusOr<model::CellHeadVariant> v = model::ParseCellHeadVariant(variant);
    if (!v.ok()) return Usage(absl::StrCat("--variant: ", v.status().message(), " or all"));
    options.variants = {*v};
  }
  options.hidden = absl::GetFlag(FLAGS_hidden);
  options.epochs = absl::GetFlag(FLAGS_epochs);
  options.learning_rate = absl::GetFlag(FLAGS_lr);
  options.batch_size = absl::GetFlag(FLAGS_batch);
  options.patience = absl::GetFlag(FLAGS_patience);
  options.val_fraction = absl::GetFlag(FLAGS_val_fraction);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.alpha = absl::GetFlag(FLAGS_alpha);
  options.epsilon = static_cast<float>(absl::GetFlag(FLAGS_epsilon));
  options.threads = absl::GetFlag(FLAGS_threads);
  options.show_progress = absl::GetFlag(FLAGS_progress);
  const absl::StatusOr<TrainReport> report = RunTrain(options, std::cout);
  return report.ok() ? 0 : Fail("train", report.status());
}

int Main(int argc, char** argv) {
  std::vector<char*> args = ParseCommandLineOrExit(
      argc, argv, "geoloc-cells",
      "adaptive S2 cells and the hierarchical cell classifier of an index bundle "
      "(docs/CLASSIFIER.md).\n"
      "  geoloc-cells generate --bundle=B [--csv=F] [--out=cells.json] [--lvl_start=2] "
      "[--lvl_end=15] [--t_min=50] [--t_max=1000] [--force]\n"
      "  geoloc-cells export-geojson (--bundle=B | --cells=cells.json) --out=F.geojson "
      "[--points_per_edge=8] [--leaves_only]\n"
      "  geoloc-cells train --bundle=B [--variant=mc|hmc|hmc_sol|hmc_smooth|all] [--hidden=512] "
      "[--epochs=200] [--lr=1e-3] [--batch=256] [--patience=10] [--val_fraction=0.2] [--seed=0] "
      "[--alpha=0.9] [--epsilon=0.01] [--threads=0]");
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Usage(std::string(level.status().message()));
  SetMinLogLevel(*level);
  if (args.size() != 2) {
    return Usage(args.size() < 2 ? "no command (generate, export-geojson or train)"
                                 : "commands take flags only, no positional arguments");
  }
  const std::string command = args[1];
  if (command == "generate") return Generate();
  if (command == "export-geojson") return ExportGeoJson();
  if (command == "train") return Train();
  return Usage(absl::StrCat("unknown command '", command, "'"));
}

}  // namespace
}  // namespace geoloc::cells_cli

int main(int argc, char** argv) { return geoloc::cells_cli::Main(argc, argv); }
