#!/usr/bin/env bash
# Locate under load: geolocd's throughput and latency at concurrency 1, 4 and 16, against the
# encoder's own throughput, the index search, and a plain Python service doing the same job
# (docs/BENCHMARKS.md "Locate under load (geolocd)").
#
#   tools/bench/server/locate_bench.sh [WORK_DIR [BUILD_DIR]]
#       WORK_DIR   default /tmp/geoloc-locate-bench (inputs are reused when present)
#       BUILD_DIR  default build
#
# What it does, in one run:
#   a. exports the model: ResNet-18 + GeM (512-d), seed 0, 224x224 (WORK/model.pt)
#   b. 100,000 clustered L2-normalised 512-d vectors with world-wide coordinates
#      (tools/bench/python/make_bench_vectors.py) -> a flat bundle (WORK/bundle)
#   c. queries: geoloc-synth --preset fixed-tiny at 1024x768 (96 JPEGs, flattened into WORK/jpegs)
#   d. encoder_bench (fp32_optimized, batch 1 and 16, ENCODER_THREADS threads) and
#      flat_search_bench (the geoloc kernel, batch 1 and 16) and flat_store_bench (the fp32 and sq8
#      stores through the bundle, batch 1 and 16, and batch 1 with the store evicted from cache
#      first, as a lone call to an idle server finds it): the offline references; and each
#      stage's CPU cost per image on ONE core (taskset -c 0, one thread): decode_bench (a 1024x768
#      JPEG decoded at reduced scale and preprocessed), encoder_bench at batch 16 and
#      flat_store_bench (the served flat store, batch 16) -> the pipeline limit
#      (locate_summary.py: cores / summed per-image cost)
#   e. the plain Python baseline (tools/bench/python/locate_baseline.py), torch's default threads
#      and PY_EXTRA_THREADS threads (default: the cores, the fair comparison)
#   f. starts geolocd, waits for health, and for each concurrency runs geoloc-loadgen for
#      WARMUP seconds (discarded) and DURATION seconds (measured), scraping /metrics around it;
#      then sends every query twice, one at a time, with `geoloc locate --json` to record the
#      server-side stage timings of single requests; stops geolocd with SIGTERM
#   g. prints the summary table and the three goal ratios (tools/bench/server/locate_summary.py)
#
# Environment knobs (defaults in brackets):
#   DURATION [40]  WARMUP [5]  CONCURRENCY ["1 4 16"]  ENCODER_THREADS [2]  ENCODER_REPS [5]
#   SEARCH_REPS [3]  PY_PASSES [5]  PY_EXTRA_THREADS [nproc; empty: skip]
#   SERVER_FLAGS  geolocd flags added after the defaults below (later flags win)
#   SERVER_ENV ["GOMP_SPINCOUNT=10000", as the container images set; empty: none]
#                 environment for geolocd and the offline references, e.g. "OMP_WAIT_POLICY=PASSIVE"
#   MODEL [fp32]  fp32 (geolocd gets --precision=fp32, the precision of the encoder reference),
#                 or int8: the same model exported with --quantize int8 (WORK/model-int8.pt,
#                 its own bundle WORK/bundle-int8, encoder_bench's int8 variant, the Python
#                 baseline on the int8 archive too); results in WORK/results-int8
#   FLAT_STORE [fp32]  fp32, or sq8: the bundle built with --flat_store=sq8 (8-bit scan + exact
#                 re-ranking; WORK/bundle-sq8 or WORK/bundle-int8-sq8); results in RES-sq8
#   RESULTS       results directory name under WORK [results, or results-int8, + -sq8]
#   PHASES ["encoder search python server"]  a subset reuses the other phases' earlier results
#                 (from RESULTS, else copied from the default results directory of MODEL)
#   GEOLOC_BENCH_BIN  a flat directory holding the binaries (else they are copied from BUILD_DIR
#                     into WORK/bin at the start, so a rebuild cannot swap them mid-run)
#   PYTHON [/usr/bin/python3]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
WORK="${1:-/tmp/geoloc-locate-bench}"
BUILD="${2:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
PYTHON="${PYTHON:-/usr/bin/python3}"
DURATION="${DURATION:-40}"
WARMUP="${WARMUP:-5}"
CONCURRENCY="${CONCURRENCY:-1 4 16}"
ENCODER_THREADS="${ENCODER_THREADS:-2}"
ENCODER_REPS="${ENCODER_REPS:-5}"
SEARCH_REPS="${SEARCH_REPS:-3}"
PY_PASSES="${PY_PASSES:-5}"
PY_EXTRA_THREADS="${PY_EXTRA_THREADS-$(nproc)}"
PHASES="${PHASES:-encoder search python server}"
SERVER_FLAGS="${SERVER_FLAGS:-}"
SERVER_ENV="${SERVER_ENV-GOMP_SPINCOUNT=10000}"

