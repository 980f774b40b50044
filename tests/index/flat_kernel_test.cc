#include "core/index/flat_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "tests/index/test_util.h"

namespace geoloc::index {
namespace {

using testing::GaussianVectors;
using testing::IntegerVectors;

struct Ref {
  std::vector<float> scores;
  std::vector<int64_t> rows;
};

// Naive reference in double precision: each score, then a full sort by (better score, lower row).
Ref BruteForce(const std::vector<float>& x, int64_t n, int d, model::Metric metric,
               const std::vector<float>& q, int64_t nq, int k) {
  const bool l2 = metric == model::Metric::kL2;
  Ref ref;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<double> s(n);
    for (int64_t r = 0; r < n; ++r) {
      double acc = 0;
      for (int j = 0; j < d; ++j) {
        const double a = q[i * d + j], b = x[r * d + j];
        acc += l2 ? (a - b) * (a - b) : a * b;
      }
      s[r] = acc;
    }
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return l2 ? s[a] < s[b] : s[a] > s[b]; });
    for (int j = 0; j < k; ++j) {
      if (j < n) {
        ref.rows.push_back(order[j]);
        ref.scores.push_back(static_cast<float>(s[order[j]]));
      } else {
        ref.rows.push_back(-1);
        ref.scores.push_back(l2 ? std::numeric_limits<float>::infinity()
                                : -std::numeric_limits<float>::infinity());
      }
    }
  }
  return ref;
}

std::vector<KernelIsa> AvailableIsas() {
  std::vector<KernelIsa> out = {KernelIsa::kScalar};
  if (DetectKernelIsa() == KernelIsa::kAvx2 || DetectKernelIsa() == KernelIsa::kAvx512) {
    out.push_back(KernelIsa::kAvx2);
  }
  if (DetectKernelIsa() == KernelIsa::kAvx512) out.push_back(KernelIsa::kAvx512);
  return out;
}

// Integer data: every score is exact in float whatever the order of summation, so the kernel
// must reproduce the reference bit for bit, including the tie order (many ties here).
TEST(FlatKernel, EqualsBruteForceExactlyOnIntegerData) {
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    for (int d : {1, 7, 16, 37, 64}) {
      for (int64_t n : {int64_t{1}, int64_t{50}, int64_t{3001}, int64_t{20000}}) {
        const auto x = IntegerVectors(n, d, 11 + d);
        const int64_t nq = 13;  // not a multiple of any query tile
        const auto q = IntegerVectors(nq, d, 99 + d);
        const int k = 25;
        const Ref ref = BruteForce(x, n, d, metric, q, nq, k);
        for (KernelIsa isa : AvailableIsas()) {
          for (int threads : {1, 2, 3}) {
            ExactSearchOptions opts;
            opts.isa = isa;
            opts.threads = threads;
            std::vector<float> scores(nq * k);
            std::vector<int64_t> rows(nq * k);
            ExactSearch(x.data(), n, d, metric, q.data(), nq, k, scores.data(), rows.data(), opts);
            SCOPED_TRACE(::testing::Message()
                         << "metric " << static_cast<int>(metric) << " d " << d << " n " << n
                         << " isa " << KernelIsaName(isa) << " threads " << threads);
            ASSERT_EQ(rows, ref.rows);
            ASSERT_EQ(scores, ref.scores);
          }
        }
      }
    }
  }
}

// Many queries against a small database (a coarse quantizer, a PQ codebook) take the
// query-parallel path; it must give the same exact answers.
TEST(FlatKernel, ManyQueriesAgainstFewRowsAreExact) {
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    const int d = 8;
    const int64_t n = 300, nq = 1100;
    const int k = 3;
    const auto x = IntegerVectors(n, d, 21);
    const auto q = IntegerVectors(nq, d, 22);
    const Ref ref = BruteForce(x, n, d, metric, q, nq, k);
    ExactSearchOptions opts;
    opts.threads = 2;
    std::vector<float> scores(nq * k);
    std::vector<int64_t> rows(nq * k);
    ExactSearch(x.data(), n, d, metric, q.data(), nq, k, scores.data(), rows.data(), opts);
    EXPECT_EQ(rows, ref.rows);
    EXPECT_EQ(scores, ref.scores);
  }
}

