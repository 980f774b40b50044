// Filtered search (a search area's rows, row_set.h): every index type returns the k best rows of
// the set, which a brute force over the set alone gives, and never a row outside it.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index/bundle.h"
#include "core/index/bundle_writer.h"
#include "core/index/flat_kernel.h"
#include "core/index/row_set.h"
#include "gtest/gtest.h"
#include "tests/index/test_util.h"
#include "tests/support/scratch_dir.h"

namespace geoloc::index {
namespace {

using ::geoloc::testing::ScratchDir;
using testing::GaussianVectors;
using testing::TestModel;
using testing::TestRows;

constexpr int kDim = 32;
constexpr int64_t kRows = 6000;
constexpr int64_t kQueries = 7;
constexpr int kK = 20;

// Every `stride`-th row from `first`: a set spread over the whole index (and every shard).
RowSet EveryNth(int64_t first, int64_t stride) {
  std::vector<int64_t> rows;
  for (int64_t r = first; r < kRows; r += stride) rows.push_back(r);
  return RowSet(std::move(rows), kRows);
}

// The k best rows of the set for each query, in double precision (inner product).
std::vector<std::vector<int64_t>> BruteForce(const std::vector<float>& x,
                                             const std::vector<float>& q, const RowSet& set,
                                             int k) {
  std::vector<std::vector<int64_t>> out(kQueries);
  for (int64_t i = 0; i < kQueries; ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t r : set.rows()) {
      double s = 0;
      for (int j = 0; j < kDim; ++j) s += double{q[i * kDim + j]} * x[r * kDim + j];
      all.emplace_back(-s, r);
    }
    std::sort(all.begin(), all.end());
    for (int j = 0; j < k && j < static_cast<int>(all.size()); ++j) out[i].push_back(all[j].second);
  }
  return out;
}

std::vector<std::vector<int64_t>> Rows(const std::vector<std::vector<Neighbor>>& hits) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& h : hits) {
    out.emplace_back();
    for (const Neighbor& nb : h) out.back().push_back(nb.row);
  }
  return out;
}

struct Case {
  std::string name;
  IndexType type;
  int shards;
  FlatStore store = FlatStore::kFp32;
};

std::shared_ptr<const Bundle> Build(const ScratchDir& dir, const Case& c,
                                    const std::vector<float>& x) {
  BundleWriteOptions o;
  o.output = dir.file(c.name);
  o.index.type = c.type;
  o.shards = c.shards;
  o.index.flat_store = c.store;
  o.show_progress = false;
  if (IsIvf(c.type)) o.index.nlist = 32;
  if (c.type == IndexType::kIvfPq) {
    o.index.pq_m = 8;
    o.index.refine = RefineType::kFlat;
  }
  absl::Status st = WriteBundle(x.data(), kRows, TestModel(kDim), TestRows(kRows), o).status();
  EXPECT_TRUE(st.ok()) << st;
  absl::StatusOr<std::shared_ptr<const Bundle>> b = Bundle::Load(o.output);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : nullptr;
}

class FilteredSearch : public ::testing::TestWithParam<Case> {};

// Sets of 0.5% of the rows (a town in a country-wide bundle), 20% and 50%. Flat (the project's
// kernel, one shard or three; the sq8 store's scan with exact re-ranking, two shards) and HNSW
// (exact over the set) must equal the brute force row for row. IVF scores a set smaller than its probed lists exactly (0.5%, 20%: nprobe 4 / share
// reaches all 32 lists, or 20 of them, holding more than the set) and must then equal it too at
// 0.5%; at 50% it probes 8 lists with the selector and must find most of the true rows. No
// index may return a row outside the set.
TEST_P(FilteredSearch, ReturnsTheSetsBestRows) {
  const Case& c = GetParam();
  ScratchDir dir;
  const auto x = GaussianVectors(kRows, kDim, 11, /*normalise=*/true);
  const auto q = GaussianVectors(kQueries, kDim, 12, /*normalise=*/true);
  auto bundle = Build(dir, c, x);
  ASSERT_NE(bundle, nullptr);
  const bool exact_always = c.type == IndexType::kFlat || c.type == IndexType::kHnsw;
  // recall@k of a search (filter null: the whole bundle) against the brute force over `set`.
  auto recall = [&](const RowSet& set, const RowSet* filter, bool expect_exact) {
    SearchParams sp;
    sp.k = kK;
    sp.nprobe = 4;
    sp.filter = filter;
    absl::StatusOr<std::vector<std::vector<Neighbor>>> hits = bundle->Search(q, sp);
    EXPECT_TRUE(hits.ok()) << hits.status();
    if (!hits.ok()) return 0.0;
    const auto want = BruteForce(x, q, set, kK);
    const auto got = Rows(*hits);
    int64_t found = 0, total = 0;
    for (int64_t i = 0; i < kQueries; ++i) {
      for (int64_t r : got[i]) EXPECT_TRUE(set.Contains(r)) << "row " << r << " is outside";
      if (expect_exact) {
        EXPECT_EQ(got[i], want[i]) << "query " << i;
      }
      for (int64_t r : want[i]) {
        found += std::count(got[i].begin(), got[i].end(), r);
        ++total;
      }
    }
    return static_cast<double>(found) / total;
  };
  const RowSet everything = EveryNth(0, 1);
  const double unfiltered = recall(everything, nullptr, c.type == IndexType::kFlat);
  for (int64_t stride : {200, 5, 2}) {
    SCOPED_TRACE(absl::StrCat(c.name, " stride ", stride));
    const RowSet set = EveryNth(7, stride);
    const double filtered = recall(set, &set, exact_always || stride >= 5);
    // At 50% the IVF probes twice the lists: its recall must not fall below the unfiltered one's
    // (without the rule it would: half the scanned vectors are not members).
    EXPECT_GE(filtered, unfiltered - 0.02) << "unfiltered recall " << unfiltered;
  }
}

