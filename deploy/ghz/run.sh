#!/usr/bin/env bash
# Load-tests geolocd's Locate or Explain with ghz, or with geoloc-loadgen where ghz is absent.
#
#   deploy/ghz/run.sh locate|explain IMAGE_OR_DIR [HOST:PORT] [-- extra ghz flags]
#
# Environment (all optional):
#   GEOLOC_TOKEN_FILE  bearer token file (else $GEOLOC_TOKEN; none: no authorization header)
#   TOTAL              calls to make           (default: the config's, 2000 locate / 100 explain)
#   CONCURRENCY        calls in flight         (default: the config's, 16 locate / 2 explain)
#   DURATION           e.g. 60s: run for this long instead of TOTAL calls
#   RPS                rate limit, calls per second (0: none)
#   GHZ_FORMAT         ghz output format: summary (default), json, pretty, csv, html
#
# With ghz: builds the payload from the image(s) (make_payload.py), then runs ghz with
# locate.reflection.json (server reflection) or explain.proto.json (the .proto file), adjusted by
# the variables above, from this directory. The token goes into a private temporary metadata file,
# never onto the command line. Without ghz: runs geoloc-loadgen with the same images and settings
# (docs/LOADGEN.md), which prints the same report.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 2 ]] || usage
method="$1"; images="$2"; shift 2
host="localhost:50051"
if [[ $# -gt 0 && "$1" != "--" ]]; then host="$1"; shift; fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
extra=("$@")
case "$method" in
  locate) config="locate.reflection.json"; payload_args=() ;;
  explain) config="explain.proto.json"; payload_args=(--explain) ;;
  *) usage ;;
esac
[[ -e "$images" ]] || { echo "run.sh: $images does not exist" >&2; exit 2; }

token_args=()
if [[ -n "${GEOLOC_TOKEN_FILE:-}" ]]; then token_args=(--token-file "$GEOLOC_TOKEN_FILE"); fi

if ! command -v ghz >/dev/null 2>&1; then
  loadgen="$(command -v geoloc-loadgen || true)"
  if [[ -z "$loadgen" ]]; then
    echo "run.sh: neither ghz nor geoloc-loadgen is on PATH (build the project, or install ghz" \
         "from https://ghz.sh)" >&2
    exit 1
  fi
  echo "run.sh: ghz not found; using $loadgen" >&2
  args=(--images "$images" --server "$host" --method "$method"
        --concurrency "${CONCURRENCY:-$([[ $method == locate ]] && echo 16 || echo 2)}")
  if [[ -n "${DURATION:-}" ]]; then args+=(--duration "$DURATION"); else
    args+=(--total "${TOTAL:-$([[ $method == locate ]] && echo 2000 || echo 100)}"); fi
  [[ -n "${RPS:-}" ]] && args+=(--rps "$RPS")
  if [[ -n "${GEOLOC_TOKEN_FILE:-}" ]]; then args+=(--token_file "$GEOLOC_TOKEN_FILE"); fi
  exec "$loadgen" "${args[@]}"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
python3 "$here/make_payload.py" "${payload_args[@]}" ${token_args[@]+"${token_args[@]}"} \
    -o "$tmp/payload.json" "$images"

# The effective config: the committed one with this run's host, files and overrides.
python3 - "$here/$config" "$tmp/config.json" "$host" "$tmp" <<'PY'
import json, os, sys
src, dst, host, tmp = sys.argv[1:5]
c = json.load(open(src))
c["host"] = host
c["data-file"] = os.path.join(tmp, "payload.json")
c["metadata-file"] = os.path.join(tmp, "metadata.json")
env = os.environ
if env.get("TOTAL"): c["total"] = int(env["TOTAL"])
if env.get("CONCURRENCY"): c["concurrency"] = int(env["CONCURRENCY"])
if env.get("DURATION"): c["duration"] = env["DURATION"]
if env.get("RPS"): c["rps"] = int(env["RPS"])
if env.get("GHZ_FORMAT"): c["format"] = env["GHZ_FORMAT"]
json.dump(c, open(dst, "w"), indent=2)
PY
cd "$here"   # the config's proto and import paths are relative to this directory
ghz --config "$tmp/config.json" ${extra[@]+"${extra[@]}"}
