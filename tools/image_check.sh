#!/usr/bin/env bash
# Builds the container images from docker/Dockerfile and runs them end to end, with Debian's
# podman instead of a Docker engine (docs/OPERATIONS.md, "The image check"). tools/test.sh's
# `image` stage runs it; CI therefore fails on a Dockerfile that does not build or an image that
# does not serve.
#
#   1. base images: debian:bookworm and debian:bookworm-slim made with debootstrap from the
#      machine's Debian mirror, shaped like the official images, imported under the names the
#      Dockerfile's FROM lines use (no registry needed); reused when present
#   2. builds geoloc/geolocd and geoloc/geoloc-tools (`--target tools`) from docker/Dockerfile
#      with the repository as context and in Docker's image format, as `docker build` would;
#      the build stage compiles with the host's ccache mounted in
#   3. end to end, every container as deploy/k8s runs it (tests/deploy/podman_args.py: user
#      10001, read-only root file system, capabilities dropped, volumes at the manifests' paths
#      and read-only where they are): geoloc-synth writes a tiny world into a data folder; the
#      model-export Job exports the demo model and the bundle-build Job (ACTIVATE=true) builds
#      and activates its bundle, both from the tools image; geolocd starts from the server image
#      with the base flagfile and token files, the data mounted read-only; the host's CLI waits
#      for grpc.health.v1 SERVING (and the image's own CLI sees it too), runs Locate (and one
#      without a token, refused) and Explain; /metrics is scraped and checked; an Explain is started, SIGTERM sent while it is in
#      flight, and geolocd must drain it and exit 0
#   4. prints the image sizes and the time of each step
#
# Usage: tools/image_check.sh [--fresh-base]   (as root: podman, debootstrap)
#   --fresh-base   remake the base images even when present
# Environment:
#   GEOLOC_BUILD_DIR      the host build whose client/geoloc talks to the container (default
#                         build/; the target is built if missing)
#   GEOLOC_IMAGE_CCACHE   1 (default): mount the host's ccache into the build stage; 0: build
#                         exactly as a plain `docker build` (ccache in the build's cache mount)
#   GEOLOC_IMAGE_KEEP     1: keep the scratch folder (data, logs) even when the check passes
# Exit status: 0 images built and the check passed, 1 a step failed (its log is printed),
# 2 usage error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${GEOLOC_BUILD_DIR:-$root/build}"
build="${build%/}"
py=/usr/bin/python3  # Debian's python3, which has python3-yaml

fresh_base=0
for arg in "$@"; do
  case "$arg" in
    --fresh-base) fresh_base=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image_check: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ "$(id -u)" -ne 0 ]]; then
  echo "image_check: run as root (podman stores the images system-wide; debootstrap needs root)" >&2
  exit 2
fi

# The image names the manifests pin (deploy/k8s), with the project's version.
version="$(sed -n 's/^project(geoloc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
server_image="geoloc/geolocd:$version"
tools_image="geoloc/geoloc-tools:$version"
base_images=(docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim)

step() { printf '\n== image check: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
die() { echo "image_check: $*" >&2; exit 1; }

# Scratch space outside the build context (podman sends the repository to the build).
work="$(mktemp -d /var/tmp/geoloc-image-check.XXXXXX)"
chmod 0755 "$work"
server_container="geoloc-image-check-$$"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    podman rm --force --time 0 "$server_container" >/dev/null 2>&1 || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -eq 0 && "${GEOLOC_IMAGE_KEEP:-0}" != 1 ]]; then
    rm -rf "$work"
  else
    echo "image_check: data and logs kept in $work"
  fi
  return $rc
}
trap cleanup EXIT

# Wall time per step, printed at the end.
timings=()
t_start=0
begin() { step "$1"; t_start=$SECONDS; }
end() { timings+=("$(printf '%-44s %4ds' "$1" $((SECONDS - t_start)))"); }

# Runs a command with its output in a log; prints the log's tail when it fails.
logged() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "image_check: failed: $*" >&2
    tail -n 60 "$log" >&2
    return 1
  fi
}

# -- podman ------------------------------------------------------------------------------------
begin "packages (tools/image_packages.txt)"
tools/install_deps.sh tools/image_packages.txt
end "packages"

# runc instead of crun (crun cannot set rlimits or cgroups in some sandboxes, CI's included), and
# no default ulimits (runc would fail to apply them there too).
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

# -- 1. base images ----------------------------------------------------------------------------
# The machine's own mirror for a suite, as apt sees it (works for one-line and deb822 sources).
mirror_of() {
  apt-cache policy | awk -v s="$1/main" -v a="$(dpkg --print-architecture)" \
    '$3 == s && $4 == a { print $2; exit }'
}

