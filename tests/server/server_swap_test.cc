// Hot swap and lifecycle of a real geolocd: swaps under load, rejected bundles, SIGHUP, a watched
// symlink, and SIGTERM draining.
#include <signal.h>

#include <atomic>
#include <string>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/common/file_util.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/thumbnails.h"
#include "gtest/gtest.h"
#include "tests/support/calibrated_bundle.h"
#include "tests/support/server_process.h"
#include "tests/support/wait_until.h"

namespace geoloc::testing {
namespace {
namespace fs = std::filesystem;

// How long a test waits for a swap to show (a bound on a busy machine, never what is measured).
constexpr absl::Duration kSwapWait = absl::Seconds(120);

class ServerSwapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = GetFixture();
    queries_ = LoadQueries(fixture_);
    ASSERT_FALSE(queries_.empty());
  }
  v1::LocateRequest Request(int i) const {
    v1::LocateRequest r;
    r.set_image(queries_[i % queries_.size()].bytes);
    return r;
  }
  std::string Version(client::Client& c) const {
    auto r = c.Locate(Request(0));
    return r.ok() ? r->bundle_version() : "error: " + std::string(r.status().message());
  }
  Fixture fixture_;
  std::vector<QueryImage> queries_;
};

TEST_F(ServerSwapTest, RepeatedSwapsUnderLoadFailNoRequest) {
  ServerProcess server(ServerProcess::DefaultFlags(fixture_));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto admin = server.NewClient();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&, t] {
      auto c = server.NewClient();
      for (int i = t; !stop.load(); ++i) {
        auto r = c->Locate(Request(i));
        if (r.ok()) {
          ++ok;
        } else {
          ++failed;
          ADD_FAILURE() << "request failed during swaps: " << r.status();
        }
      }
    });
  }
  for (int i = 0; i < 8; ++i) {
    v1::SwapIndexRequest swap;
    swap.set_bundle_path(i % 2 == 0 ? "v2" : "v1");
    auto r = admin->SwapIndex(swap, {absl::Seconds(60), false});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->bundle_version().rfind(i % 2 == 0 ? "v2-" : "v1-", 0), 0u);
    EXPECT_GT(r->vector_count(), 0);
  }
  stop.store(true);
  for (auto& t : load) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);
  // The last swap went to v1; one more to v2 and the answers come from it.
  v1::SwapIndexRequest swap;
  swap.set_bundle_path(fixture_.bundle("v2"));
  ASSERT_TRUE(admin->SwapIndex(swap).ok());
  EXPECT_EQ(Version(*admin).rfind("v2-", 0), 0u);
  auto status = admin->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->last_swap().trigger(), "rpc");
  EXPECT_TRUE(status->last_swap().ok());
  EXPECT_EQ(status->bundle().shard_count(), 2u);
  auto metrics = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(MetricValue(*metrics, "geoloc_swaps_total{result=\"ok\",trigger=\"rpc\"}").value_or(0),
            9);
}

// The sq8 flat store answers as the float32 one does, and /metrics counts its searches for the
// serving bundle only: no series without an sq8 store, a fresh one for each sq8 bundle loaded.
TEST_F(ServerSwapTest, AnSq8BundleAnswersAsFloat32AndItsSearchesAreCounted) {
  ServerProcess server(ServerProcess::DefaultFlags(fixture_));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  constexpr int kCalls = 3;
  auto neighbours = [&]() {
    std::vector<std::vector<std::pair<int64_t, float>>> all;
    for (int i = 0; i < kCalls; ++i) {
      v1::LocateRequest request = Request(i);
      request.mutable_options()->set_return_neighbors(true);
      auto r = c->Locate(request);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) continue;
      all.emplace_back();
      for (const v1::Neighbor& n : r->neighbors()) all.back().push_back({n.id(), n.similarity()});
    }
    return all;
  };
  auto sq8_series = [&]() {
    auto metrics = HttpGet(server.metrics_port(), "/metrics");
    EXPECT_TRUE(metrics.ok());
    return metrics.ok() && absl::StrContains(*metrics, "geoloc_sq8_");
  };
  const auto float32 = neighbours();
  ASSERT_EQ(float32.size(), static_cast<size_t>(kCalls));
  ASSERT_FALSE(float32[0].empty());
  EXPECT_FALSE(sq8_series()) << "v1 has no sq8 store";

  v1::SwapIndexRequest swap;
  swap.set_bundle_path("v1-sq8");
  auto swapped = c->SwapIndex(swap, {absl::Seconds(60), false});
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  const std::string version = swapped->bundle_version();
  EXPECT_EQ(neighbours(), float32) << "the sq8 store must return the float32 store's neighbours";
  auto metrics = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  const std::string label = absl::StrCat("{bundle=\"", version, "\"}");
  EXPECT_EQ(MetricValue(*metrics, "geoloc_sq8_queries_total" + label).value_or(-1), kCalls)
      << *metrics;
  const double second = MetricValue(*metrics, "geoloc_sq8_second_scans_total" + label).value_or(-1);
  EXPECT_GE(second, 0);
  EXPECT_LE(second, kCalls);
  // Each query re-ranks at least its k neighbours from the float32 vectors.
  EXPECT_GE(MetricValue(*metrics, "geoloc_sq8_rows_reranked_total" + label).value_or(-1),
            kCalls * static_cast<double>(float32.at(0).size()));

  swap.set_bundle_path("v1");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok());
  EXPECT_FALSE(sq8_series()) << "the series leave with the sq8 bundle";
}

