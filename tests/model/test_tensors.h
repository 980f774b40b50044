// Test helpers for the model tests: the build-time data directory (tests/model/make_test_models.py)
// and its GLT1 tensor files: b"GLT1", int32 ndim, int64 dims[ndim], float32 data, little-endian.
//
//   Tensor ref = ReadTensor(DataPath("resnet18-gem.descriptors.glt"));
//   ASSERT_EQ(ref.shape.size(), 2u);
#ifndef GEOLOC_TESTS_MODEL_TEST_TENSORS_H_
#define GEOLOC_TESTS_MODEL_TEST_TENSORS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

#ifndef GEOLOC_MODEL_TEST_DATA_DIR
#error "GEOLOC_MODEL_TEST_DATA_DIR must name the directory make_test_models.py wrote"
#endif

namespace geoloc::model::testing {

// One intra-op thread: ctest runs suites side by side on few cores, where OpenMP's spin-waiting
// worker threads make multi-threaded forward passes several times slower.
inline constexpr int kTestThreads = 1;

inline std::string DataPath(const std::string& name) {
  return std::string(GEOLOC_MODEL_TEST_DATA_DIR) + "/" + name;
}

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t dim(size_t i) const { return shape.at(i); }
};

// Reads a GLT1 file; on any problem records a test failure and returns an empty tensor.
inline Tensor ReadTensor(const std::string& path) {
  Tensor t;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  int32_t ndim = 0;
  if (!in.read(magic, 4) || std::memcmp(magic, "GLT1", 4) != 0 ||
      !in.read(reinterpret_cast<char*>(&ndim), sizeof(ndim)) || ndim < 0 || ndim > 8) {
    ADD_FAILURE() << "not a GLT1 tensor file: " << path;
    return Tensor();
  }
  t.shape.resize(ndim);
  int64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    if (!in.read(reinterpret_cast<char*>(&t.shape[i]), sizeof(int64_t)) || t.shape[i] < 0) {
      ADD_FAILURE() << "bad GLT1 header: " << path;
      return Tensor();
    }
    count *= t.shape[i];
  }
  t.data.resize(count);
  if (!in.read(reinterpret_cast<char*>(t.data.data()), count * sizeof(float))) {
    ADD_FAILURE() << "truncated GLT1 data: " << path;
    return Tensor();
  }
  return t;
}

inline double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  return m;
}

inline double Dot(const float* a, const float* b, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

inline double Pearson(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return 0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) return 0;
  return sab / std::sqrt(saa * sbb);
}

}  // namespace geoloc::model::testing

#endif  // GEOLOC_TESTS_MODEL_TEST_TENSORS_H_
