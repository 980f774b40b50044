// The geoloc-cells command end to end on a bundle of the synthetic world (built once by
// tests/support/make_fixture.sh, the CTest fixture "cells_classifier_data"): generate /
// export-geojson / train, the bundle staying valid (`geoloc-index verify`) after each change, the
// head served by DescriptorHead and checked against the bundle, its reported validation accuracy
// recomputed independently, and the head protected when the cells are replaced. Every test of the
// geoloc-cells command line is here (its --help/--version conventions:
// tests/tools/command_line_test.cc).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/cells/adaptive_cells.h"
#include "core/cells/cell_hierarchy.h"
#include "core/common/file_util.h"
#include "core/common/sha256.h"
#include "core/index/bundle.h"
#include "core/model/cell_head_info.h"
#include "core/model/descriptor_head.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/cells_classifier/test_util.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/command.h"
#include "tools/cells/group_split.h"

namespace geoloc::cells_cli {
namespace {

namespace fs = std::filesystem;
using ::geoloc::testing::ScratchDir;

// The cells the tests generate on the "small" world (18 cities of 42 database views in 6 regions).
const char kCellsFlags[] = "--lvl_start=2 --lvl_end=16 --t_min=5 --t_max=50";
const char kOtherCellsFlags[] = "--lvl_start=2 --lvl_end=16 --t_min=10 --t_max=30";

using ::geoloc::testing::CommandResult;
using ::geoloc::testing::Stderr;

// `command`'s exit status, and its stdout and stderr together.
CommandResult Execute(const std::string& command) {
  return ::geoloc::testing::RunCommand(command, Stderr::kMerged);
}

std::string Fixture() {
  const char* dir = std::getenv("GEOLOC_CELLS_FIXTURE");
  return dir == nullptr ? "" : dir;
}

class CellsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fixture = Fixture();
    ASSERT_FALSE(fixture.empty()) << "GEOLOC_CELLS_FIXTURE is not set (run through ctest)";
    ASSERT_TRUE(fs::exists(fixture + "/.complete")) << "fixture " << fixture << " incomplete";
    fs::copy(fixture + "/bundles/world", bundle(), fs::copy_options::recursive);
  }

  std::string bundle() const { return dir_.file("world"); }
  std::string head_path() const { return bundle() + "/head.pt"; }

  CommandResult Cells(const std::string& args) {
    return Execute(absl::StrCat(GEOLOC_CELLS_BINARY, " ", args));
  }
  CommandResult Verify() { return Execute(absl::StrCat(GEOLOC_INDEX_BINARY, " verify ", bundle())); }

  void Generate(const std::string& flags = kCellsFlags) {
    const CommandResult r = Cells(absl::StrCat("generate --bundle=", bundle(), " ", flags));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  index::BundleManifest Manifest() {
    absl::StatusOr<index::BundleManifest> m = index::ReadManifest(bundle());
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : index::BundleManifest();
  }

  std::optional<index::ExtraEntry> Extra(const std::string& name) {
    const index::BundleManifest manifest = Manifest();
    for (const index::ExtraEntry& e : manifest.extras()) {
      if (e.name() == name) return e;
    }
    return std::nullopt;
  }

  std::string ManifestBytes() { return *ReadFileToString(bundle() + "/manifest.json"); }

  ScratchDir dir_;
};

TEST_F(CellsCliTest, GenerateStoresTheCellsAndKeepsTheBundleValid) {
  const std::string version_before = Manifest().version();
  const CommandResult r = Cells(absl::StrCat("generate --bundle=", bundle(), " ", kCellsFlags));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::cout << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "points per class: min")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "coverage:")) << r.out;

  const index::BundleManifest m = Manifest();
  EXPECT_NE(m.version(), version_before);
  EXPECT_EQ(m.content_digest(), index::ComputeContentDigest(m));
  const std::optional<index::ExtraEntry> cells = Extra("cells");
  ASSERT_TRUE(cells.has_value());
  EXPECT_EQ(cells->file(), "cells.json");
  EXPECT_EQ(cells->sha256(), *Sha256File(bundle() + "/cells.json"));
  const CommandResult verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  // The stored file is exactly what the library generates from the bundle's coordinates.
  absl::StatusOr<std::shared_ptr<const index::Bundle>> b = index::Bundle::Load(bundle());
  ASSERT_TRUE(b.ok()) << b.status();
  std::vector<geo::LatLon> points;
  for (int64_t row = 0; row < (*b)->metadata().size(); ++row) {
    points.push_back({(*b)->metadata().lat(row), (*b)->metadata().lon(row)});
  }
  cells::AdaptiveCellOptions options;
  options.lvl_start = 2;
  options.lvl_end = 16;
  options.t_min = 5;
  options.t_max = 50;
  absl::StatusOr<cells::CellHierarchy> expected = cells::GenerateAdaptiveCells(points, options);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*ReadFileToString(bundle() + "/cells.json"), *expected->ToJson());

  // Same cells again, from the bundle or from the CSV it was built from: nothing changes.
  const std::string manifest = ManifestBytes();
  const CommandResult again = Cells(absl::StrCat("generate --bundle=", bundle(), " ", kCellsFlags));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_TRUE(absl::StrContains(again.out, "cells unchanged")) << again.out;
  const CommandResult csv = Cells(absl::StrCat("generate --bundle=", bundle(), " --csv=", Fixture(),
                                     "/world/database.csv ", kCellsFlags));
  ASSERT_EQ(csv.exit_code, 0) << csv.out;
  EXPECT_TRUE(absl::StrContains(csv.out, "cells unchanged")) << csv.out;
  EXPECT_EQ(ManifestBytes(), manifest);
}

