#include "core/index/synthetic_vectors.h"

#include <cmath>

namespace geoloc::index {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256** seeded by splitmix64, with Box-Muller normals.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = SplitMix64(&seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1].
  double Uniform() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }
  double Normal() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(Uniform()));
    const double theta = 2.0 * 3.14159265358979323846 * Uniform();
    spare_ = r * std::sin(theta);
    have_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool have_spare_ = false;
};

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull);
  return SplitMix64(&s);
}

void Normalise(float* v, int dim) {
  double n2 = 0;
  for (int j = 0; j < dim; ++j) n2 += static_cast<double>(v[j]) * v[j];
  const double inv = n2 > 0 ? 1.0 / std::sqrt(n2) : 0.0;
  for (int j = 0; j < dim; ++j) v[j] = static_cast<float>(v[j] * inv);
}

constexpr uint64_t kDatabaseStream = 1;
constexpr uint64_t kQueryStream = 2;

}  // namespace

SyntheticVectors::SyntheticVectors(const SyntheticVectorsOptions& options) : options_(options) {
  const int d = options_.dim, c = options_.clusters, l = options_.latent_dim;
  centres_.resize(static_cast<size_t>(c) * d);
  bases_.resize(static_cast<size_t>(c) * l * d);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<float> common(d);
  Rng common_rng(Mix(options_.seed, 0xC0440000ull));
  for (int j = 0; j < d; ++j) common[j] = static_cast<float>(common_rng.Normal());
  Normalise(common.data(), d);
  for (int k = 0; k < c; ++k) {
    Rng rng(Mix(options_.seed, 0x5eed0000ull + k));
    float* centre = centres_.data() + static_cast<size_t>(k) * d;
    for (int j = 0; j < d; ++j) centre[j] = static_cast<float>(rng.Normal());
    Normalise(centre, d);
    for (int j = 0; j < d; ++j) {
      centre[j] = common[j] + static_cast<float>(options_.centre_spread) * centre[j];
    }
    Normalise(centre, d);
    float* basis = bases_.data() + static_cast<size_t>(k) * l * d;
    for (int i = 0; i < l * d; ++i) basis[i] = static_cast<float>(rng.Normal() * scale);
  }
}

int SyntheticVectors::ClusterOf(int64_t row) const {
  return static_cast<int>(Mix(options_.seed ^ 0xC1u, static_cast<uint64_t>(row)) %
                          static_cast<uint64_t>(options_.clusters));
}

std::vector<float> SyntheticVectors::Generate(uint64_t stream, int64_t n, int64_t first) const {
  const int d = options_.dim, l = options_.latent_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<float> out(static_cast<size_t>(n) * d);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = first + i;
    // Queries pick clusters with their own hash so that they are not copies of database rows.
    const int k = stream == kDatabaseStream
                      ? ClusterOf(row)
                      : static_cast<int>(Mix(options_.seed ^ 0x9Eu, static_cast<uint64_t>(row)) %
                                         static_cast<uint64_t>(options_.clusters));
    Rng rng(Mix(Mix(options_.seed, stream), static_cast<uint64_t>(row)));
    float* v = out.data() + static_cast<size_t>(i) * d;
    const float* centre = centres_.data() + static_cast<size_t>(k) * d;
    const float* basis = bases_.data() + static_cast<size_t>(k) * l * d;
    for (int j = 0; j < d; ++j)
      v[j] = centre[j] + static_cast<float>(options_.noise * scale * rng.Normal());
    for (int a = 0; a < l; ++a) {
      const float z = static_cast<float>(options_.spread * rng.Normal());
      const float* dir = basis + static_cast<size_t>(a) * d;
      for (int j = 0; j < d; ++j) v[j] += z * dir[j];
    }
    Normalise(v, d);
  }
  return out;
}

std::vector<float> SyntheticVectors::Database(int64_t n, int64_t first) const {
  return Generate(kDatabaseStream, n, first);
}

std::vector<float> SyntheticVectors::Queries(int64_t n, int64_t first) const {
  return Generate(kQueryStream, n, first);
}

}  // namespace geoloc::index
