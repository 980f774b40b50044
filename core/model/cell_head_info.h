// geoloc_head.json: what a cell classifier head's outputs mean and what it was trained on
// (docs/CLASSIFIER.md "Head file"). A server that serves a bundle's "head" extra parses it from
// DescriptorHead::metadata() and checks it against the bundle's cells and the served model before
// it trusts output k to be the probability of leaf cell leaf_tokens[k].
//
//   GEOLOC_ASSIGN_OR_RETURN(CellHeadInfo info, ParseCellHeadInfo(head->metadata()));
//   GEOLOC_RETURN_IF_ERROR(CheckCellHeadInfo(info, {&cells, cells_sha256, encoder.info().fingerprint,
//                                                   encoder.info().dim, head->num_outputs()}));
//
// Plain value types and pure functions: safe from any thread. No LibTorch type appears here.
//
// CheckCellHeadInfo (the first failure is returned, FAILED_PRECONDITION naming both values):
//   | mismatch                                              | means                                 |
//   | cells_sha256 != the bundle's cells.json SHA-256       | cells were regenerated after training |
//   | num_classes != cells.num_classes() or leaf_tokens[k]  | the outputs are not these cells       |
//   |   != CellToken(cells.leaf_node(k).id) for some k      |                                       |
//   | level_sizes != LevelCells(cells) sizes (hierarchical) | another hierarchy                     |
//   | model_fingerprint != the served model's fingerprint   | descriptors from another encoder      |
//   | input_dim != descriptor_dim                           | another descriptor size               |
//   | num_classes != head_outputs                           | metadata of another archive           |
// A context field left empty / 0 skips its check (e.g. head_outputs before the archive is loaded);
// `cells` is required (INVALID_ARGUMENT when null).
#ifndef GEOLOC_CORE_MODEL_CELL_HEAD_INFO_H_
#define GEOLOC_CORE_MODEL_CELL_HEAD_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/cells/cell_hierarchy.h"

namespace geoloc::model {

inline constexpr int kCellHeadFormatVersion = 1;
inline constexpr char kCellHeadKind[] = "cell_classifier";

// How the per-level probabilities of the hierarchy are combined into leaf probabilities
// (seed 001, sections 4.1 and 4.2.2-4.2.4; formulas in cell_classifier.h).
enum class CellHeadVariant { kMc, kHmc, kHmcSol, kHmcSmooth };

// "mc", "hmc", "hmc_sol", "hmc_smooth".
absl::string_view CellHeadVariantName(CellHeadVariant variant);
// Accepts exactly the names above; INVALID_ARGUMENT naming the valid ones otherwise.
absl::StatusOr<CellHeadVariant> ParseCellHeadVariant(absl::string_view name);
// MC is flat; the others use the hierarchy's levels.
inline bool IsHierarchical(CellHeadVariant variant) { return variant != CellHeadVariant::kMc; }

struct CellHeadTrainingInfo {
  double learning_rate = 0;
  int batch_size = 0;
  int max_epochs = 0;
  int patience = 0;
  double val_fraction = 0;
  uint64_t seed = 0;
  int epochs_run = 0;
  int best_epoch = 0;
  int64_t train_rows = 0;
  int64_t val_rows = 0;
  int64_t excluded_rows = 0;
  int64_t train_groups = 0;
  int64_t val_groups = 0;
  double seconds = 0;
  std::string bundle_version;
};

struct CellHeadMetricsInfo {
  double val_loss = 0;
  double val_accuracy = 0;
  double ior = 0;
  double ece = 0;
  double val_mean_confidence = 0;
  double train_loss = 0;
};

// Mirrors cell_head_info.proto's CellHeadFile (field meanings there and in docs/CLASSIFIER.md).
struct CellHeadInfo {
  int format_version = kCellHeadFormatVersion;
  CellHeadVariant variant = CellHeadVariant::kHmc;
  int num_classes = 0;
  int input_dim = 0;
  int hidden = 0;
  std::vector<int> level_sizes;
  std::vector<std::string> leaf_tokens;
  std::string cells_sha256;
  std::string model_fingerprint;
  std::string model_name;
  double alpha = 0;
  double epsilon = 0;
  std::string shallow_leaf_fill;
  std::string created_at;
  CellHeadTrainingInfo training;
  CellHeadMetricsInfo metrics;
};

// Validates and parses. INVALID_ARGUMENT naming the field when: the JSON is malformed; kind is
// not "cell_classifier"; format_version is not 1; variant is unknown; output is not
// "probabilities"; num_classes < 1 or != leaf_tokens.size(); input_dim < 1; a hierarchical variant
// without level_sizes (or a size < 1); cells_sha256 not 64 lower-case hex digits; an empty
// model_fingerprint. Unknown fields are ignored.
absl::StatusOr<CellHeadInfo> ParseCellHeadInfo(absl::string_view json);
// Writes every field (kind and output included); ParseCellHeadInfo(ToJson(info)) == info.
absl::StatusOr<std::string> CellHeadInfoToJson(const CellHeadInfo& info);

// What a head is checked against when a bundle is loaded (see the case table above).
struct CellHeadContext {
  const cells::CellHierarchy* cells = nullptr;  // the bundle's cells.json, parsed
  std::string cells_sha256;       // the bundle manifest's sha256 of its "cells" extra
  std::string model_fingerprint;  // the served encoder's ModelInfo.fingerprint
  int descriptor_dim = 0;         // the served encoder's ModelInfo.dim
  int head_outputs = 0;           // DescriptorHead::num_outputs()
};
absl::Status CheckCellHeadInfo(const CellHeadInfo& info, const CellHeadContext& context);

// The leaf tokens in class order, as CellHeadInfo::leaf_tokens must hold them.
std::vector<std::string> LeafTokens(const cells::CellHierarchy& cells);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_CELL_HEAD_INFO_H_