TEST_F(CellsCliTest, ExportGeoJsonDrawsEveryCell) {
  Generate();
  const std::string out = dir_.file("cells.geojson");
  const CommandResult r = Cells(absl::StrCat("export-geojson --bundle=", bundle(), " --out=", out,
                                   " --points_per_edge=8"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string json = *ReadFileToString(out);
  absl::StatusOr<cells::CellHierarchy> h =
      cells::CellHierarchy::Load(bundle() + "/cells.json");
  ASSERT_TRUE(h.ok());

  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &doc).ok());
  const auto& features = doc.fields().at("features").list_value();
  ASSERT_EQ(features.values_size(), h->num_nodes());
  int leaves = 0;
  for (const auto& f : features.values()) {
    const auto& props = f.struct_value().fields().at("properties").struct_value().fields();
    const std::string token = props.at("token").string_value();
    ASSERT_TRUE(props.count("level") && props.count("count") && props.count("leaf_class"));
    if (props.at("leaf_class").number_value() >= 0) ++leaves;
    const auto& geometry = f.struct_value().fields().at("geometry").struct_value().fields();
    ASSERT_EQ(geometry.at("type").string_value(), "Polygon") << token;  // nothing crosses 180
    const auto& ring = geometry.at("coordinates").list_value().values(0).list_value();
    // 8 points per edge, closed; one more where the pole is a vertex (it becomes two, one per
    // edge's longitude: the polar face's central cells around wrangel).
    ASSERT_GE(ring.values_size(), 4 * 8 + 1) << token;
    ASSERT_LE(ring.values_size(), 4 * 8 + 2) << token;
    const auto& first = ring.values(0).list_value();
    const auto& last = ring.values(ring.values_size() - 1).list_value();
    EXPECT_EQ(first.values(0).number_value(), last.values(0).number_value());
    EXPECT_EQ(first.values(1).number_value(), last.values(1).number_value());
    double min_lon = 180, max_lon = -180, area2 = 0;
    for (int i = 0; i < ring.values_size(); ++i) {
      const double lon = ring.values(i).list_value().values(0).number_value();
      const double lat = ring.values(i).list_value().values(1).number_value();
      ASSERT_LE(std::abs(lon), 180.0);
      ASSERT_LE(std::abs(lat), 90.0);
      min_lon = std::min(min_lon, lon);
      max_lon = std::max(max_lon, lon);
      if (i + 1 < ring.values_size()) {
        const double lon2 = ring.values(i + 1).list_value().values(0).number_value();
        const double lat2 = ring.values(i + 1).list_value().values(1).number_value();
        area2 += lon * lat2 - lon2 * lat;
      }
    }
    // Cells of the wrangel city touch 180 from both sides: none may wrap around the globe.
    EXPECT_LE(max_lon - min_lon, 90.0 + 1e-6) << token;
    EXPECT_GT(area2, 0) << token << " is not counter-clockwise";
  }
  EXPECT_EQ(leaves, h->num_classes());

  // The same from the file, and leaves only.
  const std::string out2 = dir_.file("cells2.geojson");
  const CommandResult r2 = Cells(absl::StrCat("export-geojson --cells=", bundle(), "/cells.json --out=",
                                    out2, " --leaves_only"));
  ASSERT_EQ(r2.exit_code, 0) << r2.out;
  google::protobuf::Struct doc2;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*ReadFileToString(out2), &doc2).ok());
  EXPECT_EQ(doc2.fields().at("features").list_value().values_size(), h->num_classes());
}

