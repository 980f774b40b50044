// Deterministic clustered unit vectors that look like image descriptors, for tests, benchmarks
// and demos of the index (no model or images needed).
//
//   SyntheticVectors gen({.dim = 512, .clusters = 1000, .seed = 7});
//   std::vector<float> db = gen.Database(1'000'000);     // row-major, L2-normalised
//   std::vector<float> q = gen.Queries(1000);           // new points, same distribution
//
// The data model: cluster c has a centre m_c = normalise(u + centre_spread * r_c), where u is one
// random unit vector shared by all clusters and r_c a random unit vector of its own (so centres
// lie in a cone, as CNN descriptors do: centre_spread 1.5 gives centre cosines around 0.3), and
// its own random basis A_c of `latent_dim` directions; a point of cluster c is
//     normalise(m_c + spread * A_c z + noise * e),   z ~ N(0, I_latent), e ~ N(0, I_dim / dim)
// (A_c's columns have unit expected norm). Points of a cluster lie near a low-dimensional patch
// of the sphere, as descriptors of one place under different views do; nearest neighbours are
// well defined within a cluster, and approximate indexes are neither trivially exact nor hopeless.
// Row i belongs to cluster hash(i) mod clusters. Every value depends only on the options and the
// row (a fixed splitmix64/xoshiro generator and Box-Muller, not the standard library's
// implementation-defined distributions), so the same options give the same vectors everywhere.
//
// Immutable after construction; Database/Queries are const and safe to call concurrently (they
// use OpenMP internally).
#ifndef GEOLOC_CORE_INDEX_SYNTHETIC_VECTORS_H_
#define GEOLOC_CORE_INDEX_SYNTHETIC_VECTORS_H_

#include <cstdint>
#include <vector>

namespace geoloc::index {

struct SyntheticVectorsOptions {
  int dim = 512;
  int clusters = 100;
  int latent_dim = 8;
  double centre_spread = 1.5;
  double spread = 0.5;
  double noise = 0.1;
  uint64_t seed = 1;
};

class SyntheticVectors {
 public:
  explicit SyntheticVectors(const SyntheticVectorsOptions& options);

  // Rows [first, first + n) of the database stream: n x dim floats.
  std::vector<float> Database(int64_t n, int64_t first = 0) const;
  // Rows of a separate query stream (never equal to database rows).
  std::vector<float> Queries(int64_t n, int64_t first = 0) const;
  // The cluster of database row i.
  int ClusterOf(int64_t row) const;

  const SyntheticVectorsOptions& options() const { return options_; }

 private:
  std::vector<float> Generate(uint64_t stream, int64_t n, int64_t first) const;

  SyntheticVectorsOptions options_;
  std::vector<float> centres_;  // clusters x dim
  std::vector<float> bases_;    // clusters x latent_dim x dim
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_SYNTHETIC_VECTORS_H_