// Fewer rows in the set than k: exactly those rows, best first; an empty set: no result.
TEST_P(FilteredSearch, SmallAndEmptySets) {
  const Case& c = GetParam();
  ScratchDir dir;
  const auto x = GaussianVectors(kRows, kDim, 21, true);
  const auto q = GaussianVectors(kQueries, kDim, 22, true);
  auto bundle = Build(dir, c, x);
  ASSERT_NE(bundle, nullptr);
  const RowSet few({3, 1500, 2999, 3000, 5999}, kRows);
  SearchParams sp;
  sp.k = kK;
  sp.filter = &few;
  absl::StatusOr<std::vector<std::vector<Neighbor>>> hits = bundle->Search(q, sp);
  ASSERT_TRUE(hits.ok()) << hits.status();
  const auto want = BruteForce(x, q, few, kK);
  EXPECT_EQ(Rows(*hits), want);
  for (const auto& h : *hits) EXPECT_EQ(h.size(), 5u);

  const RowSet none({}, kRows);
  sp.filter = &none;
  hits = bundle->Search(q, sp);
  ASSERT_TRUE(hits.ok()) << hits.status();
  for (const auto& h : *hits) EXPECT_TRUE(h.empty());

  const RowSet other_bundle({1, 2}, kRows + 1);
  sp.filter = &other_bundle;
  EXPECT_EQ(bundle->Search(q, sp).status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    Indexes, FilteredSearch,
    ::testing::Values(Case{"flat", IndexType::kFlat, 1}, Case{"flat3", IndexType::kFlat, 3},
                      Case{"flat_sq8", IndexType::kFlat, 2, FlatStore::kSq8},
                      Case{"hnsw", IndexType::kHnsw, 1}, Case{"hnsw2", IndexType::kHnsw, 2},
                      Case{"ivf", IndexType::kIvfFlat, 1}, Case{"ivf3", IndexType::kIvfFlat, 3},
                      Case{"ivfpq_rerank", IndexType::kIvfPq, 2}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The kernel's gather gives the scores ExactSearch gives for the same rows, bit for bit.
TEST(ExactSearchRows, SameScoresAsTheFullScan) {
  const auto x = GaussianVectors(kRows, kDim, 31, true);
  const auto q = GaussianVectors(kQueries, kDim, 32, true);
  std::vector<float> all_scores(kQueries * kRows);
  std::vector<int64_t> all_rows(kQueries * kRows);
  ExactSearch(x.data(), kRows, kDim, model::Metric::kInnerProduct, q.data(), kQueries, kRows,
              all_scores.data(), all_rows.data());
  const RowSet set = EveryNth(1, 3);
  std::vector<float> scores(kQueries * kK);
  std::vector<int64_t> rows(kQueries * kK);
  ExactSearchRows(x.data(), set.rows().data(), set.size(), kDim, model::Metric::kInnerProduct,
                  q.data(), kQueries, kK, scores.data(), rows.data());
  for (int64_t i = 0; i < kQueries; ++i) {
    int j = 0;
    for (int64_t p = 0; p < kRows && j < kK; ++p) {
      const int64_t r = all_rows[i * kRows + p];
      if (!set.Contains(r)) continue;
      EXPECT_EQ(rows[i * kK + j], r);
      EXPECT_EQ(scores[i * kK + j], all_scores[i * kRows + p]);
      ++j;
    }
  }
}

}  // namespace
}  // namespace geoloc::index