// The validation accuracy of the saved head, recomputed here from the bundle with the same split.
double RecomputedValidationAccuracy(const std::string& bundle_path,
                                    const model::DescriptorHead& head,
                                    const cells::CellHierarchy& h, int64_t* rows) {
  absl::StatusOr<std::shared_ptr<const index::Bundle>> b = index::Bundle::Load(bundle_path);
  EXPECT_TRUE(b.ok()) << b.status();
  const index::MetadataTable& meta = (*b)->metadata();
  std::vector<int64_t> labelled;
  std::vector<int> labels;
  std::vector<std::string> groups;
  for (int64_t r = 0; r < meta.size(); ++r) {
    const int c = h.LeafClassOf({meta.lat(r), meta.lon(r)});
    if (c < 0) continue;
    labelled.push_back(r);
    labels.push_back(c);
    groups.emplace_back(meta.group(r));
  }
  absl::StatusOr<GroupSplit> split = SplitRowsByGroup(groups, 0.2, 0);
  EXPECT_TRUE(split.ok());
  std::vector<int64_t> val_rows;
  for (int64_t i : split->val_rows) val_rows.push_back(labelled[i]);
  absl::StatusOr<std::vector<float>> desc = (*b)->Reconstruct(val_rows);
  EXPECT_TRUE(desc.ok());
  std::vector<float> probs(val_rows.size() * head.num_outputs());
  EXPECT_TRUE(head.Run(desc->data(), static_cast<int>(val_rows.size()), probs.data()).ok());
  int64_t hits = 0;
  for (size_t i = 0; i < val_rows.size(); ++i) {
    const float* p = &probs[i * head.num_outputs()];
    const int best = static_cast<int>(std::max_element(p, p + head.num_outputs()) - p);
    hits += best == labels[split->val_rows[i]] ? 1 : 0;
  }
  *rows = static_cast<int64_t>(val_rows.size());
  return static_cast<double>(hits) / val_rows.size();
}

