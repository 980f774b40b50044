// The sq8 flat store (core/index/sq8_flat_index.h): 8-bit scan + exact re-ranking must return
// exactly what the float32 flat bundle returns (rows, scores to the bit, tie order), whatever the
// data, metric, k, search area, shards and short list; and its files are checked like the others.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/common/json_proto.h"
#include "core/common/sha256.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/flat_kernel.h"
#include "core/index/manifest.h"
#include "core/index/synthetic_vectors.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ReadTestFile;
using ::geoloc::testing::ScratchDir;
using ::geoloc::testing::WriteTestFile;
using testing::GaussianVectors;
using testing::IntegerVectors;
using testing::TestModel;
using testing::TestRows;

BundleManifest MustWrite(const std::string& out, const std::vector<float>& x, int64_t n, int d,
                         model::Metric metric, FlatStore store, int shards) {
  BundleWriteOptions o;
  o.output = out;
  o.index.type = IndexType::kFlat;
  o.index.flat_store = store;
  o.shards = shards;
  o.show_progress = false;
  absl::StatusOr<BundleManifest> m = WriteBundle(x.data(), n, TestModel(d, metric), TestRows(n), o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : BundleManifest();
}

std::shared_ptr<const Bundle> MustLoad(const std::string& path, BundleLoadOptions opts = {}) {
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(path, opts);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : nullptr;
}

struct Result {
  std::vector<float> scores;
  std::vector<int64_t> rows;
};

Result SearchAll(const Bundle& b, const std::vector<float>& q, int k,
                 const RowSet* filter = nullptr) {
  const int64_t nq = static_cast<int64_t>(q.size()) / b.dim();
  Result r{std::vector<float>(nq * k), std::vector<int64_t>(nq * k)};
  SearchParams p;
  p.k = k;
  p.filter = filter;
  absl::Status st = b.SearchRows(q, p, absl::MakeSpan(r.scores), absl::MakeSpan(r.rows));
  EXPECT_TRUE(st.ok()) << st;
  return r;
}

// Same rows in the same order, and bit-identical scores (NaN pads compare as NaN).
void ExpectIdentical(const Result& want, const Result& got, const std::string& what) {
  ASSERT_EQ(want.rows.size(), got.rows.size()) << what;
  int64_t differ = 0;
  for (size_t i = 0; i < want.rows.size(); ++i) {
    const bool same_score = (std::isnan(want.scores[i]) && std::isnan(got.scores[i])) ||
                            want.scores[i] == got.scores[i];
    if (want.rows[i] != got.rows[i] || !same_score) {
      if (++differ <= 3) {
        ADD_FAILURE() << what << ": position " << i << ": exact row " << want.rows[i] << " score "
                      << want.scores[i] << ", sq8 row " << got.rows[i] << " score "
                      << got.scores[i];
      }
    }
  }
  EXPECT_EQ(differ, 0) << what;
}

struct DataCase {
  std::string name;
  std::vector<float> x;
  std::vector<float> q;
};

std::vector<DataCase> Cases(int64_t n, int d, int64_t nq) {
  std::vector<DataCase> out;
  out.push_back({"uniform", GaussianVectors(n, d, 5, true), GaussianVectors(nq, d, 6, true)});
  SyntheticVectors gen({.dim = d, .clusters = 20, .seed = 3});
  out.push_back({"clustered", gen.Database(n), gen.Queries(nq)});
  // Integer vectors in [-3, 3]: many exactly equal scores, so the tie order is tested.
  out.push_back({"ties", IntegerVectors(n, d, 7), IntegerVectors(nq, d, 8)});
  // Database rows as queries: the best score is the row itself, duplicates tie exactly.
  std::vector<float> dup = GaussianVectors(n, d, 9, true);
  for (int64_t r = 1; r < n; r += 3) std::copy_n(&dup[(r - 1) * d], d, &dup[r * d]);
  std::vector<float> dq(dup.begin(), dup.begin() + nq * d);
  out.push_back({"duplicates", dup, dq});
  return out;
}

TEST(Sq8Flat, SameTopKAndScoresAsExactSearch) {
  const int d = 40;  // not a multiple of any SIMD width: the code tails are scored too
  const int64_t n = 3000, nq = 13;
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    for (const DataCase& c : Cases(n, d, nq)) {
      for (int shards : {1, 3}) {
        ScratchDir dir;
        MustWrite(dir.file("fp32"), c.x, n, d, metric, FlatStore::kFp32, shards);
        MustWrite(dir.file("sq8"), c.x, n, d, metric, FlatStore::kSq8, shards);
        auto exact = MustLoad(dir.file("fp32"));
        // The default short list, and one of k rows: nearly every query then needs the second
        // scan (sq8_flat_index.h step 4), which must be exact too.
        for (Sq8Shortlist shortlist : {Sq8Shortlist{}, Sq8Shortlist{1.0, 0}}) {
          BundleLoadOptions o;
          o.sq8_shortlist = shortlist;
          auto sq8 = MustLoad(dir.file("sq8"), o);
          ASSERT_NE(exact, nullptr);
          ASSERT_NE(sq8, nullptr);
          for (int k : {1, 10, 100}) {
            ExpectIdentical(SearchAll(*exact, c.q, k), SearchAll(*sq8, c.q, k),
                            absl::StrCat(c.name, " ", model::MetricName(metric), " shards ", shards,
                                         " factor ", shortlist.factor, " k ", k));
          }
        }
      }
    }
  }
}

