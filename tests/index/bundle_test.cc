#include "core/index/bundle.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/common/json_proto.h"
#include "core/index/bundle_writer.h"
#include "core/index/flat_kernel.h"
#include "core/index/synthetic_vectors.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

namespace fs = std::filesystem;
using testing::GaussianVectors;
using testing::IntegerVectors;
using ::geoloc::testing::ReadTestFile;
using testing::RecallAtK;
using ::geoloc::testing::ScratchDir;
using testing::TestModel;
using testing::TestRows;
using ::geoloc::testing::WriteTestFile;

BundleWriteOptions Options(const std::string& output, IndexType type, int shards = 1) {
  BundleWriteOptions o;
  o.output = output;
  o.index.type = type;
  o.shards = shards;
  o.show_progress = false;
  return o;
}

std::shared_ptr<const Bundle> MustLoad(const std::string& path, BundleLoadOptions opts = {}) {
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(path, opts);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : nullptr;
}

std::vector<int64_t> ExactRows(const std::vector<float>& x, int64_t n, int d, model::Metric metric,
                               const std::vector<float>& q, int64_t nq, int k) {
  std::vector<float> scores(nq * k);
  std::vector<int64_t> rows(nq * k);
  ExactSearch(x.data(), n, d, metric, q.data(), nq, k, scores.data(), rows.data());
  return rows;
}

// A flat bundle must give exactly what a double-precision brute force gives: the same rows, and
// scores equal to the true inner products / L2 distances, with the metadata of each row.
TEST(Bundle, FlatSearchEqualsBruteForce) {
  ScratchDir dir;
  const int d = 48;
  const int64_t n = 5000, nq = 9;
  const int k = 12;
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    const auto x = GaussianVectors(n, d, 3, /*normalise=*/true);
    const auto q = GaussianVectors(nq, d, 4, /*normalise=*/true);
    const auto rows = TestRows(n);
    const std::string out = dir.file(absl::StrCat("flat", static_cast<int>(metric)));
    ASSERT_TRUE(
        WriteBundle(x.data(), n, TestModel(d, metric), rows, Options(out, IndexType::kFlat)).ok());
    auto bundle = MustLoad(out);
    ASSERT_NE(bundle, nullptr);
    EXPECT_EQ(bundle->score_kind(), metric == model::Metric::kL2 ? geo::ScoreKind::kDistance
                                                                 : geo::ScoreKind::kSimilarity);
    absl::StatusOr<std::vector<std::vector<Neighbor>>> hits = bundle->Search(q, {k, 0, 0});
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_EQ(hits->size(), static_cast<size_t>(nq));
    for (int64_t i = 0; i < nq; ++i) {
      // Reference: every score in double precision, sorted.
      std::vector<std::pair<double, int64_t>> all;
      for (int64_t r = 0; r < n; ++r) {
        double s = 0;
        for (int j = 0; j < d; ++j) {
          const double a = q[i * d + j], b = x[r * d + j];
          s += metric == model::Metric::kL2 ? (a - b) * (a - b) : a * b;
        }
        all.emplace_back(metric == model::Metric::kL2 ? std::sqrt(s) : -s, r);
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ((*hits)[i].size(), static_cast<size_t>(k));
      for (int j = 0; j < k; ++j) {
        const Neighbor& nb = (*hits)[i][j];
        const int64_t r = all[j].second;
        EXPECT_EQ(nb.row, r);
        const double want = metric == model::Metric::kL2 ? all[j].first : -all[j].first;
        EXPECT_NEAR(nb.score, want, 1e-5);
        EXPECT_EQ(nb.id, rows[r].id);
        EXPECT_EQ(nb.lat, rows[r].lat);
        EXPECT_EQ(nb.lon, rows[r].lon);
        EXPECT_EQ(nb.source, rows[r].source);
        EXPECT_EQ(nb.group, rows[r].group);
      }
    }
  }
}