make_base_images() {
  local rootfs="$work/rootfs" mirror security
  mirror="$(mirror_of bookworm)"
  [[ -n "$mirror" ]] || die "no bookworm/main source in apt's sources (apt-cache policy)"
  security="$(mirror_of bookworm-security)"
  security="${security:-http://deb.debian.org/debian-security}"
  echo "debootstrap --variant=minbase bookworm from $mirror"
  logged "$work/debootstrap.log" debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
  # What the official images (debuerreotype) change after debootstrap: deb822 sources with the
  # updates and security suites; dpkg without fsync (a failed install is redone, not repaired);
  # apt that deletes downloaded .debs, keeps its lists compressed, fetches no translations and
  # does not keep Suggests from autoremoval; no caches, logs or machine id.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' \
    >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* \
    "$rootfs"/var/log/apt/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/ldconfig/aux-cache
  : >"$rootfs/etc/machine-id"
  import_rootfs "$rootfs" docker.io/library/debian:bookworm
  # -slim: the same without documentation, manual pages and locales, now and for every package
  # installed later (dpkg path excludes, as the official -slim images do).
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  import_rootfs "$rootfs" docker.io/library/debian:bookworm-slim
  rm -rf "$rootfs"
}

import_rootfs() {
  tar --numeric-owner -C "$1" -c . |
    podman import --quiet --change 'CMD ["bash"]' \
      --change 'LABEL org.geoloc.base-image="debootstrap minbase (tools/image_check.sh)"' \
      - "$2" >/dev/null
  echo "imported $2 ($(podman image inspect --format '{{.Size}}' "$2" | numfmt --to=si)B)"
}

begin "base images (${base_images[*]})"
have_bases=1
for image in "${base_images[@]}"; do
  podman image exists "$image" || have_bases=0
done
if [[ $fresh_base == 1 || $have_bases == 0 ]]; then
  podman rmi --force "${base_images[@]}" >/dev/null 2>&1 || true
  make_base_images
  end "base images (debootstrap + import)"
else
  echo "present; reused (--fresh-base remakes them)"
  end "base images (cached)"
fi

# -- 2. the images -----------------------------------------------------------------------------
# Docker's image format: the OCI format podman defaults to has no SHELL (the Dockerfile's RUN lines
# are bash) and no HEALTHCHECK.
build_args=(--format docker --network host --pull=never -f docker/Dockerfile)
# ccache's hit and miss counters, "HITS MISSES" (the whole cache: other users' builds count too).
ccache_counts() {
  ccache --print-stats | awk '$1 ~ /^(direct|preprocessed)_cache_hit$/ { h += $2 }
    $1 == "cache_miss" { m = $2 } END { print h + 0, m + 0 }'
}
if [[ "${GEOLOC_IMAGE_CCACHE:-1}" == 1 ]]; then
  # The build stage compiles in the checkout's own path, so the compiler command lines equal the
  # host build's: with the host's cache and base_dir, the files the host compiled are hits.
  ccache_dir="$(ccache --get-config cache_dir)"
  mkdir -p "$ccache_dir"
  build_args+=(--volume "$ccache_dir:/ccache" --build-arg CCACHE_DIR=/ccache
    --build-arg "CCACHE_BASEDIR=$(ccache --get-config base_dir)" --build-arg "SRC_DIR=$root")
  # ccache hashes these: the build stage compiles under the host's locale.
  for var in LANG LC_ALL LC_CTYPE LC_MESSAGES; do
    if [[ -n "${!var+set}" ]]; then build_args+=(--build-arg "$var=${!var}"); fi
  done
fi

# build_image LOG [ARG...]: podman build with a time stamp on every output line, then a summary:
# steps, how many came from the layer cache, and the slowest three.
build_image() {
  local log="$1"
  shift
  if ! podman build "${build_args[@]}" "$@" . 2>&1 |
    while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done >"$log"; then
    echo "image_check: failed: podman build $*" >&2
    tail -n 60 "$log" | cut -d' ' -f2- >&2
    return 1
  fi
  echo "$(grep -cE ' STEP [0-9]+/[0-9]+: ' "$log") steps, $(grep -c -- '--> Using cache' "$log") from the layer cache; the slowest:"
  awk '/ STEP [0-9]+\/[0-9]+: / { if (name != "") print $1 - start, name
                                  start = $1; name = substr($0, index($0, "STEP")) }
       { last = $1 }
       END { if (name != "") print last - start, name }' "$log" |
    sort -rn | head -n 3 | awk '{ d = $1; $1 = ""; printf "  %5d s %s\n", d, substr($0, 2, 100) }'
}