TEST_F(ServerSwapTest, BadBundlesAreRejectedAndTheOldOneKeepsServing) {
  ServerProcess server(ServerProcess::DefaultFlags(fixture_));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  const std::string before = Version(*c);
  ASSERT_EQ(before.rfind("v1-", 0), 0u);
  struct Case {
    std::string path;
    absl::StatusCode code;
    std::string mentions;
  };
  for (const Case& k : std::vector<Case>{
           {"corrupt", absl::StatusCode::kFailedPrecondition, "shard"},
           {"mismatch", absl::StatusCode::kFailedPrecondition, "fingerprint"},
           {"no-such-bundle", absl::StatusCode::kFailedPrecondition, "no bundle"},
           {"../world", absl::StatusCode::kPermissionDenied, "outside"},
           {"/etc", absl::StatusCode::kPermissionDenied, "outside"}}) {
    v1::SwapIndexRequest swap;
    swap.set_bundle_path(k.path);
    auto r = c->SwapIndex(swap, {absl::Seconds(60), false});
    EXPECT_EQ(r.status().code(), k.code) << k.path << ": " << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), k.mentions))
        << k.path << ": " << r.status();
    EXPECT_EQ(Version(*c), before) << "after " << k.path;
  }
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->serving());
  EXPECT_FALSE(status->last_swap().ok());  // the mismatch/no-such attempts are recorded
  EXPECT_FALSE(status->gazetteer().loaded());  // no --gazetteer: answers carry no names
  auto metrics = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(MetricValue(*metrics, "geoloc_last_swap_success").value_or(-1), 0);
}

TEST_F(ServerSwapTest, AClassifierSwapsInAndOutWithItsBundle) {
  ServerProcess server(ServerProcess::DefaultFlags(fixture_));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  v1::LocateRequest request = Request(0);
  request.mutable_options()->set_max_classifier_cells(3);
  auto before = c->Locate(request);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->has_classifier());
  EXPECT_EQ(before->classifier_cells_size(), 0);
  EXPECT_FALSE(before->best().has_place());  // no --gazetteer

  v1::SwapIndexRequest swap;
  swap.set_bundle_path("classified");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok()) << server.Log();
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->bundle().has_cells());
  EXPECT_TRUE(status->bundle().has_classifier());
  auto with = c->Locate(request);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(with->has_classifier());
  EXPECT_GT(with->classifier().weight_share(), 0);
  ASSERT_EQ(with->classifier_cells_size(), 3);
  EXPECT_GE(with->classifier_cells(0).weight_share(), with->classifier_cells(2).weight_share());
  // The fused best is one of the retrieval peaks; retrieval's own answer stays the top peak.
  bool best_is_a_peak = false;
  for (const v1::Peak& p : with->peaks()) {
    best_is_a_peak |= p.location().latitude() == with->best().location().latitude() &&
                      p.location().longitude() == with->best().location().longitude();
  }
  EXPECT_TRUE(best_is_a_peak);
  EXPECT_EQ(with->retrieval().location().latitude(), with->peaks(0).location().latitude());
  EXPECT_GE(with->timings().classify_ms(), 0);

  // Explain of the most probable classifier cell back-propagates its probability.
  v1::ExplainRequest explain;
  explain.set_image(request.image());
  explain.set_cell_token(with->classifier_cells(0).token());
  explain.set_return_overlay(false);
  auto why = c->Explain(explain);
  ASSERT_TRUE(why.ok()) << why.status();
  EXPECT_EQ(why->target_kind(), v1::ExplainResponse::TARGET_KIND_CELL);
  EXPECT_NEAR(why->target_score(), with->classifier_cells(0).weight_share(), 1e-3);
  EXPECT_TRUE(absl::StrContains(why->target_description(), "classifier cell"))
      << why->target_description();

  swap.set_bundle_path("v1");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok());
  auto after = c->Locate(request);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_classifier());
  EXPECT_EQ(after->classifier_cells_size(), 0);
}