// Integer data makes every score exact: the bundle must equal the reference bit for bit, with the
// kernel's tie rule (lower row first), through shards, sqrt and all.
TEST(Bundle, FlatIsExactOnIntegerDataAcrossShards) {
  ScratchDir dir;
  const int d = 24;
  const int64_t n = 3000, nq = 11;
  const int k = 40;
  const auto x = IntegerVectors(n, d, 5);
  const auto q = IntegerVectors(nq, d, 6);
  const auto want = ExactRows(x, n, d, model::Metric::kInnerProduct, q, nq, k);
  for (int shards : {1, 2, 7}) {
    const std::string out = dir.file(absl::StrCat("s", shards));
    ASSERT_TRUE(
        WriteBundle(x.data(), n, TestModel(d), TestRows(n), Options(out, IndexType::kFlat, shards))
            .ok());
    for (bool threaded : {true, false}) {
      BundleLoadOptions opts;
      opts.threaded_shards = threaded;
      auto bundle = MustLoad(out, opts);
      ASSERT_NE(bundle, nullptr);
      std::vector<float> scores(nq * k);
      std::vector<int64_t> rows(nq * k);
      ASSERT_TRUE(
          bundle->SearchRows(q, {k, 0, 0}, absl::MakeSpan(scores), absl::MakeSpan(rows)).ok());
      EXPECT_EQ(rows, want) << shards << " shards";
      for (int64_t i = 0; i < nq * k; ++i) {
        float dot = 0;
        for (int j = 0; j < d; ++j) dot += q[(i / k) * d + j] * x[rows[i] * d + j];
        ASSERT_EQ(scores[i], dot);
      }
    }
  }
}

// Sharded IVF bundles share one trained quantizer, so N shards must return exactly the neighbours
// one index returns (IVF-Flat scores are exact distances).
TEST(Bundle, ShardedIvfEqualsSingleIndex) {
  ScratchDir dir;
  SyntheticVectorsOptions so;
  so.dim = 32;
  so.clusters = 20;
  SyntheticVectors gen(so);
  const int64_t n = 8000, nq = 20;
  const auto x = gen.Database(n);
  const auto q = gen.Queries(nq);
  std::vector<std::vector<int64_t>> results;
  for (int shards : {1, 4}) {
    const std::string out = dir.file(absl::StrCat("ivf", shards));
    BundleWriteOptions o = Options(out, IndexType::kIvfFlat, shards);
    o.index.nlist = 64;
    ASSERT_TRUE(WriteBundle(x.data(), n, TestModel(so.dim), TestRows(n), o).ok());
    auto bundle = MustLoad(out);
    ASSERT_NE(bundle, nullptr);
    std::vector<float> scores(nq * 10);
    std::vector<int64_t> rows(nq * 10);
    ASSERT_TRUE(
        bundle->SearchRows(q, {10, 8, 0}, absl::MakeSpan(scores), absl::MakeSpan(rows)).ok());
    results.push_back(rows);
  }
  EXPECT_EQ(results[0], results[1]);
}

struct RecallCase {
  IndexType type;
  RefineType refine;
  int shards;
  int pq_m = 0;  // 0: the default
};

double BundleRecall(const std::string& dir, const RecallCase& c, int* default_param) {
  SyntheticVectorsOptions so;
  so.dim = 64;
  so.clusters = 50;
  so.seed = 11;
  SyntheticVectors gen(so);
  const int64_t n = 12000, nq = 200;
  const int k = 10;
  const auto x = gen.Database(n);
  const auto q = gen.Queries(nq);
  BundleWriteOptions o = Options(dir, c.type, c.shards);
  o.index.refine = c.refine;
  o.index.pq_m = c.pq_m;
  o.target_recall = 0.95;
  absl::StatusOr<BundleManifest> m = WriteBundle(x.data(), n, TestModel(so.dim), TestRows(n), o);
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return 0;
  *default_param = IsIvf(c.type) ? m->index().default_nprobe() : m->index().default_ef_search();
  auto bundle = MustLoad(dir);
  if (bundle == nullptr) return 0;
  std::vector<float> scores(nq * k);
  std::vector<int64_t> rows(nq * k);
  // nprobe/efSearch 0: the documented default chosen at build time.
  EXPECT_TRUE(bundle->SearchRows(q, {k, 0, 0}, absl::MakeSpan(scores), absl::MakeSpan(rows)).ok());
  return RecallAtK(ExactRows(x, n, so.dim, model::Metric::kInnerProduct, q, nq, k), rows, nq, k);
}

