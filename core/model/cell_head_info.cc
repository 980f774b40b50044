#include "core/model/cell_head_info.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/cells/level_matrices.h"
#include "core/cells/s2_cells.h"
#include "core/common/json_proto.h"
#include "core/common/status_macros.h"
#include "core/model/cell_head_info.pb.h"

namespace geoloc::model {
namespace {

constexpr char kOutputProbabilities[] = "probabilities";

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("geoloc_head.json: ", message));
}

absl::Status Mismatch(absl::string_view what, absl::string_view head, absl::string_view served) {
  return absl::FailedPreconditionError(absl::StrCat("cell classifier head: ", what, ": head has ",
                                                    head, ", bundle/model has ", served));
}

bool IsLowerHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

absl::string_view CellHeadVariantName(CellHeadVariant variant) {
  switch (variant) {
    case CellHeadVariant::kMc:
      return "mc";
    case CellHeadVariant::kHmc:
      return "hmc";
    case CellHeadVariant::kHmcSol:
      return "hmc_sol";
    case CellHeadVariant::kHmcSmooth:
      return "hmc_smooth";
  }
  return "unknown";
}

absl::StatusOr<CellHeadVariant> ParseCellHeadVariant(absl::string_view name) {
  for (CellHeadVariant v : {CellHeadVariant::kMc, CellHeadVariant::kHmc, CellHeadVariant::kHmcSol,
                            CellHeadVariant::kHmcSmooth}) {
    if (name == CellHeadVariantName(v)) return v;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown cell classifier variant '", name, "' (valid: mc, hmc, hmc_sol, hmc_smooth)"));
}

std::vector<std::string> LeafTokens(const cells::CellHierarchy& cells) {
  std::vector<std::string> tokens;
  tokens.reserve(cells.num_classes());
  for (int k = 0; k < cells.num_classes(); ++k) {
    tokens.push_back(cells::CellToken(cells.leaf_node(k).id));
  }
  return tokens;
}

absl::StatusOr<CellHeadInfo> ParseCellHeadInfo(absl::string_view json) {
  CellHeadFile file;
  absl::Status parsed = ParseJsonProto(json, &file);
  if (!parsed.ok()) return Invalid(parsed.message());
  if (file.kind() != kCellHeadKind) {
    return Invalid(absl::StrCat("kind is '", file.kind(), "', expected '", kCellHeadKind, "'"));
  }
  if (file.format_version() != kCellHeadFormatVersion) {
    return Invalid(absl::StrCat("format_version ", file.format_version(), " is not supported (",
                                kCellHeadFormatVersion, ")"));
  }
  CellHeadInfo info;
  info.format_version = file.format_version();
  absl::StatusOr<CellHeadVariant> variant = ParseCellHeadVariant(file.variant());
  if (!variant.ok()) return Invalid(variant.status().message());
  info.variant = *variant;
  if (file.output() != kOutputProbabilities) {
    return Invalid(absl::StrCat("output is '", file.output(), "', expected '",
                                kOutputProbabilities, "'"));
  }
  info.num_classes = file.num_classes();
  if (info.num_classes < 1) return Invalid(absl::StrCat("num_classes ", info.num_classes, " < 1"));
  if (file.leaf_tokens_size() != info.num_classes) {
    return Invalid(absl::StrCat("leaf_tokens has ", file.leaf_tokens_size(),
                                " entries, num_classes is ", info.num_classes));
  }
  info.leaf_tokens.assign(file.leaf_tokens().begin(), file.leaf_tokens().end());
  info.input_dim = file.input_dim();
  if (info.input_dim < 1) return Invalid(absl::StrCat("input_dim ", info.input_dim, " < 1"));
  info.hidden = file.hidden();
  info.level_sizes.assign(file.level_sizes().begin(), file.level_sizes().end());
  if (IsHierarchical(info.variant)) {
    if (info.level_sizes.empty()) {
      return Invalid(absl::StrCat("variant ", file.variant(), " needs level_sizes"));
    }
    for (int n : info.level_sizes) {
      if (n < 1) return Invalid(absl::StrCat("level_sizes holds ", n, " < 1"));
    }
  }
  info.cells_sha256 = file.cells_sha256();
  if (!IsLowerHex64(info.cells_sha256)) {
    return Invalid(absl::StrCat("cells_sha256 '", info.cells_sha256,
                                "' is not 64 lower-case hex digits"));
  }
  info.model_fingerprint = file.model_fingerprint();
  if (info.model_fingerprint.empty()) return Invalid("model_fingerprint is empty");
  info.model_name = file.model_name();
  info.alpha = file.alpha();
  info.epsilon = file.epsilon();
  info.shallow_leaf_fill = file.shallow_leaf_fill();
  info.created_at = file.created_at();
  const CellHeadTraining& t = file.training();
  info.training.learning_rate = t.learning_rate();
  info.training.batch_size = t.batch_size();
  info.training.max_epochs = t.max_epochs();
  info.training.patience = t.patience();
  info.training.val_fraction = t.val_fraction();
  info.training.seed = t.seed();
  info.training.epochs_run = t.epochs_run();
  info.training.best_epoch = t.best_epoch();
  info.training.train_rows = t.train_rows();
  info.training.val_rows = t.val_rows();
  info.training.excluded_rows = t.excluded_rows();
  info.training.train_groups = t.train_groups();
  info.training.val_groups = t.val_groups();
  info.training.seconds = t.seconds();
  info.training.bundle_version = t.bundle_version();
  const CellHeadMetrics& m = file.metrics();
  info.metrics.val_loss = m.val_loss();
  info.metrics.val_accuracy = m.val_accuracy();
  info.metrics.ior = m.ior();
  info.metrics.ece = m.ece();
  info.metrics.val_mean_confidence = m.val_mean_confidence();
  info.metrics.train_loss = m.train_loss();
  return info;
}

absl::StatusOr<std::string> CellHeadInfoToJson(const CellHeadInfo& info) {
  CellHeadFile file;
  file.set_format_version(info.format_version);
  file.set_kind(kCellHeadKind);
  file.set_variant(std::string(CellHeadVariantName(info.variant)));
  file.set_output(kOutputProbabilities);
  file.set_num_classes(info.num_classes);
  file.set_input_dim(info.input_dim);
  file.set_hidden(info.hidden);
  for (int n : info.level_sizes) file.add_level_sizes(n);
  for (const std::string& token : info.leaf_tokens) file.add_leaf_tokens(token);
  file.set_cells_sha256(info.cells_sha256);
  file.set_model_fingerprint(info.model_fingerprint);
  file.set_model_name(info.model_name);
  file.set_alpha(info.alpha);
  file.set_epsilon(info.epsilon);
  file.set_shallow_leaf_fill(info.shallow_leaf_fill);
  file.set_created_at(info.created_at);
  CellHeadTraining* t = file.mutable_training();
  t->set_learning_rate(info.training.learning_rate);
  t->set_batch_size(info.training.batch_size);
  t->set_max_epochs(info.training.max_epochs);
  t->set_patience(info.training.patience);
  t->set_val_fraction(info.training.val_fraction);
  t->set_seed(info.training.seed);
  t->set_epochs_run(info.training.epochs_run);
  t->set_best_epoch(info.training.best_epoch);
  t->set_train_rows(info.training.train_rows);
  t->set_val_rows(info.training.val_rows);
  t->set_excluded_rows(info.training.excluded_rows);
  t->set_train_groups(info.training.train_groups);
  t->set_val_groups(info.training.val_groups);
  t->set_seconds(info.training.seconds);
  t->set_bundle_version(info.training.bundle_version);
  CellHeadMetrics* m = file.mutable_metrics();
  m->set_val_loss(info.metrics.val_loss);
  m->set_val_accuracy(info.metrics.val_accuracy);
  m->set_ior(info.metrics.ior);
  m->set_ece(info.metrics.ece);
  m->set_val_mean_confidence(info.metrics.val_mean_confidence);
  m->set_train_loss(info.metrics.train_loss);
  return ToJsonString(file);
}

absl::Status CheckCellHeadInfo(const CellHeadInfo& info, const CellHeadContext& context) {
  if (context.cells == nullptr) {
    return absl::InvalidArgumentError("CheckCellHeadInfo: the bundle's cells are required");
  }
  const cells::CellHierarchy& cells = *context.cells;
  if (!context.cells_sha256.empty() && info.cells_sha256 != context.cells_sha256) {
    return Mismatch("cells.json SHA-256 (cells regenerated after training; retrain the head)",
                    info.cells_sha256, context.cells_sha256);
  }
  if (info.num_classes != cells.num_classes()) {
    return Mismatch("number of classes", absl::StrCat(info.num_classes),
                    absl::StrCat(cells.num_classes()));
  }
  const std::vector<std::string> tokens = LeafTokens(cells);
  for (int k = 0; k < cells.num_classes(); ++k) {
    if (info.leaf_tokens[k] != tokens[k]) {
      return Mismatch(absl::StrCat("leaf token of output ", k), info.leaf_tokens[k], tokens[k]);
    }
  }
  if (IsHierarchical(info.variant)) {
    std::vector<int> sizes;
    for (const std::vector<cells::CellId>& level : cells::LevelCells(cells)) {
      sizes.push_back(static_cast<int>(level.size()));
    }
    if (info.level_sizes != sizes) {
      return Mismatch("cells per level", absl::StrJoin(info.level_sizes, ","),
                      absl::StrJoin(sizes, ","));
    }
  }
  if (!context.model_fingerprint.empty() && info.model_fingerprint != context.model_fingerprint) {
    return Mismatch("model fingerprint (trained on another encoder's descriptors)",
                    info.model_fingerprint, context.model_fingerprint);
  }
  if (context.descriptor_dim > 0 && info.input_dim != context.descriptor_dim) {
    return Mismatch("descriptor dimension", absl::StrCat(info.input_dim),
                    absl::StrCat(context.descriptor_dim));
  }
  if (context.head_outputs > 0 && info.num_classes != context.head_outputs) {
    return Mismatch("outputs (geoloc_head.json vs the archive's forward)",
                    absl::StrCat(info.num_classes), absl::StrCat(context.head_outputs));
  }
  return absl::OkStatus();
}

}  // namespace geoloc::model
