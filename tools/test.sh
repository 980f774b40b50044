#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs the whole suite.
# Exits non-zero on any failure. Usage: tools/test.sh   (env: GEOLOC_BUILD_DIR, default build/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${GEOLOC_BUILD_DIR:-$root/build}"
jobs="$(nproc)"

step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "dependencies"
tools/install_deps.sh

step "configure ($build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release

step "build"
cmake --build "$build" -j "$jobs"

step "tests"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900

step "all tests passed"