begin "build $server_image"
ccache_before="$(ccache_counts)"
build_image "$work/build-server.log" -t "$server_image"
if [[ "${GEOLOC_IMAGE_CCACHE:-1}" == 1 ]]; then
  read -r hits0 misses0 <<<"$ccache_before"
  read -r hits1 misses1 < <(ccache_counts)
  echo "ccache during the build: $((hits1 - hits0)) hits, $((misses1 - misses0)) misses"
fi
end "build server image"

begin "build $tools_image"
build_image "$work/build-tools.log" --target tools -t "$tools_image"
end "build tools image"

sizes=()
for image in "$server_image" "$tools_image" "${base_images[@]}"; do
  sizes+=("$(printf '%-44s %6s' "$image" "$(podman image inspect --format '{{.Size}}' "$image" |
    numfmt --to=si --format='%.2f')B")")
done

# -- 3. end to end -----------------------------------------------------------------------------
cli="$build/client/geoloc"
if [[ ! -x "$cli" ]]; then
  step "host CLI ($cli)"
  [[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$(nproc)" --target geoloc
fi

# The data volume (the PVC), written by the Jobs as uid 10001 (fsGroup in the manifests).
data="$work/data"
mkdir -p "$data"
chown 10001:10001 "$data"

# pod_args MANIFEST CONTAINER [podman_args.py options]: sets POD_ARGS to the podman run
# arguments that run CONTAINER as the manifest does (tests/deploy/podman_args.py).
pod_args() {
  local out="$work/args.$2"
  "$py" tests/deploy/podman_args.py "$@" --empty-dir-root "$work/emptydir.$2" >"$out"
  mapfile -d '' POD_ARGS <"$out"
}
run_opts=(--rm --network host --pull=never)

begin "world: geoloc-synth (tools image)"
# Not a manifest: the photos a user would upload to sources/ (docs/OPERATIONS.md, step 4).
logged "$work/synth.log" podman run "${run_opts[@]}" --user 10001:10001 --read-only \
  --read-only-tmpfs=false --cap-drop=all --security-opt=no-new-privileges \
  --volume "$data:/var/lib/geoloc" --entrypoint geoloc-synth "$tools_image" \
  --preset tiny --seed 1 --out /var/lib/geoloc/sources/world
end "world (geoloc-synth)"

begin "model-export Job (deploy/k8s/ops/model-export)"
pod_args deploy/k8s/ops/model-export/job.yaml export --volume "data=$data"
logged "$work/model-export.log" podman run "${run_opts[@]}" "${POD_ARGS[@]}"
tail -n 2 "$work/model-export.log"
[[ -L "$data/models/current.pt" && -s "$data/models/current.pt" ]] ||
  die "the model-export Job did not make models/current.pt"
end "model-export Job"

begin "bundle-build Job (deploy/k8s/ops/bundle-build, ACTIVATE=true)"
# OMP_NUM_THREADS: the manifests derive it from their CPU limit (4 for geolocd, 4 here), which can
# exceed this machine's CPUs; one OpenMP thread per CPU here, as the limit means in a pod.
pod_args deploy/k8s/ops/bundle-build/job.yaml build --volume "data=$data" \
  --env SOURCE_ARGS=--csv=/var/lib/geoloc/sources/world/database.csv --env ACTIVATE=true \
  --env "OMP_NUM_THREADS=$(nproc)"
logged "$work/bundle-build.log" podman run "${run_opts[@]}" "${POD_ARGS[@]}"
tail -n 2 "$work/bundle-build.log"
[[ -L "$data/bundles/current" && -f "$data/bundles/current/manifest.json" ]] ||
  die "the bundle-build Job did not activate bundles/current"
end "bundle-build Job"

# The Deployment's ConfigMap and Secrets, as files the kubelet would mount, and its audit volume
# (written as uid 10001, as fsGroup makes it in a pod).
mkdir -p "$work/flags" "$work/client-tokens" "$work/admin-tokens" "$work/audit"
chown 10001:10001 "$work/audit"
cp deploy/k8s/base/geolocd.flags "$work/flags/geolocd.flags"
for who in client admin; do
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$work/$who-tokens/tokens"
  chown 0:10001 "$work/$who-tokens/tokens"
  chmod 0440 "$work/$who-tokens/tokens"  # the Secrets' defaultMode, readable through fsGroup
done
pod_args deploy/k8s/base/deployment.yaml geolocd --volume "flags=$work/flags" \
  --volume "client-tokens=$work/client-tokens" --volume "admin-tokens=$work/admin-tokens" \
  --volume "data=$data" --volume "audit=$work/audit" --env "OMP_NUM_THREADS=$(nproc)"
# The flagfile's fixed ports (50051, 9090) may be taken on a shared host network: any free port,
# reported in a file on the pod's /tmp emptyDir.
port_file="$work/emptydir.geolocd/tmp/ports"

begin "geolocd: start to SERVING (server image, read-only root, data read-only)"
started="$(date +%s.%N)"
# --health-cmd=none: the image's HEALTHCHECK (for docker run) would make podman look for systemd
# timers; the CLI it runs is checked below with podman exec instead.
podman run "${run_opts[@]}" --name "$server_container" --health-cmd=none "${POD_ARGS[@]}" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --port_file=/tmp/ports \
  >"$work/geolocd.log" 2>&1 &
server_pid=$!
server_died() {
  echo "image_check: geolocd's container exited; its log:" >&2
  tail -n 60 "$work/geolocd.log" >&2
  exit 1
}
# Waits on the server's own state: its port file, then grpc.health.v1 (NOT_SERVING while
# loading), for as long as the Deployment's startup probe allows (10 minutes).
deadline=$((SECONDS + 600))
until [[ -s "$port_file" ]]; do
  kill -0 "$server_pid" 2>/dev/null || server_died
  ((SECONDS < deadline)) || die "geolocd wrote no port file in 600 s"
  sleep 0.1
done
read -r grpc_port metrics_port _ <"$port_file"
server=(--server "127.0.0.1:$grpc_port")
until "$cli" health "${server[@]}" --deadline_ms 2000 >"$work/health.out" 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || server_died
  ((SECONDS < deadline)) || die "geolocd not SERVING after 600 s: $(cat "$work/health.out")"
  sleep 0.2
done
serving_s="$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
echo "SERVING $serving_s s after podman run ($(cat "$work/health.out"))"
# The image's own CLI, as the HEALTHCHECK and the TLS exec probes (docs/OPERATIONS.md) run it.
in_image="$(podman exec "$server_container" geoloc health --server="127.0.0.1:$grpc_port" \
  --deadline_ms=4000 2>&1)" || die "geoloc health inside the container failed: $in_image"
echo "inside the container: $in_image"
end "geolocd start to SERVING"

begin "Locate and Explain from the host's CLI"
IFS=, read -r query_path _ < <(sed -n 2p "$data/sources/world/test.csv")  # a test-split photo
query="$data/sources/world/$query_path"
client_token=(--token_file "$work/client-tokens/tokens")
# Auth is on in the image's configuration: no token, no answer.
if "$cli" locate "$query" "${server[@]}" >"$work/locate-no-token.out" 2>&1; then
  die "Locate without a token succeeded"
fi
grep -q UNAUTHENTICATED "$work/locate-no-token.out" ||
  die "Locate without a token: not UNAUTHENTICATED: $(cat "$work/locate-no-token.out")"
echo "Locate without a token: UNAUTHENTICATED"
logged "$work/locate.out" "$cli" locate "$query" "${server[@]}" "${client_token[@]}" \
  --geojson "$work/answer.geojson"
"$py" - "$work/answer.geojson" <<'PY'
import json, sys
features = json.load(open(sys.argv[1]))["features"]
peaks = [f for f in features if f["properties"].get("kind") == "peak"]
assert peaks, f"no peak in the answer ({len(features)} features)"
lon, lat = peaks[0]["geometry"]["coordinates"][:2]
assert -90 <= lat <= 90 and -180 <= lon <= 180, (lat, lon)
print(f"Locate: {len(peaks)} peak(s), top at {lat:.5f}, {lon:.5f}")
PY
logged "$work/explain.out" "$cli" explain "$query" "${server[@]}" "${client_token[@]}" \
  --out "$work/explain.png"
[[ "$(head -c 8 "$work/explain.png" | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] ||
  die "Explain wrote no PNG"
echo "Explain: $(stat -c %s "$work/explain.png") byte PNG"
end "Locate + Explain"

begin "/metrics"
"$py" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
  "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt"
# metric NAME [LABEL=VALUE...]: the sum of the scraped series that carry those labels.
metric() {
  "$py" - "$work/metrics.txt" "$@" <<'PY'
import re, sys
path, name, *want = sys.argv[1:]
want = dict(w.split("=", 1) for w in want)
total, found = 0.0, False
for line in open(path):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        total, found = total + float(m.group(3)), True
print(f"{total:g}" if found else "absent")
PY
}
check_metric() {  # check_metric EXPECTED NAME [LABEL=VALUE...]
  local expected="$1" got
  shift
  got="$(metric "$@")"
  [[ "$got" == "$expected" ]] || die "/metrics: $* is $got, expected $expected"
  echo "  $* = $got"
}
check_metric 1 geoloc_serving
check_metric 1 geoloc_requests_total method=Locate code=OK
check_metric 1 geoloc_requests_total method=Locate code=UNAUTHENTICATED
check_metric 1 geoloc_requests_total method=Explain code=OK
vectors="$(metric geoloc_bundle_vectors)"
[[ "$vectors" =~ ^[1-9][0-9]*$ ]] || die "/metrics: geoloc_bundle_vectors is $vectors"
echo "  geoloc_bundle_vectors = $vectors"
end "/metrics"

begin "SIGTERM with an Explain in flight: drain, exit 0"
# SIGTERM goes to geolocd (the container's PID 1) the moment the server's own gauge shows the
# Explain in flight; the Explain must still succeed. A call that ends before it is seen is
# repeated (an Explain takes hundreds of milliseconds; the gauge is polled every few).
server_host_pid="$(podman inspect --format '{{.State.Pid}}' "$server_container")"
"$py" - "http://127.0.0.1:$metrics_port/metrics" "$server_host_pid" "$cli" explain "$query" \
  "${server[@]}" "${client_token[@]}" --out "$work/explain-drain.png" <<'PY'
import os, re, signal, subprocess, sys, time, urllib.request
url, pid, *explain = sys.argv[1:]
def in_flight():
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    m = re.search(r"^geoloc_in_flight_requests (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0
for attempt in range(1, 11):
    call = subprocess.Popen(explain, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while call.poll() is None:
        if in_flight() >= 1:
            os.kill(int(pid), signal.SIGTERM)
            out, _ = call.communicate(timeout=120)
            if call.returncode != 0:
                sys.exit(f"the Explain in flight at SIGTERM failed (exit {call.returncode}):\n{out}")
            print(f"SIGTERM with the Explain in flight (attempt {attempt}): the Explain succeeded")
            sys.exit(0)
        time.sleep(0.003)
    out = call.stdout.read()
    if call.returncode != 0:
        sys.exit(f"Explain failed before SIGTERM (exit {call.returncode}):\n{out}")
sys.exit("no Explain was seen in flight in 10 attempts")
PY
set +e
wait "$server_pid"
server_rc=$?
set -e
server_pid=""
grep -E 'draining|drained|exits with status' "$work/geolocd.log" | cut -c1-140
[[ $server_rc -eq 0 ]] || { tail -n 30 "$work/geolocd.log" >&2; die "geolocd exited $server_rc after SIGTERM"; }
grep -qE 'draining: [1-9][0-9]* call\(s\) in flight' "$work/geolocd.log" ||
  die "geolocd's log does not show the Explain in flight when the drain began"
grep -q 'geolocd exits with status 0' "$work/geolocd.log" || die "no clean exit in geolocd's log"
end "SIGTERM drain"

begin "audit log on its volume (one file per pod, every call once)"
# The flagfile's --audit_log=/var/log/geoloc/audit/{hostname}.jsonl: the container's host name.
"$py" - "$work/audit" <<'PY'
import collections, glob, json, os, sys
files = glob.glob(os.path.join(sys.argv[1], "*.jsonl"))
assert len(files) == 1, f"expected one audit file (one pod), found {files}"
lines = [json.loads(l) for l in open(files[0]) if l.strip()]
calls = collections.Counter((l.get("method"), l.get("code")) for l in lines)
want = {("Locate", "UNAUTHENTICATED"): 1, ("Locate", "OK"): 1}
for key, n in want.items():
    assert calls[key] == n, f"audit log: {key} logged {calls[key]} times, expected {n}: {dict(calls)}"
assert calls[("Explain", "OK")] >= 2, f"audit log: the two Explains are missing: {dict(calls)}"
print(f"{os.path.basename(files[0])}: {len(lines)} lines, {dict(calls)}")
PY
end "audit log"

step "passed"
printf '\nimage sizes (podman image inspect)\n'
printf '  %s\n' "${sizes[@]}"
printf '\nstep times (wall)\n'
printf '  %s\n' "${timings[@]}"
printf '\ngeolocd start to SERVING: %s s (model %s, bundle of %s vectors, --verify_checksums)\n' \
  "$serving_s" "$(readlink "$data/models/current.pt")" "$vectors"
