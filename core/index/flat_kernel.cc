#include "core/index/flat_kernel.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/index/flat_kernel_isa.h"
#include "core/index/flat_kernel_topk.h"

namespace geoloc::index {
namespace {

using internal::Better;
using internal::Candidate;
using internal::TopK;

// Rows per scoring block: the block (at most kBlockBytes of vectors) stays in L2 while every query
// tile passes over it, and the block's scores (queries x rows, at most kScoreBytes) stay small.
constexpr int64_t kBlockBytes = 256 * 1024;
constexpr int64_t kScoreBytes = 512 * 1024;
// Queries per pass: bounds the per-thread score buffer and heaps for huge batches.
constexpr int64_t kQueryChunk = 256;
// Below this many rows per thread, extra threads cost more than they save.
constexpr int64_t kMinRowsPerThread = 8192;

// The instruction set that runs: `isa`, or the best available when it is kAuto or the CPU lacks
// it (a forced instruction set the CPU lacks would crash with SIGILL).
KernelIsa Usable(KernelIsa isa) {
  const KernelIsa best = DetectKernelIsa();
  if (isa == KernelIsa::kAuto) return best;
  if (isa == KernelIsa::kAvx512 && best != KernelIsa::kAvx512) return best;
  if (isa == KernelIsa::kAvx2 && best == KernelIsa::kScalar) return best;
  return isa;
}

internal::ScoreCodesFn CodesFn(KernelIsa isa) {
  switch (Usable(isa)) {
#if GEOLOC_X86
    case KernelIsa::kAvx512:
      return internal::ScoreCodesAvx512;
    case KernelIsa::kAvx2:
      return internal::ScoreCodesAvx2;
#endif
    default:
      return internal::ScoreCodesScalar;
  }
}

internal::ScoreBlockFn ScoreFn(KernelIsa isa) {
  switch (Usable(isa)) {
#if GEOLOC_X86
    case KernelIsa::kAvx512:
      return internal::ScoreBlockAvx512;
    case KernelIsa::kAvx2:
      return internal::ScoreBlockAvx2;
#endif
    default:
      return internal::ScoreBlockScalar;
  }
}

// Feeds one query's block of scores into its heap. Rows arrive in increasing order within a
// thread, so a later row with a key equal to the current worst never enters: `>` suffices.
// `ids`: the block's rows when it was gathered from a subset (ascending), else null (rows
// first_row, first_row + 1, ...).
template <bool kL2>
inline void Scan(const float* scores, int64_t rows, int64_t first_row, const int64_t* ids,
                 TopK* top) {
  auto row_of = [&](int64_t r) { return ids != nullptr ? ids[r] : first_row + r; };
  int64_t r = 0;
  for (; r < rows && !top->Full(); ++r) {
    top->Push({kL2 ? -scores[r] : scores[r], row_of(r)});
  }
  if (r == rows) return;
  float worst = top->WorstKey();
  for (; r < rows; ++r) {
    const float key = kL2 ? -scores[r] : scores[r];
    if (key > worst) {
      top->Push({key, row_of(r)});
      worst = top->WorstKey();
    }
  }
}

}  // namespace

absl::string_view KernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAuto:
      return "auto";
    case KernelIsa::kScalar:
      return "scalar";
    case KernelIsa::kAvx2:
      return "avx2";
    case KernelIsa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

KernelIsa DetectKernelIsa() {
  // libgcc's checks include the OS's XSAVE support for the wider registers.
  static const KernelIsa detected = [] {
#if GEOLOC_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return KernelIsa::kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return KernelIsa::kAvx2;
#endif
    return KernelIsa::kScalar;
  }();
  return detected;
}

void ComputeScores(const float* x, int64_t n, int d, model::Metric metric, const float* queries,
                   int nq, float* out, int64_t ldo, KernelIsa isa) {
  ScoreFn(isa)(x, n, d, queries, nq, metric == model::Metric::kL2, out, ldo);
}

void ScoreCodes(const uint8_t* codes, int64_t n, int d, const float* queries, int nq, float* out,
                int64_t ldo, KernelIsa isa) {
  CodesFn(isa)(codes, n, d, queries, nq, out, ldo);
}

namespace {

// Writes one query's best candidates, sorted, padding with row -1.
void WriteResults(std::vector<Candidate> best, int k, bool l2, float* out_scores,
                  int64_t* out_rows) {
  std::sort(best.begin(), best.end(), Better);
  for (int i = 0; i < k; ++i) {
    if (i < static_cast<int>(best.size())) {
      out_scores[i] = l2 ? -best[i].key : best[i].key;
      out_rows[i] = best[i].row;
    } else {
      out_scores[i] =
          l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
      out_rows[i] = -1;
    }
  }
}

// Scores positions [begin, end) of the row sequence against `chunk` queries block by block into
// `tops`. The sequence is every row (subset == null) or the ascending rows in `subset`, gathered
// block by block into `gathered` so that the same scoring code runs on contiguous vectors.
void ScanRange(internal::ScoreBlockFn score_block, const float* x, const int64_t* subset,
               int64_t begin, int64_t end, int d, bool l2, const float* queries, int chunk,
               int64_t block_rows, std::vector<float>* block_scores, std::vector<float>* gathered,
               TopK* tops) {
  for (int64_t b0 = begin; b0 < end; b0 += block_rows) {
    const int64_t b_rows = std::min(block_rows, end - b0);
    const float* block = x + b0 * d;
    const int64_t* ids = nullptr;
    if (subset != nullptr) {
      gathered->resize(static_cast<size_t>(block_rows) * d);
      for (int64_t r = 0; r < b_rows; ++r) {
        std::copy_n(x + subset[b0 + r] * d, d, gathered->data() + r * d);
      }
      block = gathered->data();
      ids = subset + b0;
    }
    score_block(block, b_rows, d, queries, chunk, l2, block_scores->data(), block_rows);
    for (int q = 0; q < chunk; ++q) {
      const float* s = block_scores->data() + static_cast<size_t>(q) * block_rows;
      if (l2) {
        Scan<true>(s, b_rows, b0, ids, &tops[q]);
      } else {
        Scan<false>(s, b_rows, b0, ids, &tops[q]);
      }
    }
  }
}

// The exact search over every row (subset == null) or the n ascending rows of `subset`.
void Search(const float* x, const int64_t* subset, int64_t n, int d, model::Metric metric,
            const float* queries, int64_t nq, int k, float* scores, int64_t* rows,
            const ExactSearchOptions& options) {
  const bool l2 = metric == model::Metric::kL2;
  const internal::ScoreBlockFn score_block = ScoreFn(options.isa);
  const int64_t block_rows = std::max<int64_t>(
      16, std::min({kBlockBytes / (static_cast<int64_t>(d) * int64_t{sizeof(float)}),
                    kScoreBytes /
                        (std::min(kQueryChunk, std::max<int64_t>(nq, 1)) * int64_t{sizeof(float)}),
                    std::max<int64_t>(n, 1)}));
  const int max_threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  const int64_t chunks = (nq + kQueryChunk - 1) / kQueryChunk;

  // A small database (a coarse quantizer, a PQ codebook) with many queries: threads take whole
  // query chunks, each scanning all rows.
  if (max_threads > 1 && n < 2 * kMinRowsPerThread && chunks > 1) {
#pragma omp parallel for schedule(dynamic) num_threads(max_threads)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t q0 = c * kQueryChunk;
      const int chunk = static_cast<int>(std::min(kQueryChunk, nq - q0));
      std::vector<TopK> tops(chunk);
      for (TopK& t : tops) t.Reset(k);
      std::vector<float> block_scores(static_cast<size_t>(chunk) * block_rows);
      std::vector<float> gathered;
      ScanRange(score_block, x, subset, 0, n, d, l2, queries + q0 * d, chunk, block_rows,
                &block_scores, &gathered, tops.data());
      for (int q = 0; q < chunk; ++q) {
        WriteResults(tops[q].items(), k, l2, scores + (q0 + q) * k, rows + (q0 + q) * k);
      }
    }
    return;
  }