log() { echo "[locate_bench $(date +%H:%M:%S)] $*" >&2; }
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

MODEL="${MODEL:-fp32}"
case "$MODEL" in
  # SERVED_PRECISION: geolocd runs the archive at the precision its encoder reference measures
  # (--precision=auto picks bf16 on CPUs with AVX512-BF16/AMX, which the fp32 references do not).
  fp32) MODEL_PT="$WORK/model.pt"; BUNDLE="$WORK/bundle"; RES="$WORK/results"
        ENC_VARIANT=fp32_optimized; SERVED_PRECISION="--precision=fp32" ;;
  int8) MODEL_PT="$WORK/model-int8.pt"; BUNDLE="$WORK/bundle-int8"; RES="$WORK/results-int8"
        ENC_VARIANT=int8; SERVED_PRECISION="" ;;
  *) echo "MODEL must be fp32 or int8" >&2; exit 2 ;;
esac
# The encoder, search and Python phases do not depend on the flat store: an sq8 run reuses the
# fp32 store's results of the same model for the phases it skips.
STORE_FREE_RES="$RES"
FLAT_STORE="${FLAT_STORE:-fp32}"
case "$FLAT_STORE" in
  fp32) ;;
  sq8) BUNDLE="$BUNDLE-sq8"; RES="$RES-sq8" ;;
  *) echo "FLAT_STORE must be fp32 or sq8" >&2; exit 2 ;;
esac
DEFAULT_RES="$RES"
[[ -n "${RESULTS:-}" ]] && RES="$WORK/$RESULTS"
mkdir -p "$WORK" "$RES"
for f in encoder.json encoder_1core.json decode_1core.json search.json store.json store_1core.json \
         python.json python_t*.json; do
  for src in "$DEFAULT_RES" "$STORE_FREE_RES"; do
    for g in "$src"/$f; do
      [[ -e "$g" && ! -e "$RES/$(basename "$g")" && "$RES" != "$src" ]] && cp "$g" "$RES/"
    done
  done
done

# ---- binaries ---------------------------------------------------------------------------------
if [[ -n "${GEOLOC_BENCH_BIN:-}" ]]; then
  BIN="$GEOLOC_BENCH_BIN"
else
  BIN="$WORK/bin"
  mkdir -p "$BIN"
  for rel in server/geolocd client/geoloc tools/loadgen/geoloc-loadgen tools/index/geoloc-index \
             tools/synth/geoloc-synth tools/bench/model/encoder_bench \
             tools/bench/model/decode_bench tools/bench/index/flat_search_bench \
             tools/bench/index/flat_store_bench; do
    [[ -x "$BUILD/$rel" ]] || { echo "missing $BUILD/$rel: build first" >&2; exit 1; }
    cp -f "$BUILD/$rel" "$BIN/"
  done
fi
for b in geolocd geoloc geoloc-loadgen geoloc-index geoloc-synth encoder_bench decode_bench \
         flat_search_bench flat_store_bench; do
  [[ -x "$BIN/$b" ]] || { echo "missing $BIN/$b" >&2; exit 1; }
done

