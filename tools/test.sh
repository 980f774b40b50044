#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs the whole suite, checks
# the lock annotations with clang's thread-safety analysis, then runs the decoder, request-handling,
# batcher, pipeline and hot-swap tests under the sanitizers and fuzzes image decoding and request
# parsing for a bounded time (docs/TESTING.md). Exits non-zero on any failure or finding.
#
# Usage: tools/test.sh [STAGE ...]   STAGE: release threads asan tsan fuzz image (default: all six,
#                                    in order)
# Environment:
#   GEOLOC_BUILD_DIR     the Release build (default build/); the other stages build in
#                        $GEOLOC_BUILD_DIR-threads, -asan, -tsan and -fuzz
#   GEOLOC_TEST_QUICK=1  the Release stage only (a quick local run; CI runs everything)
#   GEOLOC_FUZZ_SECONDS  seconds per fuzz target in the fuzz stage (default 60)
# The image stage builds docker/Dockerfile's images with podman and runs them end to end
# (tools/image_check.sh; needs root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${GEOLOC_BUILD_DIR:-$root/build}"
build="${build%/}"
jobs="$(nproc)"
fuzz_seconds="${GEOLOC_FUZZ_SECONDS:-60}"

stages=("$@")
if [[ ${#stages[@]} -eq 0 ]]; then
  stages=(release threads asan tsan fuzz image)
  if [[ "${GEOLOC_TEST_QUICK:-0}" == 1 ]]; then stages=(release); fi
fi
for s in "${stages[@]}"; do
  case "$s" in
    release | threads | asan | tsan | fuzz | image) ;;
    *) echo "test.sh: unknown stage '$s' (release threads asan tsan fuzz image)" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# Wall time per stage, printed at the end whatever happens (a failing stage shows as such).
timings=()
current="" current_start=0
summary() {
  local rc=$?
  if [[ -n "$current" ]]; then
    timings+=("$(printf '%-26s %3dm%02ds  FAILED' "$current" $(((SECONDS - current_start) / 60)) \
      $(((SECONDS - current_start) % 60)))")
  fi
  if [[ ${#timings[@]} -gt 0 ]]; then
    printf '\n== stage times (wall)\n'
    printf '   %s\n' "${timings[@]}"
  fi
  return $rc
}
trap summary EXIT
timed() {
  current="$1" current_start=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%-26s %3dm%02ds' "$current" $(((SECONDS - current_start) / 60)) \
    $(((SECONDS - current_start) % 60)))")
  current=""
}

# Sanitizer runtime options, shared by the sanitizer and fuzzing stages (docs/TESTING.md).
# LeakSanitizer is on: it works in CI's containers and on these machines (it needs no ptrace).
asan_options=(halt_on_error=1 abort_on_error=0 detect_leaks=1 strict_string_checks=1
  detect_stack_use_after_return=1 check_initialization_order=1 strict_init_order=1
  print_stacktrace=1)
export ASAN_OPTIONS="$(IFS=:; echo "${asan_options[*]}")"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4"
if [[ -x /usr/bin/llvm-symbolizer-14 ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
  export TSAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
  export UBSAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
fi
# Sanitizer builds: -O1 -g, asserts on (no NDEBUG), no benchmarks; only the named targets build.
sanitizer_cmake_flags=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
  -DGEOLOC_BUILD_BENCHMARKS=OFF)

# Runs one gtest binary; a sanitizer report makes it exit non-zero (halt_on_error).
run_gtest() {
  local binary="$1"
  shift
  echo "-- $(basename "$binary")"
  (cd "$(dirname "$binary")" && "$@" "$binary" --gtest_color=no)
}

stage_release() {
  step "configure ($build)"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  step "build"
  cmake --build "$build" -j "$jobs"
  step "tests"
  # Passive OpenMP waiting: spinning LibTorch/OpenMP worker threads starve the other tests on a
  # busy 2-core machine and make the LibTorch suites several times slower.
  OMP_WAIT_POLICY=PASSIVE ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900
}

# Thread-safety analysis (clang 14): the code whose members carry ABSL_GUARDED_BY annotations
# (core/common, server/, client/, tools/loadgen, and the server unit tests that instantiate the
# batcher, snapshot manager and pipeline templates) compiled with -Wthread-safety
# -Werror=thread-safety. Only those object files are compiled (no linking, no LibTorch or Faiss
# sources), so a lock-discipline mistake fails in a few minutes; nothing runs.
stage_threads() {
  local dir="$build-threads"
  step "thread-safety analysis (clang): configure ($dir)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 "-DCMAKE_CXX_FLAGS=-Wthread-safety -Werror=thread-safety" \
    -DGEOLOC_BUILD_BENCHMARKS=OFF
  step "thread-safety analysis (clang): compile the annotated code"
  local objects=()
  mapfile -t objects < <(ninja -C "$dir" -t targets all |
    sed -nE 's#^((core/common|server|client|tools/loadgen)/CMakeFiles/[^:]+\.o|tests/server/CMakeFiles/server_unit_test\.dir/[^:]+\.o): .*#\1#p')
  if [[ ${#objects[@]} -eq 0 ]]; then
    echo "test.sh: no annotated object files found in $dir" >&2
    return 1
  fi
  ninja -C "$dir" -j "$jobs" "${objects[@]}"
}

# ASan + UBSan (gcc): the image decoder, request options, batcher, snapshot manager (hot-swap),
# auth and path policy suites. None of them links LibTorch.
stage_asan() {
  local dir="$build-asan"
  step "sanitizers (ASan+UBSan): configure ($dir)"
  cmake -S . -B "$dir" "${sanitizer_cmake_flags[@]}" -DGEOLOC_SANITIZE=address,undefined
  step "sanitizers (ASan+UBSan): build"
  cmake --build "$dir" -j "$jobs" --target image_test request_options_test server_unit_test
  step "sanitizers (ASan+UBSan): run"
  run_gtest "$dir/tests/model/image_test"
  run_gtest "$dir/tests/server/request_options_test"
  run_gtest "$dir/tests/server/server_unit_test"
}

# Disables ASLR for one command when the system allows it: gcc 12's TSan maps its shadow at fixed
# addresses and dies ("unexpected memory mapping") on kernels with vm.mmap_rnd_bits > 28.
no_aslr() {
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    setarch "$(uname -m)" -R "$@"
  else
    "$@"
  fi
}

# TSan (gcc): the batcher, snapshot manager (hot-swap), auth and path policy suite, three times
# over to see more interleavings. It uses std threads and Abseil value types only, so the
# uninstrumented Debian Abseil does not hide synchronisation from TSan.
stage_tsan() {
  local dir="$build-tsan"
  step "sanitizers (TSan): configure ($dir)"
  cmake -S . -B "$dir" "${sanitizer_cmake_flags[@]}" -DGEOLOC_SANITIZE=thread
  step "sanitizers (TSan): build"
  cmake --build "$dir" -j "$jobs" --target server_unit_test
  step "sanitizers (TSan): run"
  run_gtest "$dir/tests/server/server_unit_test" no_aslr
  (cd "$dir/tests/server" && no_aslr ./server_unit_test --gtest_color=no --gtest_repeat=2 \
     --gtest_brief=1 --gtest_filter='BatcherTest.*:SnapshotManagerTest.*:AuthStateTest.*')
}

# libFuzzer (clang, ASan + UBSan): each target runs for GEOLOC_FUZZ_SECONDS from the seeds (the
# hostile corpus, generated images and requests wrapping them, and tests/fuzz/regressions/).
# Options (docs/TESTING.md): -close_fd_mask=2 drops libjpeg/libpng warnings on stderr (sanitizer
# reports and fuzz check failures still print), -max_len matches make_fuzz_seeds' seed size cap,
# -timeout/-rss_limit_mb turn a hang or a memory bomb into a finding. The full log goes to
# <build>-fuzz/tests/fuzz/logs/; the console gets it without the per-input progress lines.
stage_fuzz() {
  local dir="$build-fuzz"
  step "fuzzing (bounded): configure ($dir)"
  cmake -S . -B "$dir" "${sanitizer_cmake_flags[@]}" -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DGEOLOC_BUILD_FUZZERS=ON
  step "fuzzing (bounded): build"
  cmake --build "$dir" -j "$jobs" --target fuzz_decode_image fuzz_locate_request fuzz_http_request \
    make_fuzz_seeds
  cmake --build "$dir" --target fuzz_seeds
  local failed=0 target name rc
  local findings="$dir/tests/fuzz/findings" logs="$dir/tests/fuzz/logs"
  mkdir -p "$findings" "$logs"
  for target in fuzz_decode_image fuzz_locate_request fuzz_http_request; do
    name="${target#fuzz_}"
    local dict=tests/fuzz/image.dict
    [[ $name == http_request ]] && dict=tests/fuzz/http.dict
    step "fuzzing (bounded): $target for ${fuzz_seconds}s"
    # The first directory collects what runs discover (kept between local runs); the others are
    # read-only seeds.
    local corpus="$dir/tests/fuzz/corpus/$name"
    local seeds=()
    [[ -d "$dir/tests/fuzz/seeds/$name" ]] && seeds+=("$dir/tests/fuzz/seeds/$name")
    [[ -d "tests/fuzz/regressions/$name" ]] && seeds+=("tests/fuzz/regressions/$name")
    mkdir -p "$corpus"
    set +e
    "$dir/tests/fuzz/$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=262144 -close_fd_mask=2 -dict="$dict" -print_final_stats=1 \
      -artifact_prefix="$findings/$name-" "$corpus" "${seeds[@]}" 2>&1 |
      tee "$logs/$name.log" |
      grep -avE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|^"|^[[:space:]]+NEW_FUNC'
    rc=${PIPESTATUS[0]}
    set -e
    if [[ $rc -ne 0 ]]; then
      failed=1
      echo "!! $target: finding (exit $rc). The input is in $findings/ (path in the report above);"
      echo "!! reproduce: $dir/tests/fuzz/$target $findings/$name-crash-<sha1> (or -timeout-, -oom-, -leak-; docs/TESTING.md)"
    fi
  done
  return $failed
}

# Container images: docker/Dockerfile's server and tools images built with podman (the build
# stage reuses this build's ccache) and checked end to end: geolocd serving from the image as
# deploy/k8s runs it, Locate/Explain from this build's CLI, /metrics, the SIGTERM drain, and the
# tools image's model-export and bundle-build Jobs (docs/OPERATIONS.md, "The image check").
stage_image() {
  step "container images: build and end-to-end check"
  GEOLOC_BUILD_DIR="$build" tools/image_check.sh
}

step "dependencies"
tools/install_deps.sh

for s in "${stages[@]}"; do
  case "$s" in
    release) timed "release build + ctest" stage_release ;;
    threads) timed "thread-safety (clang)" stage_threads ;;
    asan) timed "sanitizers (ASan+UBSan)" stage_asan ;;
    tsan) timed "sanitizers (TSan)" stage_tsan ;;
    fuzz) timed "fuzzing (bounded)" stage_fuzz ;;
    image) timed "container images" stage_image ;;
  esac
done

if [[ "${stages[*]}" == "release" && "${GEOLOC_TEST_QUICK:-0}" == 1 ]]; then
  step "all tests passed (quick run: sanitizer, fuzzing and image stages skipped)"
else
  step "all tests passed (stages: ${stages[*]})"
fi
