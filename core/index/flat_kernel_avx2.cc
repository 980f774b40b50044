// AVX2 + FMA scoring for flat_kernel.cc and sq8_kernel.cc; compiled with -mavx2 -mfma (see
// CMakeLists.txt) and only called after DetectKernelIsa() confirmed the CPU and OS support them.
#include "core/index/flat_kernel_isa.h"

#if GEOLOC_X86
#include <immintrin.h>

#include <cstdint>

namespace geoloc::index::internal {
namespace {

struct Isa {
  using Vec = __m256;
  static constexpr int kWidth = 8;
  // 2 rows x 5 queries = 10 accumulators + 2 row vectors + query + temporary of 16 registers.
  static constexpr int kRowTile = 2;
  static constexpr int kQueryTile = 5;
  static Vec Zero() { return _mm256_setzero_ps(); }
  static Vec Load(const float* p) { return _mm256_loadu_ps(p); }
  // vmaskmovps does not fault on masked-off lanes, so the tail never reads past the row.
  static Vec LoadTail(const float* p, int n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes);
    return _mm256_maskload_ps(p, mask);
  }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec Sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static float Sum(Vec v) {
    const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)));
  }
  // 8 codes: zero-extended to 32-bit integers, converted exactly to floats.
  static Vec LoadCodes(const uint8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static Vec LoadCodesTail(const uint8_t* p, int n) {
    alignas(16) uint8_t buf[16] = {};
    for (int i = 0; i < n; ++i) buf[i] = p[i];
    return LoadCodes(buf);
  }
};

#include "core/index/flat_kernel_tiles.inc"
#include "core/index/sq8_kernel_tiles.inc"

}  // namespace

void ScoreBlockAvx2(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                    float* out, int64_t ldo) {
  ScoreBlockDispatch(x, rows, d, queries, nq, l2, out, ldo);
}

void ScoreCodesAvx2(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                    float* out, int64_t ldo) {
  ScoreCodesImpl(codes, rows, d, queries, nq, out, ldo);
}

}  // namespace geoloc::index::internal

#endif  // GEOLOC_X86
