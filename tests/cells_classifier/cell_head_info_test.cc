// geoloc_head.json (core/model/cell_head_info.h): round trip, rejected files, and the checks a
// server runs before serving a head.
#include "core/model/cell_head_info.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/cells_classifier/test_util.h"

namespace geoloc::model {
namespace {

using cells_cli::testing::TinyHierarchy;

const std::string kSha(64, 'a');

CellHeadInfo ValidInfo() {
  CellHeadInfo info;
  info.variant = CellHeadVariant::kHmc;
  info.num_classes = 3;
  info.input_dim = 512;
  info.hidden = 64;
  info.level_sizes = {2, 2, 1};
  info.leaf_tokens = {"01", "1c", "3"};  // TinyHierarchy's leaves in class order
  info.cells_sha256 = kSha;
  info.model_fingerprint = "fp-123";
  info.model_name = "r18";
  info.epsilon = 0.01;
  info.shallow_leaf_fill = "one";
  info.created_at = "2026-01-01T00:00:00Z";
  info.training.learning_rate = 1e-3;
  info.training.seed = 1234567890123ULL;
  info.training.train_rows = 600;
  info.training.val_rows = 150;
  info.training.bundle_version = "world-0123456789ab";
  info.metrics.val_loss = 1.5;
  info.metrics.val_accuracy = 0.25;
  info.metrics.ior = 0.75;
  info.metrics.ece = 0.05;
  return info;
}

TEST(CellHeadInfoTest, VariantNames) {
  for (CellHeadVariant v : {CellHeadVariant::kMc, CellHeadVariant::kHmc, CellHeadVariant::kHmcSol,
                            CellHeadVariant::kHmcSmooth}) {
    EXPECT_EQ(*ParseCellHeadVariant(CellHeadVariantName(v)), v);
  }
  EXPECT_EQ(CellHeadVariantName(CellHeadVariant::kHmcSol), "hmc_sol");
  EXPECT_FALSE(ParseCellHeadVariant("HMC").ok());
  EXPECT_FALSE(ParseCellHeadVariant("all").ok());
  EXPECT_FALSE(IsHierarchical(CellHeadVariant::kMc));
  EXPECT_TRUE(IsHierarchical(CellHeadVariant::kHmcSmooth));
}

TEST(CellHeadInfoTest, RoundTrip) {
  const CellHeadInfo info = ValidInfo();
  absl::StatusOr<std::string> json = CellHeadInfoToJson(info);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"kind\": \"cell_classifier\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"output\": \"probabilities\""), std::string::npos);
  absl::StatusOr<CellHeadInfo> back = ParseCellHeadInfo(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->variant, info.variant);
  EXPECT_EQ(back->leaf_tokens, info.leaf_tokens);
  EXPECT_EQ(back->level_sizes, info.level_sizes);
  EXPECT_EQ(back->cells_sha256, info.cells_sha256);
  EXPECT_EQ(back->model_fingerprint, info.model_fingerprint);
  EXPECT_EQ(back->training.seed, info.training.seed);
  EXPECT_EQ(back->training.bundle_version, info.training.bundle_version);
  EXPECT_EQ(back->metrics.val_accuracy, info.metrics.val_accuracy);
  EXPECT_EQ(back->metrics.ior, info.metrics.ior);
}

TEST(CellHeadInfoTest, RejectsBrokenFiles) {
  const std::string good = *CellHeadInfoToJson(ValidInfo());
  ASSERT_TRUE(ParseCellHeadInfo(good).ok());
  const std::vector<std::pair<std::string, std::string>> corruptions = {
      {"\"kind\": \"cell_classifier\"", "\"kind\": \"other\""},
      {"\"format_version\": 1", "\"format_version\": 2"},
      {"\"variant\": \"hmc\"", "\"variant\": \"hmc2\""},
      {"\"output\": \"probabilities\"", "\"output\": \"logits\""},
      {"\"num_classes\": 3", "\"num_classes\": 4"},
      {"\"input_dim\": 512", "\"input_dim\": 0"},
      {"\"model_fingerprint\": \"fp-123\"", "\"model_fingerprint\": \"\""},
      {kSha, "abc"},
  };
  for (const auto& [from, to] : corruptions) {
    const std::string bad = absl::StrReplaceAll(good, {{from, to}});
    ASSERT_NE(bad, good) << from;
    EXPECT_EQ(ParseCellHeadInfo(bad).status().code(), absl::StatusCode::kInvalidArgument) << to;
  }
  EXPECT_FALSE(ParseCellHeadInfo("{").ok());
  EXPECT_FALSE(ParseCellHeadInfo("").ok());
  CellHeadInfo no_levels = ValidInfo();
  no_levels.level_sizes.clear();
  EXPECT_FALSE(ParseCellHeadInfo(*CellHeadInfoToJson(no_levels)).ok());
  no_levels.variant = CellHeadVariant::kMc;  // MC needs none
  EXPECT_TRUE(ParseCellHeadInfo(*CellHeadInfoToJson(no_levels)).ok());
}

TEST(CellHeadInfoTest, CheckAgainstTheBundleAndModel) {
  const cells::CellHierarchy cells = TinyHierarchy();
  EXPECT_EQ(LeafTokens(cells), (std::vector<std::string>{"01", "1c", "3"}));
  const CellHeadContext context{&cells, kSha, "fp-123", 512, 3};
  EXPECT_TRUE(CheckCellHeadInfo(ValidInfo(), context).ok());

  auto expect_mismatch = [&](const CellHeadInfo& info, const CellHeadContext& ctx,
                             const std::string& what) {
    const absl::Status s = CheckCellHeadInfo(info, ctx);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << what << ": " << s;
  };
  CellHeadContext other = context;
  other.cells_sha256 = std::string(64, 'b');
  expect_mismatch(ValidInfo(), other, "cells sha");
  other = context;
  other.model_fingerprint = "fp-999";
  expect_mismatch(ValidInfo(), other, "fingerprint");
  other = context;
  other.descriptor_dim = 256;
  expect_mismatch(ValidInfo(), other, "dim");
  other = context;
  other.head_outputs = 4;
  expect_mismatch(ValidInfo(), other, "outputs");
  CellHeadInfo info = ValidInfo();
  info.leaf_tokens = {"01", "3", "1c"};
  expect_mismatch(info, context, "token order");
  info = ValidInfo();
  info.level_sizes = {2, 3};
  expect_mismatch(info, context, "level sizes");
  info = ValidInfo();
  info.num_classes = 2;
  info.leaf_tokens.pop_back();
  expect_mismatch(info, context, "classes");
  // Empty context fields skip their checks; the cells are required.
  EXPECT_TRUE(CheckCellHeadInfo(ValidInfo(), {&cells, "", "", 0, 0}).ok());
  EXPECT_EQ(CheckCellHeadInfo(ValidInfo(), {nullptr, kSha, "fp-123", 512, 3}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::model