TEST(Sq8Flat, SearchAreaAndKLargerThanTheRows) {
  const int d = 32;
  const int64_t n = 2000, nq = 7;
  for (const DataCase& c : Cases(n, d, nq)) {
    ScratchDir dir;
    MustWrite(dir.file("fp32"), c.x, n, d, model::Metric::kInnerProduct, FlatStore::kFp32, 2);
    MustWrite(dir.file("sq8"), c.x, n, d, model::Metric::kInnerProduct, FlatStore::kSq8, 2);
    auto exact = MustLoad(dir.file("fp32"));
    auto sq8 = MustLoad(dir.file("sq8"));
    ASSERT_NE(sq8, nullptr);
    // Every 7th row plus a run across the shard boundary.
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < n; ++r) {
      if (r % 7 == 3 || (r >= 990 && r < 1010)) rows.push_back(r);
    }
    const RowSet area(rows, n);
    for (int k : {5, 60}) {
      ExpectIdentical(SearchAll(*exact, c.q, k, &area), SearchAll(*sq8, c.q, k, &area),
                      absl::StrCat(c.name, " area k ", k));
    }
    const Result small = SearchAll(*sq8, c.q, 400, &area);  // 306 rows in the area: pads
    ExpectIdentical(SearchAll(*exact, c.q, 400, &area), small, c.name + " area k 400");
    EXPECT_EQ(small.rows[399], -1);
    for (int64_t r : small.rows) {
      if (r >= 0) {
        EXPECT_TRUE(area.Contains(r)) << r;
      }
    }
    const RowSet empty({}, n);
    const Result none = SearchAll(*sq8, c.q, 3, &empty);
    for (int64_t r : none.rows) EXPECT_EQ(r, -1);
  }
  // A whole bundle smaller than k.
  ScratchDir dir;
  const std::vector<float> x = GaussianVectors(50, d, 1, true);
  const std::vector<float> q = GaussianVectors(3, d, 2, true);
  MustWrite(dir.file("fp32"), x, 50, d, model::Metric::kL2, FlatStore::kFp32, 1);
  MustWrite(dir.file("sq8"), x, 50, d, model::Metric::kL2, FlatStore::kSq8, 1);
  const Result got = SearchAll(*MustLoad(dir.file("sq8")), q, 80);
  ExpectIdentical(SearchAll(*MustLoad(dir.file("fp32")), q, 80), got, "k 80 > 50 rows");
  EXPECT_NE(got.rows[80 + 49], -1) << "query 1's 50th result is a row";
  EXPECT_EQ(got.rows[80 + 50], -1) << "query 1's 51st result is padding";
}

