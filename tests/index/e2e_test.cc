// End to end: a tiny synthetic world, a real exported model (random weights), the image pipeline,
// a sharded bundle, and a self-query check: every database image's own descriptor, computed again
// from its file, must find that image at rank 1. (The same through the geoloc-index command:
// geoloc_index_cli_test.cc.)
#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index/bundle.h"
#include "core/index/image_builder.h"
#include "core/index/image_source.h"
#include "core/index/thumbnails.h"
#include "core/common/file_util.h"
#include "opencv2/imgcodecs.hpp"
#include "core/model/encoder.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"
#include "tools/synth/synthetic_world.h"

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::WriteTestFile;

std::unique_ptr<model::Encoder> LoadTestEncoder() {
  model::EncoderOptions options;
  options.precision = model::Precision::kFp32;  // bit-for-bit repeatable descriptors
  absl::StatusOr<std::unique_ptr<model::Encoder>> encoder =
      model::Encoder::Load(GEOLOC_INDEX_TEST_MODEL, options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? std::move(*encoder) : nullptr;
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    synth::WorldOptions options = synth::WorldPreset("fixed-tiny").value();
    options.threads = 2;
    absl::StatusOr<synth::World> world = synth::GenerateWorld(options, dir_.file("world"));
    ASSERT_TRUE(world.ok()) << world.status();
    world_ = *world;
  }

  ScratchDir dir_;
  synth::World world_;
};

TEST_F(EndToEnd, EveryDatabaseImageFindsItselfFirst) {
  std::unique_ptr<model::Encoder> encoder = LoadTestEncoder();
  ASSERT_NE(encoder, nullptr);
  absl::StatusOr<SourceList> all = ReadCsvSource(dir_.file("world/world.csv"), "");
  ASSERT_TRUE(all.ok()) << all.status();
  // The database split, plus one unreadable file that must be skipped, not abort the build.
  std::set<std::string> database_paths;
  for (const synth::ImageRecord& r : world_.images) {
    if (r.split == synth::Split::kDatabase) database_paths.insert(r.path);
  }
  SourceList source = *all;
  source.entries.clear();
  for (const SourceEntry& e : all->entries) {
    if (database_paths.count(e.meta.source) > 0) source.entries.push_back(e);
  }
  const size_t database = source.entries.size();
  ASSERT_EQ(database, world_.images.size() * 2 / 3);  // tiny: 2 database views of 3
  WriteTestFile(dir_.file("broken.jpg"), "\xFF\xD8 not really a jpeg");
  SourceEntry broken;
  broken.path = dir_.file("broken.jpg");
  broken.meta.source = "broken.jpg";
  source.entries.insert(source.entries.begin() + 5, broken);

  ImageEncodeOptions encode;
  encode.batch_size = 7;  // batches that do not divide the set, with a hole in one
  encode.decode_threads = 2;
  encode.show_progress = false;
  BundleWriteOptions write;
  write.output = dir_.file("bundle");
  write.shards = 3;
  write.show_progress = false;
  absl::StatusOr<BundleManifest> manifest = BuildBundleFromImages(*encoder, source, encode, write);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->total_count(), static_cast<int64_t>(database));
  EXPECT_EQ(manifest->build().inputs_skipped(), 1);
  EXPECT_EQ(manifest->model().fingerprint(), encoder->info().fingerprint);

  BundleLoadOptions load;
  load.expected_model = &encoder->info();
  absl::StatusOr<std::shared_ptr<const Bundle>> bundle = Bundle::Load(write.output, load);
  ASSERT_TRUE(bundle.ok()) << bundle.status();

  // Encode every database image again, independently of the build, and search.
  SourceList again;
  for (const SourceEntry& e : source.entries) {
    if (e.meta.source != "broken.jpg") again.entries.push_back(e);
  }
  encode.batch_size = 5;
  absl::StatusOr<EncodedImages> queries = EncodeImages(*encoder, again, encode);
  ASSERT_TRUE(queries.ok()) << queries.status();
  ASSERT_EQ(queries->rows.size(), database);
  absl::StatusOr<std::vector<std::vector<Neighbor>>> hits =
      (*bundle)->Search(queries->descriptors, {5, 0, 0});
  ASSERT_TRUE(hits.ok()) << hits.status();
  for (size_t i = 0; i < database; ++i) {
    ASSERT_FALSE((*hits)[i].empty());
    const Neighbor& top = (*hits)[i][0];
    EXPECT_EQ(top.source, again.entries[i].meta.source) << "query " << i;
    EXPECT_EQ(top.id, again.entries[i].meta.id);
    EXPECT_EQ(top.lat, again.entries[i].meta.lat);
    EXPECT_EQ(top.group, again.entries[i].meta.group);
    EXPECT_NEAR(top.score, 1.0, 1e-4);  // cosine of a descriptor with itself
  }
}

