// The 8-bit scalar-quantised copy of a flat shard's vectors (a bundle's "shard-N.sq8" beside
// "shard-N.faiss" when the bundle's flat_store is "sq8"; docs/INDEX.md), and the bounds that make
// re-ranking from it exact (sq8_flat_index.h).
//
//   GEOLOC_RETURN_IF_ERROR(WriteSq8Store(path, vectors, n, d));        // at build time
//   GEOLOC_ASSIGN_OR_RETURN(Sq8Store store, Sq8Store::Open(path, n, d));  // at load time
//
// Encoding, per dimension j (affine over the shard's own range):
//   min_j = min over rows of x_j, scale_j = (max_j - min_j) / 255,
//   code  = round((x_j - min_j) / scale_j) in [0, 255] (0 when scale_j is 0),
//   x~_j  = min_j + scale_j * code.
// Per-dimension rather than one global range: the scan folds scale_j into the query, so it costs
// nothing, and the error bound err_j can only shrink (docs/BENCHMARKS.md measures both).
// Stored bounds, computed in double from the real rows and rounded up:
//   err_j      max over rows of |x_j - x~_j|
//   max_resid  max over rows of |x - x~| (Euclidean)
//   norm2      per row |x|^2 (for the squared-L2 metric), and its maximum
// so for any query q: |<q, x> - <q, x~>| <= min(sum_j |q_j| err_j, |q| max_resid).
//
// File layout (little-endian, the codes 64-byte aligned in the file and so in a mapping):
//   0   "GLSQ8v1\0"   8 bytes
//   8   int32 d, int32 reserved (0)
//   16  int64 n
//   24  float max_resid, float max_norm2
//   32  32 reserved bytes (0)
//   64  float min[d], scale[d], err[d], norm2[n], zero padding to a multiple of 64
//   ..  uint8 codes[n][d]
// Open() checks the magic, d, n, the exact size and that every parameter is finite (DATA_LOSS
// naming the file otherwise); the bundle's manifest checks its SHA-256.
//
// Lifetime: an Sq8Store owns its read-only mapping; the pointers it returns live as long as it.
// Threading: const methods are safe to call concurrently.
#ifndef GEOLOC_CORE_INDEX_SQ8_STORE_H_
#define GEOLOC_CORE_INDEX_SQ8_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/index/mapped_file.h"

namespace geoloc::index {

// Encodes the n x d row-major float vectors and writes the store to `path` (not atomically: the
// bundle writer writes into its staging directory). INVALID_ARGUMENT for n < 1, d < 1 or a
// non-finite value; INTERNAL when the file cannot be written.
absl::Status WriteSq8Store(const std::string& path, const float* x, int64_t n, int d);

class Sq8Store {
 public:
  // Maps the store at `path`, which must hold n rows of dimension d.
  static absl::StatusOr<Sq8Store> Open(const std::string& path, int64_t n, int d);

  Sq8Store() = default;
  Sq8Store(Sq8Store&&) noexcept = default;
  Sq8Store& operator=(Sq8Store&&) noexcept = default;

  int d() const { return d_; }
  int64_t n() const { return n_; }
  const float* min() const { return min_; }
  const float* scale() const { return scale_; }
  const float* err() const { return err_; }
  const float* norm2() const { return norm2_; }
  float max_resid() const { return max_resid_; }
  float max_norm2() const { return max_norm2_; }
  const uint8_t* codes() const { return codes_; }  // n x d, row-major
  // Reads one byte of every page of the codes, so that the first searches do not fault them in.
  void Prefault() const;
  size_t file_bytes() const { return file_.size(); }

 private:
  MappedFile file_;
  int d_ = 0;
  int64_t n_ = 0;
  const float* min_ = nullptr;
  const float* scale_ = nullptr;
  const float* err_ = nullptr;
  const float* norm2_ = nullptr;
  float max_resid_ = 0;
  float max_norm2_ = 0;
  const uint8_t* codes_ = nullptr;
};

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_SQ8_STORE_H_
