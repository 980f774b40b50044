// Exact (brute-force) top-k search over float32 vectors: the fast path behind flat bundles.
//
//   ExactSearchOptions opts;  opts.threads = 2;
//   ExactSearch(db, n, d, model::Metric::kInnerProduct, queries, nq, 10, scores, rows, opts);
//
// Why not faiss::IndexFlat: Debian's Faiss is compiled for baseline x86-64 (SSE2 only) and uses
// BLAS only from 20 queries up; measured on 100,000 x 512 (docs/BENCHMARKS.md) this kernel is
// several times faster at every batch size. It tiles the database into cache-sized blocks, scores
// a tile of rows against a tile of queries in registers (AVX-512 or AVX2+FMA, chosen at run time
// from CPUID; a portable scalar path otherwise), then keeps each query's k best with a bounded
// heap that rejects almost every row with one comparison. Threads split the database, each keeps
// its own heaps, and the heaps are merged at the end.
//
// Results (case table):
//   metric          score written                 order
//   kInnerProduct   <q, x>                        highest first
//   kL2             squared L2 distance |q - x|^2 lowest first (Faiss's convention)
//   ties            equal scores                  lower row first (deterministic)
//   k > n           rows n..k-1 of the output     row -1, score -inf (IP) / +inf (L2)
//
// A row's score is computed by the same instruction sequence whatever the tiling, threading or
// sharding, so results are bit-identical across thread counts and shard splits on one machine.
// Different instruction sets (AVX-512 vs AVX2 vs scalar) round differently in the last bits.
//
// Stateless functions: safe to call concurrently; each call uses up to `threads` OpenMP threads.
#ifndef GEOLOC_CORE_INDEX_FLAT_KERNEL_H_
#define GEOLOC_CORE_INDEX_FLAT_KERNEL_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/model/model_info.h"

namespace geoloc::index {

// Which scoring code runs. kAuto picks the best the CPU supports.
enum class KernelIsa { kAuto, kScalar, kAvx2, kAvx512 };
absl::string_view KernelIsaName(KernelIsa isa);  // "auto", "scalar", "avx2", "avx512"
// The best instruction set this CPU (and OS) supports: never kAuto.
KernelIsa DetectKernelIsa();

struct ExactSearchOptions {
  int threads = 0;                   // 0: OpenMP's default (omp_get_max_threads())
  KernelIsa isa = KernelIsa::kAuto;  // forcing one the CPU lacks falls back to DetectKernelIsa()
};

// Searches the n x d row-major database `x` for the k best rows of each of the nq x d queries.
// Writes nq * k scores and rows (row-major by query). Requires n >= 0, d > 0, nq >= 0, k > 0 and
// valid pointers; the caller validates (this is the inner loop).
void ExactSearch(const float* x, int64_t n, int d, model::Metric metric, const float* queries,
                 int64_t nq, int k, float* scores, int64_t* rows,
                 const ExactSearchOptions& options = {});

// The same over only the `subset_size` rows listed in `subset` (ascending, unique, each < the
// database's row count): the rows are gathered block by block and scored by the same code, so a
// row's score is bit-identical to ExactSearch's. Results are database rows; k > subset_size pads
// with row -1. The filtered search of a search area (fast_flat_index.h).
void ExactSearchRows(const float* x, const int64_t* subset, int64_t subset_size, int d,
                     model::Metric metric, const float* queries, int64_t nq, int k, float* scores,
                     int64_t* rows, const ExactSearchOptions& options = {});

// Scores of every query against every row into out[q * ldo + r] (inner products, or squared L2
// distances), exposed for tests and re-ranking. Single-threaded.
void ComputeScores(const float* x, int64_t n, int d, model::Metric metric, const float* queries,
                   int nq, float* out, int64_t ldo, KernelIsa isa = KernelIsa::kAuto);

// Inner products of nq float queries with n rows of 8-bit codes (d bytes per row, row-major):
// out[q * ldo + r] = sum_j queries[q][j] * codes[r][j], with the same tiles and instruction-set
// choice as the float kernel (a row's value does not depend on tiling). The scan of the sq8 flat
// store (sq8_flat_index.h), which folds its per-dimension scales into the queries. Single-threaded.
void ScoreCodes(const uint8_t* codes, int64_t n, int d, const float* queries, int nq, float* out,
                int64_t ldo, KernelIsa isa = KernelIsa::kAuto);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_FLAT_KERNEL_H_
