#!/usr/bin/env bash
# Faiss stays behind core/index (docs/INDEX.md, "Where each check lives"): only core/index's .cc
# files and its internal headers include Faiss headers, and nothing outside core/index includes
# those internal headers, except the benchmarks that measure Faiss and the sq8 store themselves.
# Prints every violation and exits 1 when there is one.
# Usage: check_faiss_boundary.sh SOURCE_DIR
set -euo pipefail
cd "${1:?usage: check_faiss_boundary.sh SOURCE_DIR}"
internal='core/index/(fast_flat_index|hnsw_index|rerank_index|row_set_selector|sharded_index|shard_loader|sq8_flat_index)\.h'
bench='tools/bench/index/(flat_search_bench|flat_store_bench)\.cc'
status=0
# Faiss headers: in core/index's .cc files and internal headers only.
while IFS= read -r file; do
  if [[ "$file" =~ ^core/index/.*\.cc$ || "$file" =~ ^${internal}$ || "$file" =~ ^${bench}$ ]]; then
    continue
  fi
  echo "includes a Faiss header: $file"
  status=1
done < <(grep -rlE '#include [<"]faiss/' --include='*.h' --include='*.cc' --include='*.inc' \
           core server client tools tests)
# The internal headers: included from core/index only.
while IFS= read -r line; do
  file="${line%%:*}"
  if [[ "$file" =~ ^core/index/ || "$file" =~ ^${bench}$ ]]; then
    continue
  fi
  echo "includes an internal core/index header: $line"
  status=1
done < <(grep -rnE "#include \"${internal}\"" --include='*.h' --include='*.cc' \
           core server client tools tests)
exit $status