# ---- a. model ---------------------------------------------------------------------------------
if [[ ! -s "$WORK/model.pt" ]]; then
  log "exporting the model"
  "$PYTHON" "$ROOT/tools/export_model.py" --backbone resnet18 --head gem --input-size 224 \
    --seed 0 --name bench-r18-gem -o "$WORK/model.pt" >&2
fi
if [[ "$MODEL" == int8 && ! -s "$WORK/model-int8.pt" ]]; then
  log "exporting the int8 model"
  "$PYTHON" "$ROOT/tools/export_model.py" --backbone resnet18 --head gem --input-size 224 \
    --seed 0 --name bench-r18-gem-int8 --quantize int8 -o "$WORK/model-int8.pt" >&2
fi

# ---- b. 100k vectors and the bundle -----------------------------------------------------------
if [[ ! -s "$WORK/vectors.npy" || ! -s "$WORK/vectors.csv" ]]; then
  log "generating 100,000 x 512 vectors"
  "$PYTHON" "$ROOT/tools/bench/python/make_bench_vectors.py" --n 100000 --dim 512 \
    --clusters 2000 --out-npy "$WORK/vectors.npy" --out-csv "$WORK/vectors.csv"
fi
if [[ ! -s "$BUNDLE/manifest.json" || "$MODEL_PT" -nt "$BUNDLE/manifest.json" ]]; then
  log "building the bundle"
  rm -rf "$BUNDLE"
  "$BIN/geoloc-index" build --output="$BUNDLE" --model="$MODEL_PT" \
    --npy="$WORK/vectors.npy" --npy_csv="$WORK/vectors.csv" --index=flat \
    --flat_store="$FLAT_STORE" >&2
fi

# ---- c. queries -------------------------------------------------------------------------------
if [[ ! -s "$WORK/queries/world.csv" ]]; then
  log "generating 1024x768 query JPEGs"
  rm -rf "$WORK/queries"
  "$BIN/geoloc-synth" --preset fixed-tiny --image_width 1024 --image_height 768 \
    --out "$WORK/queries" >&2