TEST(FlatKernel, MatchesDoublePrecisionOnGaussianData) {
  const int d = 96;
  const int64_t n = 30000, nq = 17;
  const int k = 10;
  const auto x = GaussianVectors(n, d, 1, /*normalise=*/true);
  const auto q = GaussianVectors(nq, d, 2, /*normalise=*/true);
  for (model::Metric metric : {model::Metric::kInnerProduct, model::Metric::kL2}) {
    const Ref ref = BruteForce(x, n, d, metric, q, nq, k);
    std::vector<float> scores(nq * k);
    std::vector<int64_t> rows(nq * k);
    ExactSearch(x.data(), n, d, metric, q.data(), nq, k, scores.data(), rows.data());
    EXPECT_EQ(rows, ref.rows);
    for (size_t i = 0; i < scores.size(); ++i) EXPECT_NEAR(scores[i], ref.scores[i], 1e-5);
  }
}

TEST(FlatKernel, FillsMissingResultsWhenKExceedsN) {
  const int d = 8;
  const auto x = IntegerVectors(3, d, 5);
  const auto q = IntegerVectors(2, d, 6);
  std::vector<float> scores(2 * 5);
  std::vector<int64_t> rows(2 * 5);
  ExactSearch(x.data(), 3, d, model::Metric::kL2, q.data(), 2, 5, scores.data(), rows.data());
  for (int i = 0; i < 2; ++i) {
    for (int j = 3; j < 5; ++j) {
      EXPECT_EQ(rows[i * 5 + j], -1);
      EXPECT_EQ(scores[i * 5 + j], std::numeric_limits<float>::infinity());
    }
    std::vector<int64_t> got(rows.begin() + i * 5, rows.begin() + i * 5 + 3);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2}));
  }
}

TEST(FlatKernel, ComputeScoresMatchesDefinition) {
  const int d = 21;
  const auto x = IntegerVectors(9, d, 3);
  const auto q = IntegerVectors(4, d, 4);
  for (KernelIsa isa : AvailableIsas()) {
    std::vector<float> out(4 * 9);
    ComputeScores(x.data(), 9, d, model::Metric::kInnerProduct, q.data(), 4, out.data(), 9, isa);
    for (int i = 0; i < 4; ++i) {
      for (int r = 0; r < 9; ++r) {
        float dot = 0;
        for (int j = 0; j < d; ++j) dot += q[i * d + j] * x[r * d + j];
        EXPECT_EQ(out[i * 9 + r], dot) << KernelIsaName(isa);
      }
    }
  }
}

// A row's score must not depend on how rows are split over threads (bitwise, float data).
TEST(FlatKernel, ResultsDoNotDependOnThreadCount) {
  const int d = 512;
  const int64_t n = 40000, nq = 7;
  const auto x = GaussianVectors(n, d, 8, true);
  const auto q = GaussianVectors(nq, d, 9, true);
  std::vector<float> s1(nq * 50), s2(nq * 50);
  std::vector<int64_t> r1(nq * 50), r2(nq * 50);
  ExactSearchOptions one;
  one.threads = 1;
  ExactSearchOptions three;
  three.threads = 3;
  ExactSearch(x.data(), n, d, model::Metric::kInnerProduct, q.data(), nq, 50, s1.data(), r1.data(),
              one);
  ExactSearch(x.data(), n, d, model::Metric::kInnerProduct, q.data(), nq, 50, s2.data(), r2.data(),
              three);
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(s1, s2);
}

TEST(FlatKernel, NamesInstructionSets) {
  EXPECT_EQ(KernelIsaName(KernelIsa::kAvx512), "avx512");
  EXPECT_NE(DetectKernelIsa(), KernelIsa::kAuto);
}

}  // namespace
}  // namespace geoloc::index
