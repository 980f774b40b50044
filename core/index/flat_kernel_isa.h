// Internal to flat_kernel.cc: the per-instruction-set scoring entry points. Each lives in its own
// translation unit compiled with that unit's -m flags (core/index/CMakeLists.txt), and shares the
// template in flat_kernel_tiles.inc. Nothing else may include this header.
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

}  // namespace geoloc::index::internal

#endif  // GEOLOC_CORE_INDEX_FLAT_KERNEL_ISA_H_