  // Otherwise threads split the database: each streams its own contiguous rows once per chunk
  // of queries, and the per-thread heaps are merged.
  const int threads =
      static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(max_threads, n / kMinRowsPerThread)));
  for (int64_t q0 = 0; q0 < nq; q0 += kQueryChunk) {
    const int chunk = static_cast<int>(std::min(kQueryChunk, nq - q0));
    const float* chunk_queries = queries + q0 * d;
    // tops[t * chunk + q]: thread t's best candidates for query q of this chunk.
    std::vector<TopK> tops(static_cast<size_t>(threads) * chunk);

#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int t = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      TopK* my_tops = tops.data() + static_cast<size_t>(t) * chunk;
      for (int q = 0; q < chunk; ++q) my_tops[q].Reset(k);
      std::vector<float> block_scores(static_cast<size_t>(chunk) * block_rows);
      std::vector<float> gathered;
      ScanRange(score_block, x, subset, n * t / nt, n * (t + 1) / nt, d, l2, chunk_queries, chunk,
                block_rows, &block_scores, &gathered, my_tops);
      // When fewer threads ran than planned, the missing ones' heaps stay empty.
#pragma omp barrier
#pragma omp for schedule(static)
      for (int q = 0; q < chunk; ++q) {
        TopK merged;
        merged.Reset(k);
        for (int s = 0; s < threads; ++s) {
          for (const Candidate& c : tops[static_cast<size_t>(s) * chunk + q].items()) {
            merged.Push(c);
          }
        }
        WriteResults(merged.items(), k, l2, scores + (q0 + q) * k, rows + (q0 + q) * k);
      }
    }
  }
}

}  // namespace

void ExactSearch(const float* x, int64_t n, int d, model::Metric metric, const float* queries,
                 int64_t nq, int k, float* scores, int64_t* rows,
                 const ExactSearchOptions& options) {
  Search(x, nullptr, n, d, metric, queries, nq, k, scores, rows, options);
}

void ExactSearchRows(const float* x, const int64_t* subset, int64_t subset_size, int d,
                     model::Metric metric, const float* queries, int64_t nq, int k, float* scores,
                     int64_t* rows, const ExactSearchOptions& options) {
  Search(x, subset, subset_size, d, metric, queries, nq, k, scores, rows, options);
}

}  // namespace geoloc::index
