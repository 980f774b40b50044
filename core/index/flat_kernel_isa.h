// Internal to flat_kernel.cc and sq8_kernel.cc: the per-instruction-set scoring entry points. Each
// lives in its own translation unit compiled with that unit's -m flags (core/index/CMakeLists.txt),
// and shares the template in flat_kernel_tiles.inc (sq8_kernel_tiles.inc for the 8-bit codes).
// Nothing else may include this header.
#ifndef GEOLOC_CORE_INDEX_FLAT_KERNEL_ISA_H_
#define GEOLOC_CORE_INDEX_FLAT_KERNEL_ISA_H_

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#define GEOLOC_X86 1
#else
#define GEOLOC_X86 0
#endif

namespace geoloc::index::internal {

// out[q * ldo + r] = <x_r, q_q> (l2 == false) or |x_r - q_q|^2 (l2 == true), for r < rows and
// q < nq. x and queries are row-major with d floats per row; any alignment.
using ScoreBlockFn = void (*)(const float* x, int64_t rows, int d, const float* queries, int nq,
                              bool l2, float* out, int64_t ldo);

void ScoreBlockScalar(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                      float* out, int64_t ldo);
#if GEOLOC_X86
void ScoreBlockAvx2(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                    float* out, int64_t ldo);
void ScoreBlockAvx512(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                      float* out, int64_t ldo);
#endif

// The 8-bit scalar-quantised store's inner products (sq8_kernel.h): out[q * ldo + r] =
// sum_j queries[q][j] * codes[r][j], codes row-major with d bytes per row.
using ScoreCodesFn = void (*)(const uint8_t* codes, int64_t rows, int d, const float* queries,
                              int nq, float* out, int64_t ldo);

void ScoreCodesScalar(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                      float* out, int64_t ldo);
#if GEOLOC_X86
void ScoreCodesAvx2(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                    float* out, int64_t ldo);
void ScoreCodesAvx512(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                      float* out, int64_t ldo);
#endif

}  // namespace geoloc::index::internal

#endif  // GEOLOC_CORE_INDEX_FLAT_KERNEL_ISA_H_
