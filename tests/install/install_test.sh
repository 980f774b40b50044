#!/usr/bin/env bash
# Proves that another project can use geoloc's client as docs/CLIENT.md says: configures this
# source tree client-only (-DGEOLOC_CLIENT_ONLY=ON: gRPC, protobuf and Abseil, no LibTorch, Faiss,
# OpenCV or S2 lookup at all), builds it, installs it with the `dev` component to a scratch
# prefix, then configures, builds and runs tests/install/consumer (find_package(geoloc),
# geoloc::client) against that prefix, and runs the installed geoloc CLI.
#
# Usage: install_test.sh SOURCE_DIR WORK_DIR
# WORK_DIR/client-build keeps its build between runs (ccache makes a fresh one cheap too); the
# prefix and the consumer are made anew every time.
set -euo pipefail
src="${1:?usage: install_test.sh SOURCE_DIR WORK_DIR}"
work="${2:?usage: install_test.sh SOURCE_DIR WORK_DIR}"
build="$work/client-build"
prefix="$work/prefix"
consumer="$work/consumer-build"
rm -rf "$prefix" "$consumer"
mkdir -p "$work"

step() { echo "== $*"; }

step "configure the client-only tree"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEOLOC_CLIENT_ONLY=ON \
  -DGEOLOC_BUILD_TESTS=OFF >"$work/configure.log"
# The client-only configuration must not even look for the server's dependencies.
for variable in Torch_DIR faiss_DIR OpenCV_DIR S2_LIBRARY S2_INCLUDE_DIR prometheus-cpp_DIR \
                OpenMP_CXX_FLAGS GTest_DIR benchmark_DIR; do
  if grep -q "^${variable}:" "$build/CMakeCache.txt"; then
    echo "FAIL: the client-only configuration looked up $variable" >&2
    exit 1
  fi
done

step "build it"
cmake --build "$build" -j "$(nproc)"

step "install the package (component dev) and the programs to $prefix"
cmake --install "$build" --component dev --prefix "$prefix" >/dev/null
cmake --install "$build" --prefix "$prefix" >/dev/null
for file in include/client/geoloc_client.h include/geoloc/v1/geoloc.pb.h \
            include/geoloc/v1/geoloc.grpc.pb.h lib/cmake/geoloc/geolocConfig.cmake \
            share/geoloc/proto/geoloc/v1/geoloc.proto bin/geoloc bin/geoloc-loadgen; do
  if [[ ! -e "$prefix/$file" ]]; then
    echo "FAIL: $prefix/$file was not installed" >&2
    exit 1
  fi
done

step "build the outside consumer against the installed package"
cmake -S "$src/tests/install/consumer" -B "$consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer-configure.log"
cmake --build "$consumer"

step "run it: option checks, then a call to a server that is not there"
"$consumer/geoloc_consumer" "unix://$work/no-such-geolocd.sock"

step "run the installed CLI"
"$prefix/bin/geoloc" --version
echo "install test: ok"
