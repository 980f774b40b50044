#!/usr/bin/env bash
# Renders one kustomization with `kubectl kustomize` (or a standalone `kustomize build`) and runs
# check_manifests.py on the result. Used by CTest (tests/deploy/CMakeLists.txt).
#   tests/deploy/render_and_check.sh KUSTOMIZATION_DIR OUTPUT.yaml
# Exit status: 0 rendered and valid, 1 rendering failed or the checker found problems,
# 77 neither kubectl nor kustomize is installed (CTest reports the test as skipped; kubectl is not
# a Debian package, so tools/install_deps.sh cannot provide it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$1"; out="$2"
python="${GEOLOC_PYTHON:-/usr/bin/python3}"
[[ -x "$python" ]] || python="$(command -v python3)"

mkdir -p "$(dirname "$out")"
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize "$dir" >"$out"
elif command -v kustomize >/dev/null 2>&1; then
  kustomize build "$dir" >"$out"
else
  echo "SKIPPED: neither kubectl nor kustomize is installed; cannot render $dir" \
       "(the offline checks of the checker itself still run: deploy.manifest_checker)" >&2
  exit 77
fi
echo "rendered $dir -> $out ($(grep -c '^kind:' "$out") objects)"
exec "$python" "$root/tests/deploy/check_manifests.py" "$out" \
    --flags-from "$root/server/server_flags.cc" --flags-from "$root/server/main.cc"
