#include "core/index/index_spec.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace geoloc::index {

absl::string_view IndexTypeName(IndexType type) {
  switch (type) {
    case IndexType::kFlat:
      return "flat";
    case IndexType::kIvfFlat:
      return "ivf_flat";
    case IndexType::kIvfPq:
      return "ivf_pq";
    case IndexType::kHnsw:
      return "hnsw";
  }
  return "unknown";
}

absl::StatusOr<IndexType> ParseIndexType(absl::string_view name) {
  for (IndexType t : {IndexType::kFlat, IndexType::kIvfFlat, IndexType::kIvfPq, IndexType::kHnsw}) {
    if (name == IndexTypeName(t)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown index type '", name, "' (flat, ivf_flat, ivf_pq or hnsw)"));
}

absl::string_view RefineTypeName(RefineType type) {
  switch (type) {
    case RefineType::kNone:
      return "none";
    case RefineType::kFlat:
      return "flat";
    case RefineType::kSq8:
      return "sq8";
  }
  return "unknown";
}

absl::StatusOr<RefineType> ParseRefineType(absl::string_view name) {
  if (name.empty()) return RefineType::kNone;
  for (RefineType t : {RefineType::kNone, RefineType::kFlat, RefineType::kSq8}) {
    if (name == RefineTypeName(t)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown refine type '", name, "' (none, flat or sq8)"));
}

absl::string_view FlatStoreName(FlatStore store) {
  return store == FlatStore::kSq8 ? "sq8" : "fp32";
}

absl::StatusOr<FlatStore> ParseFlatStore(absl::string_view name) {
  if (name.empty() || name == "fp32") return FlatStore::kFp32;
  if (name == "sq8") return FlatStore::kSq8;
  return absl::InvalidArgumentError(absl::StrCat("unknown flat store '", name, "' (fp32 or sq8)"));
}

bool IsIvf(IndexType type) { return type == IndexType::kIvfFlat || type == IndexType::kIvfPq; }

absl::StatusOr<IndexSpec> ResolveIndexSpec(IndexSpec spec, int64_t n, int d) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("index parameters: ", what));
  };
  if (n < 1) return bad("no vectors to index");
  if (d < 1) return bad("dimension must be >= 1");
  if (spec.flat_store != FlatStore::kFp32 && spec.type != IndexType::kFlat) {
    return bad("flat_store only applies to flat");
  }
  if (IsIvf(spec.type)) {
    if (spec.nlist == 0) {
      const double target = 4.0 * std::sqrt(static_cast<double>(n));
      int64_t nlist = 1;
      while (nlist * 2 <= target) nlist *= 2;
      while (nlist > 1 && n < 39 * nlist) nlist /= 2;
      spec.nlist = static_cast<int>(nlist);
    }
    if (spec.nlist < 1 || spec.nlist > n) {
      return bad(absl::StrCat("nlist ", spec.nlist, " must be in [1, ", n,
                              "] (one list per vector at most)"));
    }
  } else if (spec.nlist != 0) {
    return bad("nlist only applies to ivf_flat and ivf_pq");
  }
  if (spec.type == IndexType::kIvfPq) {
    if (spec.pq_m == 0) {
      const int limit = std::max(1, d / 4);
      for (int m = limit; m >= 1; --m) {
        if (d % m == 0) {
          spec.pq_m = m;
          break;
        }
      }
    }
    if (spec.pq_m < 1 || d % spec.pq_m != 0) {
      return bad(absl::StrCat("pq_m ", spec.pq_m, " must divide the dimension ", d));
    }
    if (spec.pq_nbits == 0) {
      int nbits = 8;
      while (nbits > 1 && n < 39 * (int64_t{1} << nbits)) --nbits;
      spec.pq_nbits = nbits;
    }
    if (spec.pq_nbits < 1 || spec.pq_nbits > 16) return bad("pq_nbits must be in [1, 16]");
    if (spec.refine != RefineType::kNone && spec.refine_k_factor == 0) {
      spec.refine_k_factor = kDefaultRefineKFactor;
    }
    if (spec.refine != RefineType::kNone && spec.refine_k_factor < 1) {
      return bad("refine_k_factor must be >= 1");
    }
  } else {
    if (spec.pq_m != 0 || spec.pq_nbits != 0) return bad("pq_m/pq_nbits only apply to ivf_pq");
    if (spec.refine != RefineType::kNone) return bad("refine only applies to ivf_pq");
  }
  if (spec.type == IndexType::kHnsw) {
    if (spec.hnsw_m == 0) spec.hnsw_m = kDefaultHnswM;
    if (spec.hnsw_ef_construction == 0) spec.hnsw_ef_construction = kDefaultHnswEfConstruction;
    if (spec.hnsw_m < 2 || spec.hnsw_ef_construction < 1) {
      return bad("hnsw_m must be >= 2 and hnsw_ef_construction >= 1");
    }
  } else if (spec.hnsw_m != 0 || spec.hnsw_ef_construction != 0) {
    return bad("hnsw_m/hnsw_ef_construction only apply to hnsw");
  }
  if (IsIvf(spec.type)) {
    if (spec.train_size == 0) {
      int64_t want = std::max<int64_t>(40 * int64_t{spec.nlist}, 10000);
      if (spec.type == IndexType::kIvfPq) {
        want = std::max<int64_t>(want, 40 * (int64_t{1} << spec.pq_nbits));
      }
      spec.train_size = std::min(n, want);
    }
    if (spec.train_size < spec.nlist || spec.train_size > n) {
      return bad(absl::StrCat("train_size ", spec.train_size, " must be in [nlist, n] = [",
                              spec.nlist, ", ", n, "]"));
    }
  } else if (spec.train_size != 0) {
    return bad("train_size only applies to ivf_flat and ivf_pq");
  }
  return spec;
}

}  // namespace geoloc::index