// --thumbnails: one JPEG per row, in row order (an unreadable image leaves no hole), no longer
// side than asked, each looking like its own photo; a file checksummed in the manifest, so a
// damaged one fails the load.
TEST_F(EndToEnd, ThumbnailsAreStoredPerRowAndChecksummed) {
  std::unique_ptr<model::Encoder> encoder = LoadTestEncoder();
  ASSERT_NE(encoder, nullptr);
  absl::StatusOr<SourceList> all = ReadCsvSource(dir_.file("world/world.csv"), "");
  ASSERT_TRUE(all.ok()) << all.status();
  SourceList source = *all;
  source.entries.resize(std::min<size_t>(source.entries.size(), 12));
  WriteTestFile(dir_.file("broken.jpg"), "\xFF\xD8 not really a jpeg");
  SourceEntry broken;
  broken.path = dir_.file("broken.jpg");
  broken.meta.source = "broken.jpg";
  source.entries.insert(source.entries.begin() + 3, broken);

  constexpr int kSide = 40;
  ImageEncodeOptions encode;
  encode.batch_size = 5;
  encode.decode_threads = 2;
  encode.show_progress = false;
  encode.thumbnail_max_side = kSide;
  BundleWriteOptions write;
  write.output = dir_.file("thumbs");
  write.show_progress = false;
  absl::StatusOr<BundleManifest> manifest = BuildBundleFromImages(*encoder, source, encode, write);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const int64_t rows = manifest->total_count();
  ASSERT_EQ(rows, static_cast<int64_t>(source.entries.size()) - 1);
  bool listed = false;
  for (const ExtraEntry& e : manifest->extras()) {
    if (e.name() != kThumbnailsExtraName) continue;
    listed = true;
    EXPECT_EQ(e.file(), kThumbnailsFileName);
    EXPECT_EQ(e.sha256().size(), 64u);
  }
  EXPECT_TRUE(listed);
  EXPECT_FALSE(fs::exists(write.output + ".thumbnails-tmp"));  // cleaned up
  EXPECT_TRUE(fs::exists(write.output + "/" + kThumbnailsFileName));

  absl::StatusOr<std::shared_ptr<const Bundle>> bundle = Bundle::Load(write.output, {});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  absl::StatusOr<std::string> path = (*bundle)->ExtraPath(kThumbnailsExtraName);
  ASSERT_TRUE(path.ok()) << path.status();
  auto store = ThumbnailStore::Open(*path, rows);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->max_side(), kSide);
  for (int64_t r = 0; r < rows; ++r) {
    const std::string& source_path = r < 3 ? source.entries[r].path : source.entries[r + 1].path;
    const absl::string_view jpeg = (*store)->Get(r);
    ASSERT_FALSE(jpeg.empty()) << r;
    const cv::Mat thumb = cv::imdecode(
        cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())),
        cv::IMREAD_COLOR);
    ASSERT_FALSE(thumb.empty()) << r;
    const cv::Mat full = cv::imread(source_path, cv::IMREAD_COLOR);
    ASSERT_FALSE(full.empty()) << source_path;
    EXPECT_EQ(std::max(thumb.cols, thumb.rows), std::min(kSide, std::max(full.cols, full.rows)));
    // The row's own photo: mean colours agree within JPEG and resampling error.
    const cv::Scalar a = cv::mean(thumb);
    const cv::Scalar b = cv::mean(full);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(a[c], b[c], 6.0) << "row " << r << " channel " << c;
  }

  // A damaged thumbnail file: the manifest's checksum refuses the bundle.
  std::string bytes = *ReadFileToString(*path);
  bytes[bytes.size() / 2] ^= 0x5a;
  fs::permissions(*path, fs::perms::owner_write, fs::perm_options::add);
  ASSERT_TRUE(WriteFileAtomically(*path, bytes).ok());
  EXPECT_EQ(Bundle::Load(write.output, {}).status().code(), absl::StatusCode::kDataLoss);

  // Thumbnails of an impossible size are refused before any work.
  encode.thumbnail_max_side = 4;
  write.output = dir_.file("never");
  EXPECT_EQ(BuildBundleFromImages(*encoder, source, encode, write).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace geoloc::index