// Integer codes and queries: every sum is an exact integer in float, so each instruction set
// must reproduce the double-precision reference bit for bit.
TEST(Sq8Flat, ScoreCodesEqualsBruteForceOnEveryInstructionSet) {
  std::vector<KernelIsa> isas = {KernelIsa::kScalar};
  if (DetectKernelIsa() != KernelIsa::kScalar) isas.push_back(KernelIsa::kAvx2);
  if (DetectKernelIsa() == KernelIsa::kAvx512) isas.push_back(KernelIsa::kAvx512);
  for (int d : {1, 7, 16, 37, 64}) {
    const int64_t n = 45;
    const int nq = 13;
    std::vector<uint8_t> codes(n * d);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
    const std::vector<float> q = IntegerVectors(nq, d, 3);
    for (KernelIsa isa : isas) {
      std::vector<float> out(nq * n, -1);
      ScoreCodes(codes.data(), n, d, q.data(), nq, out.data(), n, isa);
      for (int c = 0; c < nq; ++c) {
        for (int64_t r = 0; r < n; ++r) {
          double want = 0;
          for (int j = 0; j < d; ++j) want += double{q[c * d + j]} * codes[r * d + j];
          ASSERT_EQ(out[c * n + r], static_cast<float>(want))
              << KernelIsaName(isa) << " d " << d << " query " << c << " row " << r;
        }
      }
    }
  }
}

class Sq8Bundle : public ::testing::Test {
 protected:
  void SetUp() override {
    x_ = GaussianVectors(n_, d_, 4, true);
    manifest_ = MustWrite(path(), x_, n_, d_, model::Metric::kInnerProduct, FlatStore::kSq8, 2);
  }
  std::string path() const { return dir_.file("bundle"); }
  std::string file(const std::string& name) const { return path() + "/" + name; }
  absl::Status Load(bool verify = true) {
    BundleLoadOptions o;
    o.verify_checksums = verify;
    return Bundle::Load(path(), o).status();
  }
  // Rewrites the manifest after `edit` with a recomputed digest, so only the edit is wrong.
  template <typename Edit>
  void EditManifest(Edit edit) {
    BundleManifest m = manifest_;
    edit(&m);
    m.set_content_digest(ComputeContentDigest(m));
    m.set_version(VersionString(m.name(), m.content_digest()));
    ASSERT_TRUE(WriteJsonProtoAtomically(file("manifest.json"), m).ok());
  }

  ScratchDir dir_;
  const int d_ = 24;
  const int64_t n_ = 500;
  std::vector<float> x_;
  BundleManifest manifest_;
};

TEST_F(Sq8Bundle, RoundTripRecordsTheStoreAndReconstructsExactVectors) {
  EXPECT_EQ(manifest_.index().flat_store(), "sq8");
  ASSERT_EQ(manifest_.shards_size(), 2);
  for (const ShardEntry& s : manifest_.shards()) {
    EXPECT_EQ(s.sq8().file(), absl::StrReplaceAll(s.file(), {{".faiss", ".sq8"}}));
    EXPECT_EQ(s.sq8().sha256().size(), 64u);
    EXPECT_EQ(s.sq8().size_bytes(),
              static_cast<int64_t>(std::filesystem::file_size(file(s.sq8().file()))));
    // A quarter of the float32 bytes, plus the per-dimension parameters and row norms.
    EXPECT_LT(s.sq8().size_bytes(), s.size_bytes() / 2);
  }
  absl::StatusOr<BundleManifest> read = ReadManifest(path());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version(), manifest_.version());
  auto b = MustLoad(path());
  ASSERT_NE(b, nullptr);
  const std::vector<int64_t> rows = {0, 249, 250, 499};
  absl::StatusOr<std::vector<float>> v = b->Reconstruct(rows);
  ASSERT_TRUE(v.ok()) << v.status();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int j = 0; j < d_; ++j) ASSERT_EQ((*v)[i * d_ + j], x_[rows[i] * d_ + j]);
  }
  // The digest covers the store: dropping it changes the version.
  BundleManifest without = manifest_;
  without.mutable_index()->clear_flat_store();
  for (ShardEntry& s : *without.mutable_shards()) s.clear_sq8();
  EXPECT_NE(ComputeContentDigest(without), manifest_.content_digest());
}