// The calibration travels with its bundle: swapped in, answers are calibrated (regions, P(within
// t), P(localizable), abstention at --abstain_below) and GetStatus shows where it came from;
// swapped out, answers say calibrated = false and claim no coverage.
TEST_F(ServerSwapTest, CalibrationSwapsInAndOutWithItsBundle) {
  const ScratchDir scratch("calibration-swap");
  const fs::path root = scratch.path();
  fs::copy(fixture_.bundle("v1"), root / "plain", fs::copy_options::recursive);
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture_);
  flags.push_back("--bundle=" + (root / "plain").string());
  flags.push_back("--index_root=" + root.string());
  flags.push_back("--default_k=10");
  flags.push_back("--region_levels=0.5,0.9");
  flags.push_back("--abstain_below=0.999");  // above every calibrated P(localizable) here
  flags.push_back("--region_cells_per_level=500");
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->bundle().calibration().present());
  EXPECT_FALSE(status->bundle().calibration().problem().empty());
  auto before = c->Locate(Request(0));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->calibrated());
  EXPECT_EQ(before->regions_size(), 0);
  EXPECT_EQ(before->within_size(), 0);
  EXPECT_FALSE(before->has_localizable_probability());
  EXPECT_FALSE(before->abstained());

  auto file = SyntheticCalibrationFile(status->model().fingerprint(),
                                       {TestCalibrationSettings(10, "spherical_kde")});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(CopyWithCalibration((root / "plain").string(), (root / "calibrated").string(), *file)
                  .ok());
  v1::SwapIndexRequest swap;
  swap.set_bundle_path("calibrated");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok()) << server.Log();
  status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  const v1::CalibrationStatus& cs = status->bundle().calibration();
  EXPECT_TRUE(cs.present());
  EXPECT_TRUE(cs.problem().empty()) << cs.problem();
  ASSERT_EQ(cs.entries_size(), 1);
  EXPECT_TRUE(cs.entries(0).serves_defaults());
  EXPECT_EQ(cs.entries(0).fit_split().name(), "val");
  EXPECT_EQ(cs.entries(0).calibration_split().name(), "calib");
  EXPECT_EQ(cs.entries(0).calibration_split().photos(), 600u);
  EXPECT_GT(cs.entries(0).score_group_sizes_size(), 0);
  EXPECT_EQ(cs.region_levels_size(), 2);
  EXPECT_DOUBLE_EQ(cs.abstain_below(), 0.999);
  EXPECT_EQ(cs.region_cells_per_level(), 500u);

  v1::LocateRequest request = Request(0);
  request.mutable_options()->set_return_region_cells(true);
  auto with = c->Locate(request);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_TRUE(with->calibrated());
  ASSERT_EQ(with->regions_size(), 2);
  EXPECT_DOUBLE_EQ(with->regions(0).level(), 0.5);
  for (const v1::ConfidenceRegion& r : with->regions()) {
    EXPECT_GE(r.guaranteed_coverage(), r.level());
    EXPECT_GT(r.area_km2(), 0);
    if (!r.whole_sphere()) {
      ASSERT_GT(r.pieces_size(), 0);
      EXPECT_GE(r.pieces(0).exterior().vertices_size(), 3);
      EXPECT_GT(r.cell_tokens_size(), 0);
    }
  }
  ASSERT_EQ(with->within_size(), 5);
  EXPECT_DOUBLE_EQ(with->within(0).threshold_km(), 1);
  for (const v1::WithinProbability& w : with->within()) {
    EXPECT_GT(w.probability(), 0);
    EXPECT_LT(w.probability(), 1);
  }
  ASSERT_TRUE(with->has_localizable_probability());
  EXPECT_LT(with->localizable_probability(), 0.999);
  EXPECT_TRUE(with->abstained());
  EXPECT_DOUBLE_EQ(with->abstain_below(), 0.999);
  EXPECT_GT(with->timings().calibrate_ms(), 0);
  // Operators see it in the metrics: answers by calibrated/abstained, the calibrate stage.
  auto metrics = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(MetricValue(*metrics,
                        "geoloc_locate_answers_total{abstained=\"true\",calibrated=\"true\"}")
                .value_or(-1),
            1);
  EXPECT_EQ(MetricValue(*metrics,
                        "geoloc_locate_answers_total{abstained=\"false\",calibrated=\"false\"}")
                .value_or(-1),
            1);
  EXPECT_EQ(MetricValue(*metrics, "geoloc_stage_duration_seconds_count{stage=\"calibrate\"}")
                .value_or(-1),
            1);
  // A request for settings nobody calibrated (k = 11) is answered uncalibrated.
  v1::LocateRequest other = Request(0);
  other.mutable_options()->set_k(11);
  auto uncalibrated = c->Locate(other);
  ASSERT_TRUE(uncalibrated.ok());
  EXPECT_FALSE(uncalibrated->calibrated());
  EXPECT_EQ(uncalibrated->regions_size(), 0);

  swap.set_bundle_path("plain");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok());
  auto after = c->Locate(Request(0));
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->calibrated());
  EXPECT_EQ(after->regions_size(), 0);
  EXPECT_FALSE(after->abstained());
}

