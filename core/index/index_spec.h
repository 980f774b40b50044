// Which Faiss index a bundle uses, its parameters, and the defaults chosen from the data size.
//
//   IndexSpec spec;  spec.type = IndexType::kIvfPq;                  // zeros: defaults
//   GEOLOC_ASSIGN_OR_RETURN(IndexSpec resolved, ResolveIndexSpec(spec, n, dim));
//
// Defaults for n vectors of dimension d (zero fields are filled in; set fields are validated):
//
//   field                  default                                        why
//   nlist (IVF)            largest power of 2 <= 4 sqrt(n), then halved   4-16 sqrt(n) is Faiss's
//                          until n >= 39 nlist (min 1)                    guidance; k-means wants
//                                                                         >= 39 points per list
//   pq_m (IVF-PQ)          largest divisor of d that is <= d / 4          4 dimensions per code
//                          (512 -> 128 bytes per vector)                  byte: recall@10 ~0.94 on
//                                                                         the benchmark set (d / 8:
//                                                                         ~0.88, docs/INDEX.md)
//   pq_nbits (IVF-PQ)      8, fewer when n < 39 * 256                     each sub-quantizer
//                          (floor(log2(n / 39)), min 1)                   needs 39 * 2^nbits points
//   refine (IVF-PQ)        none                                           flat: exact re-ranking
//                                                                         from stored vectors
//   refine_k_factor        4                                              candidates = 4k
//   hnsw_m                 32
//   hnsw_ef_construction   80
//   train_size (IVF)       min(n, max(40 nlist, 40 * 2^nbits (PQ), 10000))
//
// Plain value type and pure functions: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_INDEX_SPEC_H_
#define GEOLOC_CORE_INDEX_INDEX_SPEC_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::index {

enum class IndexType { kFlat, kIvfFlat, kIvfPq, kHnsw };
absl::string_view IndexTypeName(IndexType type);  // "flat", "ivf_flat", "ivf_pq", "hnsw"
absl::StatusOr<IndexType> ParseIndexType(absl::string_view name);

// IVF-PQ re-ranking store: none, float32 vectors ("flat", exact scores, 4 d bytes per vector) or
// 8-bit scalar-quantised vectors ("sq8", d bytes per vector).
enum class RefineType { kNone, kFlat, kSq8 };
absl::string_view RefineTypeName(RefineType type);  // "none", "flat", "sq8"
absl::StatusOr<RefineType> ParseRefineType(absl::string_view name);

// Flat bundles' vector store: float32 vectors scanned by the exact kernel ("fp32"), or an 8-bit
// scalar-quantised copy scanned first, a short list re-ranked exactly from the float32 vectors
// ("sq8": the same answers, a quarter of the bytes scanned; sq8_flat_index.h).
enum class FlatStore { kFp32, kSq8 };
absl::string_view FlatStoreName(FlatStore store);                  // "fp32", "sq8"
absl::StatusOr<FlatStore> ParseFlatStore(absl::string_view name);  // "" is "fp32"

struct IndexSpec {
  IndexType type = IndexType::kFlat;
  FlatStore flat_store = FlatStore::kFp32;  // flat only
  int nlist = 0;
  int pq_m = 0;
  int pq_nbits = 0;
  RefineType refine = RefineType::kNone;
  int refine_k_factor = 0;
  int hnsw_m = 0;
  int hnsw_ef_construction = 0;
  int64_t train_size = 0;
};

inline constexpr int kDefaultRefineKFactor = 4;
inline constexpr int kDefaultHnswM = 32;
inline constexpr int kDefaultHnswEfConstruction = 80;

// Fills defaults (table above) and validates: nlist <= n, d % pq_m == 0, 1 <= pq_nbits <= 16,
// train_size <= n, every count positive, flat_store sq8 only for flat. INVALID_ARGUMENT naming the
// bad field otherwise.
absl::StatusOr<IndexSpec> ResolveIndexSpec(IndexSpec spec, int64_t n, int d);

bool IsIvf(IndexType type);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_INDEX_SPEC_H_