TEST_F(Sq8Bundle, CountersAddUpOverShardsAndAFloat32BundleHasNone) {
  auto sq8 = MustLoad(path());
  ASSERT_NE(sq8, nullptr);
  ASSERT_TRUE(sq8->sq8_counters().has_value());
  EXPECT_EQ(sq8->sq8_counters()->queries, 0);
  const int64_t nq = 5;
  const int k = 20;
  const std::vector<float> q = GaussianVectors(nq, d_, 9, true);
  SearchAll(*sq8, q, k);
  SearchAll(*sq8, std::vector<float>(q.begin(), q.begin() + d_), k);  // one more query
  const Sq8Counters c = *sq8->sq8_counters();
  EXPECT_EQ(c.queries, (nq + 1) * 2) << "each query counts once in each of the 2 shards";
  EXPECT_GE(c.second_scans, 0);
  EXPECT_LE(c.second_scans, c.queries);
  // Every shard re-ranks at least k rows per query (its short list holds at least k).
  EXPECT_GE(c.rows_reranked, c.queries * k);

  ScratchDir dir;
  MustWrite(dir.file("fp32"), x_, n_, d_, model::Metric::kInnerProduct, FlatStore::kFp32, 2);
  auto fp32 = MustLoad(dir.file("fp32"));
  ASSERT_NE(fp32, nullptr);
  EXPECT_FALSE(fp32->sq8_counters().has_value());
}

TEST_F(Sq8Bundle, CorruptStoreIsDataLossNamingIt) {
  std::string bytes = ReadTestFile(file(manifest_.shards(1).sq8().file()));
  bytes[bytes.size() - 5] ^= 0x21;
  WriteTestFile(file(manifest_.shards(1).sq8().file()), bytes);
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("shard-00001.sq8"), std::string::npos) << st;
  EXPECT_NE(st.message().find("SHA-256"), std::string::npos) << st;
}

TEST_F(Sq8Bundle, MalformedStoreIsDataLossEvenWithoutChecksums) {
  // A bad magic, checked structurally when hashes are skipped.
  const std::string name = manifest_.shards(0).sq8().file();
  std::string bytes = ReadTestFile(file(name));
  bytes[0] = 'X';
  WriteTestFile(file(name), bytes);
  absl::Status st = Load(/*verify=*/false);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("bad magic"), std::string::npos) << st;
}

TEST_F(Sq8Bundle, TruncatedStoreWithAMatchingManifestIsDataLoss) {
  const std::string name = manifest_.shards(0).sq8().file();
  std::string bytes = ReadTestFile(file(name));
  bytes.resize(bytes.size() - d_);
  WriteTestFile(file(name), bytes);
  // The manifest vouches for the truncated file: only the store's own check can catch it.
  EditManifest([&](BundleManifest* m) {
    m->mutable_shards(0)->mutable_sq8()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    m->mutable_shards(0)->mutable_sq8()->set_sha256(Sha256Hex(bytes));
  });
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st;
}

TEST_F(Sq8Bundle, MissingStoreIsNotFound) {
  std::filesystem::remove(file(manifest_.shards(1).sq8().file()));
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_NE(st.message().find("shard-00001.sq8"), std::string::npos) << st;
}

TEST_F(Sq8Bundle, InconsistentManifestsAreRejected) {
  EditManifest([](BundleManifest* m) { m->mutable_shards(1)->clear_sq8(); });
  EXPECT_EQ(Load().code(), absl::StatusCode::kDataLoss);
  EditManifest([](BundleManifest* m) { m->mutable_index()->set_flat_store("sq4"); });
  EXPECT_EQ(Load().code(), absl::StatusCode::kDataLoss);
  EditManifest([](BundleManifest* m) { m->mutable_index()->clear_flat_store(); });
  absl::Status st = Load();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("without flat_store sq8"), std::string::npos) << st;
}

TEST(Sq8Flat, SpecRejectsTheStoreOutsideFlat) {
  IndexSpec spec;
  spec.type = IndexType::kHnsw;
  spec.flat_store = FlatStore::kSq8;
  EXPECT_EQ(ResolveIndexSpec(spec, 1000, 16).status().code(), absl::StatusCode::kInvalidArgument);
  spec.type = IndexType::kFlat;
  EXPECT_TRUE(ResolveIndexSpec(spec, 1000, 16).ok());
  EXPECT_EQ(ParseFlatStore("").value(), FlatStore::kFp32);
  EXPECT_EQ(ParseFlatStore("sq8").value(), FlatStore::kSq8);
  EXPECT_FALSE(ParseFlatStore("fp16").ok());
}

}  // namespace
}  // namespace geoloc::index