// --gazetteer is loaded once and names places whatever bundle is swapped in; a damaged gazetteer
// stops geolocd at start, saying why.
TEST_F(ServerSwapTest, TheGazetteerOutlivesSwapsAndADamagedOneStopsTheStart) {
  const std::string gazetteer = std::string(GEOLOC_PLACES_TESTDATA) + "/places.gaz";
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture_);
  flags.push_back("--gazetteer=" + gazetteer);
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  auto before = c->Locate(Request(0));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(before->best().has_place());
  v1::SwapIndexRequest swap;
  swap.set_bundle_path("v2");
  ASSERT_TRUE(c->SwapIndex(swap, {absl::Seconds(60), false}).ok()) << server.Log();
  auto after = c->Locate(Request(0));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->bundle_version().rfind("v2-", 0), 0u);
  ASSERT_TRUE(after->best().has_place());
  EXPECT_FALSE(after->best().place().description().empty());
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->gazetteer().loaded());
  EXPECT_EQ(status->gazetteer().places(), 16u);

  const ScratchDir scratch("damaged-gazetteer");
  absl::StatusOr<std::string> bytes = ReadFileToString(gazetteer);
  ASSERT_TRUE(bytes.ok());
  const std::string damaged = scratch.file("places.gaz");
  ASSERT_TRUE(WriteFileAtomically(damaged, bytes->substr(0, bytes->size() - 7)).ok());
  flags.back() = "--gazetteer=" + damaged;
  ServerProcess bad(flags);
  EXPECT_FALSE(bad.Start(true, absl::Seconds(60)).ok());
  EXPECT_TRUE(absl::StrContains(bad.Log(), "checksum mismatch")) << bad.Log();
  EXPECT_TRUE(absl::StrContains(bad.Log(), damaged)) << bad.Log();
}

// A bundle with thumbnails (`geoloc-index build --thumbnails`): asked for, each neighbour comes
// with its own row's JPEG over gRPC, and GetStatus says the bundle has them; not asked, none.
TEST_F(ServerSwapTest, NeighbourThumbnailsComeBackWhenAskedOfABundleWithThem) {
  const ScratchDir scratch("thumbnails");
  const std::string copy = scratch.file("v1-thumbnails");
  fs::copy(fixture_.bundle("v1"), copy, fs::copy_options::recursive);
  for (const auto& entry : fs::recursive_directory_iterator(copy)) {
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  absl::StatusOr<std::shared_ptr<const index::Bundle>> bundle = index::Bundle::Load(copy);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  // Bytes naming each row's id, so a neighbour given another row's thumbnail is caught.
  std::vector<std::string> jpegs;
  for (int64_t r = 0; r < (*bundle)->size(); ++r) {
    jpegs.push_back(absl::StrCat("thumbnail-of-", (*bundle)->metadata().id(r)));
  }
  ASSERT_TRUE(index::WriteThumbnailFile(scratch.file("t.bin"), 120, jpegs).ok());
  ASSERT_TRUE(
      index::AddBundleExtra(copy, {index::kThumbnailsExtraName, scratch.file("t.bin")}).ok());

  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture_);
  flags.push_back("--bundle=" + copy);
  flags.push_back("--index_root=" + scratch.path());
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->bundle().has_thumbnails());
  EXPECT_EQ(status->bundle().thumbnail_max_side(), 120u);

  v1::LocateRequest request = Request(0);
  request.mutable_options()->set_return_neighbors(true);
  request.mutable_options()->set_include_thumbnails(true);
  auto asked = c->Locate(request);
  ASSERT_TRUE(asked.ok()) << asked.status();
  ASSERT_GT(asked->neighbors_size(), 0);
  for (const v1::Neighbor& n : asked->neighbors()) {
    EXPECT_EQ(n.thumbnail_jpeg(), absl::StrCat("thumbnail-of-", n.id()));
  }
  request.mutable_options()->set_include_thumbnails(false);
  auto not_asked = c->Locate(request);
  ASSERT_TRUE(not_asked.ok()) << not_asked.status();
  for (const v1::Neighbor& n : not_asked->neighbors()) EXPECT_TRUE(n.thumbnail_jpeg().empty());
}

