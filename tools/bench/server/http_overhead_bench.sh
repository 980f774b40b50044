#!/usr/bin/env bash
# HTTP/JSON API overhead: starts geolocd with --http_address on loopback and runs
# http_overhead_bench against it (gRPC, HTTP JSON and HTTP multipart Locate calls, interleaved,
# one at a time), then stops it (docs/BENCHMARKS.md "HTTP/JSON API overhead").
#
#   tools/bench/server/http_overhead_bench.sh [BUILD_DIR [MODEL BUNDLE IMAGE]]
#       BUILD_DIR  default build
#       MODEL BUNDLE IMAGE  default: the test fixture's (BUILD_DIR/test-data/server, made by
#                  `ctest -R server_fixture`): model.pt, bundles/v1 and its first query photo
#
# Environment: CALLS [200]  WARMUP [20]  SERVER_FLAGS (added to geolocd's flags)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BUILD="${1:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
FIXTURE="$BUILD/test-data/server"
MODEL="${2:-$FIXTURE/model.pt}"
BUNDLE="${3:-$FIXTURE/bundles/v1}"
IMAGE="${4:-}"
if [[ -z "$IMAGE" ]]; then
  first="$(sed -n 2p "$FIXTURE/world/query.csv" | cut -d, -f1)"
  IMAGE="$FIXTURE/world/$first"
fi
for f in "$MODEL" "$BUNDLE" "$IMAGE" "$BUILD/server/geolocd" "$BUILD/tools/bench/server/http_overhead_bench"; do
  [[ -e "$f" ]] || { echo "http_overhead_bench.sh: missing $f" >&2; exit 2; }
done
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# shellcheck disable=SC2086
"$BUILD/server/geolocd" --model="$MODEL" --bundle="$BUNDLE" --listen=127.0.0.1:0 \
  --metrics_listen=127.0.0.1:0 --http_address=127.0.0.1:0 --port_file="$WORK/ports" \
  ${SERVER_FLAGS:-} > "$WORK/geolocd.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
  [[ -s "$WORK/ports" ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/geolocd.log" >&2; exit 1; }
  sleep 0.1
done
read -r grpc_port _ http_port < "$WORK/ports"
for _ in $(seq 1200); do
  curl -sf "http://127.0.0.1:$http_port/readyz" > /dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/geolocd.log" >&2; exit 1; }
  sleep 0.1
done
echo "geolocd $(grep -o 'model [^ ]* ([^)]*)' "$WORK/geolocd.log" | head -1); $(nproc) CPUs; $(date -u +%FT%TZ)"
"$BUILD/tools/bench/server/http_overhead_bench" --grpc="127.0.0.1:$grpc_port" \
  --http="127.0.0.1:$http_port" --image="$IMAGE" --calls="${CALLS:-200}" --warmup="${WARMUP:-20}"