// Plain PQ's recall is capped by its quantisation error: on these 64-d vectors 32 codes (2
// dimensions per byte, 8x smaller than float32) keep it above 0.9; the 512-d default (d / 4) is
// measured in docs/BENCHMARKS.md.
TEST(Bundle, IvfPqReachesRecallAtTheTunedNprobe) {
  ScratchDir dir;
  int nprobe = 0;
  const double recall =
      BundleRecall(dir.file("pq"), {IndexType::kIvfPq, RefineType::kNone, 2, 32}, &nprobe);
  EXPECT_GE(recall, 0.9) << "nprobe " << nprobe;
  EXPECT_GE(nprobe, 1);
}

TEST(Bundle, IvfPqWithRefineReachesRecall) {
  ScratchDir dir;
  for (RefineType refine : {RefineType::kFlat, RefineType::kSq8}) {
    int nprobe = 0;
    const double recall = BundleRecall(dir.file(absl::StrCat("r", static_cast<int>(refine))),
                                       {IndexType::kIvfPq, refine, 1}, &nprobe);
    EXPECT_GE(recall, 0.9) << RefineTypeName(refine) << " nprobe " << nprobe;
  }
}

TEST(Bundle, IvfFlatAndHnswSanity) {
  ScratchDir dir;
  int nprobe = 0, ef = 0;
  EXPECT_GE(BundleRecall(dir.file("ivf"), {IndexType::kIvfFlat, RefineType::kNone, 3}, &nprobe),
            0.9);
  EXPECT_GE(BundleRecall(dir.file("hnsw"), {IndexType::kHnsw, RefineType::kNone, 2}, &ef), 0.9);
  EXPECT_GE(ef, 16);
  // Probing every list makes IVF-Flat exact.
  auto bundle = MustLoad(dir.file("ivf"));
  ASSERT_NE(bundle, nullptr);
  const auto q = GaussianVectors(5, 64, 3, true);
  std::vector<float> s_all(50), s_exact(50);
  std::vector<int64_t> r_all(50);
  ASSERT_TRUE(bundle->SearchRows(q, {10, 1 << 20, 0}, absl::MakeSpan(s_all), absl::MakeSpan(r_all))
                  .ok());  // nprobe clamped to nlist
  SyntheticVectorsOptions so;
  so.dim = 64;
  so.clusters = 50;
  so.seed = 11;
  const auto x = SyntheticVectors(so).Database(12000);
  EXPECT_EQ(r_all, ExactRows(x, 12000, 64, model::Metric::kInnerProduct, q, 5, 10));
}