fi
if [[ ! -d "$WORK/jpegs" ]] || [[ -z "$(ls -A "$WORK/jpegs")" ]]; then
  mkdir -p "$WORK/jpegs"
  # geoloc-loadgen reads one directory level: flatten city/pNNN_vN.jpg into city_pNNN_vN.jpg.
  for f in "$WORK"/queries/images/*/*.jpg; do
    cp "$f" "$WORK/jpegs/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
fi
NQ=$(find "$WORK/jpegs" -maxdepth 1 -name "*.jpg" | wc -l)
QKIB=$(du -k -c "$WORK"/jpegs/*.jpg | tail -1 | awk -v n="$NQ" '{printf "%.0f", $1 / n}')

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- d. encoder and search --------------------------------------------------------------------
if has_phase encoder; then
  log "encoder_bench ($ENC_VARIANT, batch 1 and 16, $ENCODER_THREADS threads)"
  int8_arg=()
  [[ "$MODEL" == int8 ]] && int8_arg=(--int8-model="$MODEL_PT")
  env $SERVER_ENV "$BIN/encoder_bench" --model="$WORK/model.pt" "${int8_arg[@]}" \
    --threads="$ENCODER_THREADS" \
    --benchmark_filter="$ENC_VARIANT/batch:(1|16)/" \
    --benchmark_repetitions="$ENCODER_REPS" --benchmark_report_aggregates_only=true \
    --benchmark_out="$RES/encoder.json" --benchmark_out_format=json >&2
  # The pipeline limit's per-image CPU costs: each stage alone on one core, one thread.
  log "per-image CPU cost on one core: encoder_bench batch 16, decode_bench"
  env $SERVER_ENV OMP_NUM_THREADS=1 taskset -c 0 "$BIN/encoder_bench" --model="$WORK/model.pt" \
    "${int8_arg[@]}" \
    --threads=1 --benchmark_filter="$ENC_VARIANT/batch:16/" \
    --benchmark_repetitions="$ENCODER_REPS" --benchmark_report_aggregates_only=true \
    --benchmark_out="$RES/encoder_1core.json" --benchmark_out_format=json >&2
  taskset -c 0 "$BIN/decode_bench" --benchmark_filter='BM_DecodePreprocess/width:1024/reduced:1$' \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$RES/decode_1core.json" --benchmark_out_format=json >&2
fi
if has_phase search; then
  log "flat_search_bench (geoloc kernel, batch 1 and 16)"
  isa=Avx512
  grep -q avx512f /proc/cpuinfo || isa=Avx2
  grep -q avx2 /proc/cpuinfo || isa=Scalar
  env $SERVER_ENV "$BIN/flat_search_bench" --benchmark_filter="BM_GeolocKernel${isa}/(1|16)/" \
    --benchmark_min_time=1 --benchmark_repetitions="$SEARCH_REPS" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$RES/search.json" --benchmark_out_format=json >&2
  log "flat_store_bench (fp32 and sq8 stores, 100k x 512): the served store's batch-1 search"
  env $SERVER_ENV "$BIN/flat_store_bench" --rows=100000 --dim=512 --work_dir="$WORK/flat-store" \
    --factors=4 --json_out="$RES/store.json" >&2
  log "per-query CPU cost on one core: flat_store_bench (fp32 and sq8 stores, 100k x 512)"
  env $SERVER_ENV OMP_NUM_THREADS=1 taskset -c 0 "$BIN/flat_store_bench" --rows=100000 --dim=512 \
    --work_dir="$WORK/flat-store" --factors=4 --json_out="$RES/store_1core.json" >&2
fi

# ---- e. the plain Python baseline -------------------------------------------------------------
if has_phase python; then
  log "plain Python baseline (torch's default threads)"
  rm -f "$RES"/python_t*.json
  "$PYTHON" "$ROOT/tools/bench/python/locate_baseline.py" --model "$MODEL_PT" \
    --vectors "$WORK/vectors.npy" --coords "$WORK/vectors.csv" --images "$WORK/jpegs" \
    --passes "$PY_PASSES" --json > "$RES/python.json"
  for t in $PY_EXTRA_THREADS; do
    log "plain Python baseline ($t torch threads)"
    "$PYTHON" "$ROOT/tools/bench/python/locate_baseline.py" --model "$MODEL_PT" \
      --vectors "$WORK/vectors.npy" --coords "$WORK/vectors.csv" --images "$WORK/jpegs" \
      --passes "$PY_PASSES" --threads "$t" --json > "$RES/python_t$t.json"
  done
fi

# ---- f. geolocd under load --------------------------------------------------------------------
# The best configuration measured on the 2-core VM (docs/BENCHMARKS.md): LibTorch threads = cores
# (geolocd's --intra_op_threads=0 leaves LibTorch's default, half the logical CPUs on x86), and no
# wait for a fuller batch (concurrent requests still share batches; a lone request does not wait).
# SERVER_FLAGS="--intra_op_threads=0 --max_batch_wait_ms=2" gives geolocd's own defaults.
DEFAULT_FLAGS="--listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --enable_explain=false \
--max_batch=16 --max_batch_wait_ms=0 --intra_op_threads=$(nproc) --decode_threads=2 \
--log_level=warning $SERVED_PRECISION"
RSS_MIB="?"
if has_phase server; then
  rm -f "$WORK/port" "$RES"/c*.json "$RES"/metrics_c*.txt "$RES"/time_c*.txt "$RES"/profile_c1.jsonl
  log "starting geolocd $SERVER_FLAGS ${SERVER_ENV:+(env $SERVER_ENV)}"
  # shellcheck disable=SC2086
  env $SERVER_ENV "$BIN/geolocd" --model="$MODEL_PT" --bundle="$BUNDLE" \
    --port_file="$WORK/port" $DEFAULT_FLAGS $SERVER_FLAGS > "$WORK/geolocd.log" 2>&1 &
  SERVER_PID=$!
  stop_server() {
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      kill -TERM "$SERVER_PID" 2>/dev/null || true
      wait "$SERVER_PID" 2>/dev/null || true
    fi
  }
  trap stop_server EXIT
  for _ in $(seq 1 600); do
    [[ -s "$WORK/port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/geolocd.log" >&2; exit 1; }
    sleep 0.2
  done
  read -r GRPC_PORT METRICS_PORT _ < "$WORK/port"
  ADDR="127.0.0.1:$GRPC_PORT"
  for _ in $(seq 1 300); do
    if "$BIN/geoloc" health --server "$ADDR" --deadline_ms 2000 2>/dev/null | grep -q SERVING; then
      break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/geolocd.log" >&2; exit 1; }
    sleep 0.5
  done
  "$BIN/geoloc" health --server "$ADDR" | grep -q SERVING || { log "geolocd never SERVING"; exit 1; }
  scrape() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" > "$1"; }
  for c in $CONCURRENCY; do
    log "concurrency $c: warm-up ${WARMUP}s, then ${DURATION}s"
    "$BIN/geoloc-loadgen" --images "$WORK/jpegs" --server "$ADDR" --concurrency "$c" \
      --duration "${WARMUP}s" > /dev/null
    scrape "$RES/metrics_c${c}_before.txt"
    /usr/bin/time -f '%U %S %e' -o "$RES/time_c$c.txt" \
      "$BIN/geoloc-loadgen" --images "$WORK/jpegs" --server "$ADDR" --concurrency "$c" \
      --duration "${DURATION}s" --json > "$RES/c$c.json"
    scrape "$RES/metrics_c${c}_after.txt"
  done
  # Server-side stage timings of sequential calls (c = 1), from each answer's timings: where the
  # single-request latency goes (geoloc locate sends its images one after another).
  log "per-request stage timings at concurrency 1 (geoloc locate, every image twice)"
  "$BIN/geoloc" locate "$WORK"/jpegs/*.jpg "$WORK"/jpegs/*.jpg --server "$ADDR" --json \
    > "$RES/profile_c1.jsonl"
  RSS_MIB=$(awk '/^process_resident_memory_bytes/ {printf "%.0f", $2 / 1048576}' \
    "$RES/metrics_c$(echo "$CONCURRENCY" | awk '{print $NF}')_after.txt")
  stop_server
  trap - EXIT
fi

# ---- g. summary -------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
BUNDLE_MIB=$(du -sm "$BUNDLE" | cut -f1)
"$PYTHON" - "$RES/run.json" <<EOF
import json, sys
conc = [int(c) for c in "$CONCURRENCY".split()]
prev = {}
try:
    prev = json.load(open(sys.argv[1]))
except Exception:
    pass
run = {
    "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "nproc": $(nproc), "cpu": "$CPU_MODEL",
    "loadavg_start": "$LOAD_START", "loadavg_end": "$LOAD_END",
    "concurrency": conc, "duration_s": $DURATION, "warmup_s": $WARMUP,
    "encoder_threads": $ENCODER_THREADS, "model": "$MODEL", "encoder_variant": "$ENC_VARIANT",
    "flat_store": "$FLAT_STORE",
    "server_flags": "$DEFAULT_FLAGS $SERVER_FLAGS".strip(),
    "server_env": "$SERVER_ENV", "bundle_vectors": 100000, "dim": 512,
    "bundle_mib": $BUNDLE_MIB, "server_rss_mib": "$RSS_MIB", "query_images": $NQ,
    "query_mean_kib": $QKIB, "phases": "$PHASES",
}
if "server" not in run["phases"].split():
    for k in ("server_flags", "server_env", "server_rss_mib", "concurrency"):
        if k in prev:
            run[k] = prev[k]
json.dump(run, open(sys.argv[1], "w"), indent=1)
EOF
"$PYTHON" "$ROOT/tools/bench/server/locate_summary.py" "$RES"
