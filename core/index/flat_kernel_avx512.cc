// AVX-512F scoring for flat_kernel.cc and sq8_kernel.cc; compiled with -mavx512f (see
// CMakeLists.txt) and only called after DetectKernelIsa() confirmed the CPU and OS support it.
#include "core/index/flat_kernel_isa.h"

#if GEOLOC_X86
#include <immintrin.h>

#include <cstdint>

namespace geoloc::index::internal {
namespace {

struct Isa {
  using Vec = __m512;
  static constexpr int kWidth = 16;
  // 4 rows x 6 queries = 24 accumulators + 4 row vectors + 1 query vector of 32 registers.
  static constexpr int kRowTile = 4;
  static constexpr int kQueryTile = 6;
  static Vec Zero() { return _mm512_setzero_ps(); }
  static Vec Load(const float* p) { return _mm512_loadu_ps(p); }
  // Masked-off lanes are not read, so the tail never touches memory past the row.
  static Vec LoadTail(const float* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec Sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  // Halves, then quarters, then SSE. The masked intrinsics name their pass-through operand:
  // GCC 12's unmasked ones (and _mm512_reduce_add_ps) pass an "undefined" register that trips
  // -Wuninitialized inside the compiler's own header.
  static float Sum(Vec v) {
    const __m512 halves =
        _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m512 quarters = _mm512_add_ps(
        halves, _mm512_mask_shuffle_f32x4(halves, 0xFFFF, halves, halves, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m128 q = _mm512_mask_extractf32x4_ps(_mm_setzero_ps(), 0xF, quarters, 0);
    const __m128 pairs = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
  }
  // 16 codes: zero-extended to 32-bit integers, converted exactly to floats (masked forms for
  // the same -Wuninitialized reason as Sum).
  static Vec LoadCodes(const uint8_t* p) {
    const __m512i ints =
        _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm512_maskz_cvtepi32_ps(0xFFFF, ints);
  }
  // Byte-masked loads need AVX-512BW: copy the tail instead.
  static Vec LoadCodesTail(const uint8_t* p, int n) {
    alignas(16) uint8_t buf[16] = {};
    for (int i = 0; i < n; ++i) buf[i] = p[i];
    return LoadCodes(buf);
  }
};

#include "core/index/flat_kernel_tiles.inc"
#include "core/index/sq8_kernel_tiles.inc"

}  // namespace

void ScoreBlockAvx512(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                      float* out, int64_t ldo) {
  ScoreBlockDispatch(x, rows, d, queries, nq, l2, out, ldo);
}

void ScoreCodesAvx512(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                      float* out, int64_t ldo) {
  ScoreCodesImpl(codes, rows, d, queries, nq, out, ldo);
}

}  // namespace geoloc::index::internal

#endif  // GEOLOC_X86