// Faiss 1.7.3 ignores SearchParametersHNSW::efSearch; geoloc's HNSW search must honour it, also
// when concurrent searches ask for different values.
TEST(Bundle, HnswHonoursPerSearchEfSearch) {
  ScratchDir dir;
  const int d = 32;
  const int64_t n = 20000, nq = 100;
  const int k = 10;
  const auto x = GaussianVectors(n, d, 12, true);  // no structure: a hard case for a graph
  const auto q = GaussianVectors(nq, d, 13, true);
  BundleWriteOptions o = Options(dir.file("h"), IndexType::kHnsw);
  o.index.hnsw_m = 6;
  o.index.hnsw_ef_construction = 20;
  ASSERT_TRUE(WriteBundle(x.data(), n, TestModel(d), TestRows(n), o).ok());
  auto bundle = MustLoad(dir.file("h"));
  ASSERT_NE(bundle, nullptr);
  const auto exact = ExactRows(x, n, d, model::Metric::kInnerProduct, q, nq, k);
  auto search = [&](int ef) {
    std::vector<float> s(nq * k);
    std::vector<int64_t> r(nq * k);
    EXPECT_TRUE(bundle->SearchRows(q, {k, 0, ef}, absl::MakeSpan(s), absl::MakeSpan(r)).ok());
    return r;
  };
  const auto narrow = search(k);
  const auto wide = search(1000);
  const double narrow_recall = RecallAtK(exact, narrow, nq, k);
  const double wide_recall = RecallAtK(exact, wide, nq, k);
  EXPECT_GE(wide_recall, 0.95);
  EXPECT_LT(narrow_recall, wide_recall - 0.05) << narrow_recall << " vs " << wide_recall;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 10; ++rep) {
        const bool use_wide = (t + rep) % 2 == 0;
        if (search(use_wide ? 1000 : k) != (use_wide ? wide : narrow)) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(Bundle, KLargerThanTheBundleReturnsEverything) {
  ScratchDir dir;
  const auto x = GaussianVectors(5, 8, 1, true);
  ASSERT_TRUE(WriteBundle(x.data(), 5, TestModel(8), TestRows(5),
                          Options(dir.file("b"), IndexType::kFlat, 2))
                  .ok());
  auto bundle = MustLoad(dir.file("b"));
  ASSERT_NE(bundle, nullptr);
  auto hits = bundle->Search(std::vector<float>(x.begin(), x.begin() + 8), {20, 0, 0});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ((*hits)[0].size(), 5u);
  EXPECT_EQ((*hits)[0][0].row, 0);  // itself first
  std::vector<float> scores(20);
  std::vector<int64_t> rows(20);
  ASSERT_TRUE(bundle
                  ->SearchRows(std::vector<float>(x.begin(), x.begin() + 8), {20, 0, 0},
                               absl::MakeSpan(scores), absl::MakeSpan(rows))
                  .ok());
  EXPECT_EQ(rows[5], -1);
  EXPECT_TRUE(std::isnan(scores[5]));
}

TEST(Bundle, RejectsInvalidQueriesAndParams) {
  ScratchDir dir;
  const auto x = GaussianVectors(50, 8, 1, true);
  ASSERT_TRUE(
      WriteBundle(x.data(), 50, TestModel(8), TestRows(50), Options(dir.file("b"), IndexType::kFlat))
          .ok());
  auto bundle = MustLoad(dir.file("b"));
  ASSERT_NE(bundle, nullptr);
  std::vector<float> q(8, 0.1f);
  EXPECT_EQ(bundle->Search(q, {0, 0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bundle->Search(q, {kMaxSearchK + 1, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bundle->Search(q, {5, -1, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bundle->Search(std::vector<float>(7, 0.1f), {5, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bundle->Search({}, {5, 0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  q[3] = std::nanf("");
  EXPECT_EQ(bundle->Search(q, {5, 0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
}

// Many threads searching one bundle at once get the same answers as one thread.
TEST(Bundle, ConcurrentSearchesAgreeWithSerial) {
  ScratchDir dir;
  SyntheticVectorsOptions so;
  so.dim = 32;
  SyntheticVectors gen(so);
  const int64_t n = 6000;
  const auto x = gen.Database(n);
  for (IndexType type : {IndexType::kFlat, IndexType::kIvfPq, IndexType::kHnsw}) {
    const std::string out = dir.file(std::string(IndexTypeName(type)));
    ASSERT_TRUE(
        WriteBundle(x.data(), n, TestModel(so.dim), TestRows(n), Options(out, type, 3)).ok());
    auto bundle = MustLoad(out);
    ASSERT_NE(bundle, nullptr);
    const int nq = 16, k = 20;
    const auto q = gen.Queries(nq);
    std::vector<float> s(nq * k);
    std::vector<int64_t> want(nq * k);
    ASSERT_TRUE(bundle->SearchRows(q, {k, 4, 64}, absl::MakeSpan(s), absl::MakeSpan(want)).ok());
    std::vector<std::thread> threads;
    std::vector<int> mismatches(8, 0);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int rep = 0; rep < 20; ++rep) {
          std::vector<float> ls(nq * k);
          std::vector<int64_t> lr(nq * k);
          if (!bundle->SearchRows(q, {k, 4, 64}, absl::MakeSpan(ls), absl::MakeSpan(lr)).ok() ||
              lr != want) {
            ++mismatches[t];
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << IndexTypeName(type);
  }
}

// ---- Rejection of damaged or mismatched bundles -------------------------------------------------

class DamagedBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto x = GaussianVectors(n_, d_, 7, true);
    BundleWriteOptions o = Options(path(), IndexType::kFlat, 2);
    WriteTestFile(dir_.file("cells.json"), "{\"cells\": []}");
    o.extras.push_back({"cells", dir_.file("cells.json")});
    absl::StatusOr<BundleManifest> m = WriteBundle(x.data(), n_, TestModel(d_), TestRows(n_), o);
    ASSERT_TRUE(m.ok()) << m.status();
    manifest_ = *m;
  }
  std::string path() const { return dir_.file("bundle"); }
  std::string file(const std::string& name) const { return path() + "/" + name; }
  absl::Status Load(bool verify = true, const model::ModelInfo* model = nullptr) {
    BundleLoadOptions o;
    o.verify_checksums = verify;
    o.expected_model = model;
    return Bundle::Load(path(), o).status();
  }
  void FlipByte(const std::string& name, size_t offset) {
    std::string bytes = ReadTestFile(file(name));
    bytes[offset] ^= 0x5A;
    WriteTestFile(file(name), bytes);
  }
  // Rewrites the manifest after `edit`, with a recomputed digest so only the edit is wrong.
  template <typename Edit>
  void EditManifest(Edit edit) {
    BundleManifest m = manifest_;
    edit(&m);
    m.set_content_digest(ComputeContentDigest(m));
    m.set_version(VersionString(m.name(), m.content_digest()));
    ASSERT_TRUE(WriteJsonProtoAtomically(file("manifest.json"), m).ok());
  }

  ScratchDir dir_;
  const int d_ = 16;
  const int64_t n_ = 300;
  BundleManifest manifest_;
};

TEST_F(DamagedBundle, IntactBundleLoadsAndExposesExtras) {
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(path());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*b)->HasExtra("cells"));
  absl::StatusOr<std::string> cells = (*b)->ExtraPath("cells");
  ASSERT_TRUE(cells.ok());
  EXPECT_EQ(ReadTestFile(*cells), "{\"cells\": []}");
  EXPECT_EQ((*b)->ExtraPath("head").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*b)->version(), manifest_.version());
  EXPECT_EQ((*b)->version().rfind("bundle-", 0), 0u);
  EXPECT_EQ((*b)->num_shards(), 2);
  EXPECT_EQ((*b)->size(), n_);
}

TEST_F(DamagedBundle, CorruptedShardIsDataLoss) {
  FlipByte(manifest_.shards(1).file(), 200);
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("shard-00001.faiss"), std::string::npos) << st;
  EXPECT_NE(st.message().find("SHA-256"), std::string::npos) << st;
}

TEST_F(DamagedBundle, TruncatedMetadataIsDataLoss) {
  std::string bytes = ReadTestFile(file("metadata.bin"));
  WriteTestFile(file("metadata.bin"), bytes.substr(0, bytes.size() - 9));
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("metadata.bin"), std::string::npos) << st;
  // Without checksums the size check in the manifest and the file's own checks still catch it.
  EditManifest([&](BundleManifest* m) {
    m->mutable_metadata()->set_size_bytes(static_cast<int64_t>(bytes.size()) - 9);
  });
  st = Load(/*verify=*/false);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st;
}

TEST_F(DamagedBundle, MissingFileIsNotFound) {
  fs::remove(file(manifest_.shards(0).file()));
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("shard-00000.faiss"), std::string::npos) << st;
  fs::remove(file("manifest.json"));
  EXPECT_EQ(Load().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Bundle::Load(dir_.file("nowhere")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DamagedBundle, TamperedExtraIsDataLoss) {
  WriteTestFile(file("cells.json"), "{\"cells\": [1]}");
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("cells.json"), std::string::npos) << st;
}

TEST_F(DamagedBundle, ManifestWithWrongCountIsDataLoss) {
  EditManifest([](BundleManifest* m) { m->set_total_count(m->total_count() + 1); });
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("total_count"), std::string::npos) << st;
  // A shard count that disagrees with the Faiss file (sums kept consistent).
  EditManifest([](BundleManifest* m) {
    m->mutable_shards(0)->set_count(m->shards(0).count() - 1);
    m->mutable_shards(1)->set_first_row(m->shards(1).first_row() - 1);
    m->mutable_shards(1)->set_count(m->shards(1).count() + 1);
  });
  st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("vectors, the manifest says"), std::string::npos) << st;
}

TEST_F(DamagedBundle, EditedManifestWithoutNewDigestIsDataLoss) {
  BundleManifest m = manifest_;
  m.mutable_model()->set_fingerprint("ffff");
  ASSERT_TRUE(WriteJsonProtoAtomically(file("manifest.json"), m).ok());
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("content_digest"), std::string::npos) << st;
  WriteTestFile(file("manifest.json"), "{ not json");
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DamagedBundle, NewerFormatIsFailedPrecondition) {
  EditManifest([](BundleManifest* m) { m->set_format_version(kBundleFormatVersion + 1); });
  EXPECT_EQ(Load().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DamagedBundle, ModelMismatchNamesBothValues) {
  model::ModelInfo same = TestModel(d_);
  EXPECT_TRUE(Load(true, &same).ok());
  model::ModelInfo other = TestModel(2 * d_);
  other.fingerprint = "feedfacefeedface";
  absl::Status st = Load(true, &other);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("dimension: bundle 16, served model 32"), std::string::npos) << st;
  EXPECT_NE(st.message().find("0123456789abcdef0123456789abcdef"), std::string::npos) << st;
  EXPECT_NE(st.message().find("feedfacefeedface"), std::string::npos) << st;
  model::ModelInfo l2 = TestModel(d_, model::Metric::kL2);
  st = Load(true, &l2);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("metric: bundle ip, served model l2"), std::string::npos) << st;
}

TEST_F(DamagedBundle, UnsafeFileNamesAreRejected) {
  EditManifest([](BundleManifest* m) { m->mutable_metadata()->set_file("../metadata.bin"); });
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("unsafe"), std::string::npos) << st;
}

TEST_F(DamagedBundle, AddExtraUpdatesVersionAndVerifies) {
  WriteTestFile(dir_.file("head.pt"), "weights");
  absl::StatusOr<BundleManifest> m = AddBundleExtra(path(), {"head", dir_.file("head.pt")});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NE(m->version(), manifest_.version());
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(path());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*b)->HasExtra("head"));
  EXPECT_EQ((*b)->version(), m->version());
  EXPECT_FALSE(AddBundleExtra(path(), {"x", dir_.file("missing.json")}).ok());
  EXPECT_EQ(AddBundleExtra(path(), {"meta", file("metadata.bin")}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BundleWriter, RejectsInconsistentInput) {
  ScratchDir dir;
  const auto x = GaussianVectors(10, 4, 1, true);
  auto rows = TestRows(10);
  EXPECT_EQ(
      WriteBundle(x.data(), 10, TestModel(4), TestRows(9), Options(dir.file("a"), IndexType::kFlat))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      WriteBundle(x.data(), 10, TestModel(4), rows, Options(dir.file("a"), IndexType::kFlat, 11))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  auto bad = x;
  bad[5] = std::nanf("");
  EXPECT_EQ(WriteBundle(bad.data(), 10, TestModel(4), rows, Options(dir.file("a"), IndexType::kFlat))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  BundleWriteOptions o = Options(dir.file("a"), IndexType::kIvfPq);
  o.index.pq_m = 3;  // does not divide 4
  EXPECT_EQ(WriteBundle(x.data(), 10, TestModel(4), rows, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir.file("a")));
  ASSERT_TRUE(
      WriteBundle(x.data(), 10, TestModel(4), rows, Options(dir.file("a"), IndexType::kFlat)).ok());
  EXPECT_EQ(WriteBundle(x.data(), 10, TestModel(4), rows, Options(dir.file("a"), IndexType::kFlat))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(IndexSpec, DefaultsFollowTheDocumentedRules) {
  IndexSpec s;
  s.type = IndexType::kIvfPq;
  absl::StatusOr<IndexSpec> r = ResolveIndexSpec(s, 1'000'000, 512);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->nlist, 2048);
  EXPECT_EQ(r->pq_m, 128);
  EXPECT_EQ(r->pq_nbits, 8);
  EXPECT_EQ(r->train_size, 81920);
  r = ResolveIndexSpec(s, 1000, 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->nlist, 16);
  EXPECT_EQ(r->pq_m, 25);
  EXPECT_EQ(r->pq_nbits, 4);  // 1000 / 39 = 25 points: 2^4 = 16 centroids
  EXPECT_EQ(r->train_size, 1000);
  s.type = IndexType::kFlat;
  s.nlist = 8;
  EXPECT_FALSE(ResolveIndexSpec(s, 100, 8).ok());
}

}  // namespace
}  // namespace geoloc::index
