// Helpers shared by the index tests: random and exactly representable vectors, metadata rows, a
// test model's metadata, recall@k.
#ifndef GEOLOC_TESTS_INDEX_TEST_UTIL_H_
#define GEOLOC_TESTS_INDEX_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index/metadata.h"
#include "core/model/model_info.h"

namespace geoloc::index::testing {

inline std::vector<float> GaussianVectors(int64_t n, int d, uint32_t seed, bool normalise) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(n) * d);
  for (float& v : x) v = dist(rng);
  if (normalise) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int j = 0; j < d; ++j) s += double{x[i * d + j]} * x[i * d + j];
      const float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (int j = 0; j < d; ++j) x[i * d + j] *= inv;
    }
  }
  return x;
}

// Small integers: every dot product and squared distance is an exact integer in float, whatever
// the summation order, so exact search results can be compared bit for bit.
inline std::vector<float> IntegerVectors(int64_t n, int d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<float> x(static_cast<size_t>(n) * d);
  for (float& v : x) v = static_cast<float>(dist(rng));
  return x;
}

inline std::vector<MetadataRow> TestRows(int64_t n) {
  std::vector<MetadataRow> rows(n);
  for (int64_t i = 0; i < n; ++i) {
    rows[i].id = 1000 + i;
    rows[i].lat = -80.0 + 160.0 * static_cast<double>(i) / static_cast<double>(n);
    rows[i].lon = -179.0 + 358.0 * static_cast<double>((i * 7919) % n) / static_cast<double>(n);
    rows[i].source = absl::StrCat("images/img_", i, ".jpg");
    rows[i].group = i % 3 == 0 ? std::string() : absl::StrCat("place-", i / 5);
  }
  return rows;
}

inline model::ModelInfo TestModel(int dim, model::Metric metric = model::Metric::kInnerProduct) {
  model::ModelInfo info;
  info.name = "test-model";
  info.backbone = "none";
  info.head = "none";
  info.dim = dim;
  info.metric = metric;
  info.fingerprint = "0123456789abcdef0123456789abcdef";
  return info;
}

// recall@k of `approx` against `exact` (n x k rows each; -1 entries of exact ignored).
inline double RecallAtK(const std::vector<int64_t>& exact, const std::vector<int64_t>& approx,
                        int64_t n, int k) {
  int64_t hits = 0, total = 0;
  for (int64_t q = 0; q < n; ++q) {
    for (int i = 0; i < k; ++i) {
      const int64_t e = exact[q * k + i];
      if (e < 0) continue;
      ++total;
      for (int j = 0; j < k; ++j) {
        if (approx[q * k + j] == e) {
          ++hits;
          break;
        }
      }
    }
  }
  return total == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(total);
}

}  // namespace geoloc::index::testing

#endif  // GEOLOC_TESTS_INDEX_TEST_UTIL_H_