TEST_F(CellsCliTest, TrainedHmcHeadIsServableAndWellAboveRandom) {
  Generate();
  const CommandResult r = Cells(absl::StrCat("train --bundle=", bundle(), " --variant=hmc --progress=false"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::cout << r.out;
  const CommandResult verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  const std::optional<index::ExtraEntry> head_entry = Extra("head");
  ASSERT_TRUE(head_entry.has_value());
  EXPECT_EQ(head_entry->file(), "head.pt");

  const index::BundleManifest m = Manifest();
  absl::StatusOr<std::unique_ptr<model::DescriptorHead>> head =
      model::DescriptorHead::Load(head_path(), m.model().dim());
  ASSERT_TRUE(head.ok()) << head.status();
  absl::StatusOr<model::CellHeadInfo> info = model::ParseCellHeadInfo((*head)->metadata());
  ASSERT_TRUE(info.ok()) << info.status();
  absl::StatusOr<cells::CellHierarchy> h = cells::CellHierarchy::Load(bundle() + "/cells.json");
  ASSERT_TRUE(h.ok());
  const absl::Status check = model::CheckCellHeadInfo(
      *info, {&*h, Extra("cells")->sha256(), m.model().fingerprint(), m.model().dim(),
              (*head)->num_outputs()});
  EXPECT_TRUE(check.ok()) << check;
  EXPECT_EQ(info->variant, model::CellHeadVariant::kHmc);
  EXPECT_EQ(info->num_classes, h->num_classes());
  EXPECT_EQ(info->training.val_fraction, 0.2);
  EXPECT_GT(info->training.val_rows, 0);

  int64_t rows = 0;
  const double accuracy = RecomputedValidationAccuracy(bundle(), **head, *h, &rows);
  EXPECT_EQ(rows, info->training.val_rows);
  EXPECT_NEAR(accuracy, info->metrics.val_accuracy, 1e-12);
  const double ior = accuracy * h->num_classes();
  EXPECT_NEAR(ior, info->metrics.ior, 1e-9);
  std::cout << "HMC on the synthetic world: " << h->num_classes() << " classes, validation "
            << "accuracy " << accuracy << " on " << rows << " rows, IoR " << ior << ", ECE "
            << info->metrics.ece << "\n";
  RecordProperty("hmc_ior", absl::StrCat(ior));
  EXPECT_GE(ior, 3.0);
}

TEST_F(CellsCliTest, TrainAllKeepsTheLowestValidationLoss) {
  Generate();
  const CommandResult r = Cells(absl::StrCat("train --bundle=", bundle(), " --variant=all --progress=false"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::cout << r.out;
  std::map<std::string, double> val_loss;
  std::string saved;
  bool in_table = false;  // the summary table follows its header line
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    std::vector<absl::string_view> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cols.empty() && cols[0] == "variant") in_table = true;
    if (!in_table || cols.size() < 9) continue;
    if (cols[0] != "mc" && cols[0] != "hmc" && cols[0] != "hmc_sol" && cols[0] != "hmc_smooth") {
      continue;
    }
    double loss;
    ASSERT_TRUE(absl::SimpleAtod(cols[1], &loss)) << line;
    val_loss[std::string(cols[0])] = loss;
    if (absl::StrContains(line, "<- saved")) saved = std::string(cols[0]);
  }
  ASSERT_EQ(val_loss.size(), 4u) << r.out;
  const auto lowest = std::min_element(val_loss.begin(), val_loss.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
  EXPECT_EQ(saved, lowest->first);
  EXPECT_DOUBLE_EQ(val_loss["hmc"], val_loss["hmc_sol"]);  // same numbers up to rounding

  absl::StatusOr<std::unique_ptr<model::DescriptorHead>> head =
      model::DescriptorHead::Load(head_path(), Manifest().model().dim());
  ASSERT_TRUE(head.ok()) << head.status();
  absl::StatusOr<model::CellHeadInfo> info = model::ParseCellHeadInfo((*head)->metadata());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(model::CellHeadVariantName(info->variant), saved);
  EXPECT_NEAR(info->metrics.val_loss, lowest->second, 5e-5);
  EXPECT_EQ(Verify().exit_code, 0);
}

TEST_F(CellsCliTest, ReplacingCellsProtectsTheHead) {
  Generate();
  const CommandResult train =
      Cells(absl::StrCat("train --bundle=", bundle(), " --epochs=3 --progress=false"));
  ASSERT_EQ(train.exit_code, 0) << train.out;
  ASSERT_TRUE(Extra("head").has_value());

  // The same cells again: the head stays valid and the bundle untouched.
  std::string manifest = ManifestBytes();
  Generate();
  EXPECT_EQ(ManifestBytes(), manifest);

  // Other cells without --force: refused, nothing changes.
  const CommandResult refused = Cells(absl::StrCat("generate --bundle=", bundle(), " ", kOtherCellsFlags));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_TRUE(absl::StrContains(refused.out, "--force")) << refused.out;
  EXPECT_EQ(ManifestBytes(), manifest);
  EXPECT_TRUE(fs::exists(head_path()));

  // With --force: the head goes first, then the cells change; the bundle stays valid.
  const std::string old_cells_sha = Extra("cells")->sha256();
  const CommandResult forced =
      Cells(absl::StrCat("generate --bundle=", bundle(), " ", kOtherCellsFlags, " --force"));
  ASSERT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_FALSE(Extra("head").has_value());
  EXPECT_FALSE(fs::exists(head_path()));
  ASSERT_TRUE(Extra("cells").has_value());
  EXPECT_NE(Extra("cells")->sha256(), old_cells_sha);
  const index::BundleManifest m = Manifest();
  EXPECT_EQ(m.content_digest(), index::ComputeContentDigest(m));
  const CommandResult verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(CellsCliTest, UsageAndMissingCells) {
  EXPECT_EQ(Cells("").exit_code, 2);
  EXPECT_EQ(Cells("frobnicate").exit_code, 2);
  EXPECT_EQ(Cells("train").exit_code, 2);
  EXPECT_EQ(Cells("generate").exit_code, 2);
  EXPECT_EQ(Cells(absl::StrCat("export-geojson --bundle=", bundle(), " --cells=x.json --out=y"))
                .exit_code,
            2);
  EXPECT_EQ(Cells(absl::StrCat("train --bundle=", bundle(), " --variant=deep")).exit_code, 2);
  const CommandResult no_cells = Cells(absl::StrCat("train --bundle=", bundle(), " --progress=false"));
  EXPECT_EQ(no_cells.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(no_cells.out, "geoloc-cells generate")) << no_cells.out;
  const CommandResult bad_options =
      Cells(absl::StrCat("generate --bundle=", bundle(), " --t_min=10 --t_max=5"));
  EXPECT_EQ(bad_options.exit_code, 1);
  EXPECT_FALSE(Extra("cells").has_value());
}

}  // namespace
}  // namespace geoloc::cells_cli