TEST_F(ServerSwapTest, IndexPlacementFlagFallsBackToTheCpuAndRejectsUnknownDevices) {
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture_);
  flags.push_back("--index_device=tpu");
  ServerProcess bad(flags);
  EXPECT_FALSE(bad.Start(true, absl::Seconds(60)).ok());
  EXPECT_TRUE(absl::StrContains(bad.Log(), "--index_device")) << bad.Log();

  flags.back() = "--index_device=gpu";
  ServerProcess gpu(flags);
  ASSERT_TRUE(gpu.Start().ok()) << gpu.Log();
  auto c = gpu.NewClient();
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  // Debian's Faiss has no GPU code: the bundle serves from the CPU and the log says why. (A build
  // with a GPU Faiss on a machine with a GPU would report "gpu:<ordinals>" here instead.)
  EXPECT_EQ(Version(*c).rfind("v1-", 0), 0u);
  EXPECT_TRUE(absl::StrContains(gpu.Log(), "serving on CPU")) << gpu.Log();
}

TEST_F(ServerSwapTest, SighupAndTheWatchedLinkFollowTheCurrentSymlink) {
  const ScratchDir scratch("watch");
  const fs::path dir = scratch.path();
  fs::create_directory_symlink(fixture_.bundle("v1"), dir / "current");
  std::vector<std::string> flags = ServerProcess::DefaultFlags(fixture_);
  flags.push_back("--bundle=" + (dir / "current").string());
  flags.push_back("--index_root=" + fixture_.dir + "/bundles");
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  auto c = server.NewClient();
  ASSERT_EQ(Version(*c).rfind("v1-", 0), 0u);

  // SIGHUP reloads --bundle, following the link to wherever it points now.
  fs::remove(dir / "current");
  fs::create_directory_symlink(fixture_.bundle("v2"), dir / "current");
  server.Signal(SIGHUP);
  // The swap loads and verifies a whole bundle off the serving path: on a busy 2-core machine
  // that can take tens of seconds, so the limit is generous; it is not what is tested.
  std::string version;
  WaitUntil([&] { return (version = Version(*c)).rfind("v2-", 0) == 0; }, kSwapWait);
  EXPECT_EQ(version.rfind("v2-", 0), 0u) << version << "\n" << server.Log();
  auto status = c->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->last_swap().trigger(), "sighup");
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();

  // --watch_bundle swaps by itself when the link flips.
  flags.push_back("--watch_bundle");
  flags.push_back("--watch_interval_ms=100");
  ServerProcess watched(flags);
  ASSERT_TRUE(watched.Start().ok()) << watched.Log();
  auto w = watched.NewClient();
  ASSERT_EQ(Version(*w).rfind("v2-", 0), 0u);
  fs::remove(dir / "current");
  fs::create_directory_symlink(fixture_.bundle("v1"), dir / "current");
  WaitUntil([&] { return (version = Version(*w)).rfind("v1-", 0) == 0; }, kSwapWait);
  EXPECT_EQ(version.rfind("v1-", 0), 0u) << version << "\n" << watched.Log();
  status = w->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->last_swap().trigger(), "watch");
}

TEST_F(ServerSwapTest, SigtermDrainsInFlightCallsThenExitsZero) {
  ServerProcess server(ServerProcess::DefaultFlags(fixture_));
  ASSERT_TRUE(server.Start().ok()) << server.Log();
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  std::atomic<int> started{0};
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      auto c = server.NewClient();
      ++started;
      auto r = c->Locate(Request(t));
      (r.ok() ? ok : failed)++;
    });
  }
  while (started.load() < 6) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(30));  // let the calls reach the server
  server.Signal(SIGTERM);
  for (auto& t : callers) t.join();
  EXPECT_EQ(server.Stop(0, absl::Seconds(60)), 0) << server.Log();
  // Calls that reached the server before SIGTERM finish; later ones are refused cleanly.
  EXPECT_EQ(ok.load() + failed.load(), 6);
  EXPECT_TRUE(absl::StrContains(server.Log(), "draining")) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "exits with status 0")) << server.Log();
}

}  // namespace
}  // namespace geoloc::testing
