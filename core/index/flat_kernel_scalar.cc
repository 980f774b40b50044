// Portable scoring for flat_kernel.cc and sq8_kernel.cc, for CPUs without AVX2 (compiled for the
// baseline target).
#include <cstdint>

#include "core/index/flat_kernel_isa.h"

namespace geoloc::index::internal {
namespace {

struct Isa {
  using Vec = float;
  static constexpr int kWidth = 1;
  static constexpr int kRowTile = 4;
  static constexpr int kQueryTile = 4;
  static Vec Zero() { return 0.0f; }
  static Vec Load(const float* p) { return *p; }
  static Vec LoadTail(const float* p, int n) { return n > 0 ? *p : 0.0f; }
  static Vec Fma(Vec a, Vec b, Vec c) { return a * b + c; }
  static Vec Sub(Vec a, Vec b) { return a - b; }
  static float Sum(Vec v) { return v; }
  static Vec LoadCodes(const uint8_t* p) { return static_cast<float>(*p); }
  static Vec LoadCodesTail(const uint8_t* p, int n) {
    return n > 0 ? static_cast<float>(*p) : 0.0f;
  }
};

#include "core/index/flat_kernel_tiles.inc"
#include "core/index/sq8_kernel_tiles.inc"

}  // namespace

void ScoreBlockScalar(const float* x, int64_t rows, int d, const float* queries, int nq, bool l2,
                      float* out, int64_t ldo) {
  ScoreBlockDispatch(x, rows, d, queries, nq, l2, out, ldo);
}

void ScoreCodesScalar(const uint8_t* codes, int64_t rows, int d, const float* queries, int nq,
                      float* out, int64_t ldo) {
  ScoreCodesImpl(codes, rows, d, queries, nq, out, ldo);
}

}  // namespace geoloc::index::internal
