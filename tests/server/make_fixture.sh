#!/usr/bin/env bash
# Builds the data every server integration test shares, once per build tree (CTest fixture
# "server_data"): two small exported models, a tiny synthetic world, and bundles:
#   bundles/v1, bundles/v2   the world's database split, under two names (two versions)
#   bundles/corrupt          v1 with one byte of its shard flipped (must be rejected)
#   bundles/mismatch         built with a different model (must be rejected)
#   bundles/current -> v1    a symlink, for SIGHUP and --watch_bundle tests
#   bundles/classified       v1 with adaptive cells and a trained HMC cell classifier head
# Usage: make_fixture.sh BUILD_DIR OUT_DIR
set -euo pipefail
build="$1"
out="$2"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py=/usr/bin/python3
# The stamp names the fixture's layout: a build tree with an older layout rebuilds it.
stamp="$out/.complete-2"
if [[ -f "$stamp" ]]; then
  echo "server fixture: $out is up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/bundles"

# Small and fast: ResNet-18 + GeM at 128x128 (the product default is 224).
"$py" "$src/tools/export_model.py" --backbone resnet18 --head gem --input-size 128 --seed 0 \
  --name fixture-r18-gem -o "$out/model.pt" --quiet
"$py" "$src/tools/export_model.py" --backbone resnet18 --head gem --input-size 128 --seed 1 \
  --name fixture-other -o "$out/other_model.pt" --quiet

"$build/tools/synth/geoloc-synth" --preset fixed-tiny --seed 3 --out "$out/world" >/dev/null

index="$build/tools/index/geoloc-index"
"$index" build --model "$out/model.pt" --csv "$out/world/database.csv" --output "$out/bundles/v1" \
  --name v1 --encoder_threads 1 --log_level warning
"$index" build --model "$out/model.pt" --csv "$out/world/database.csv" --output "$out/bundles/v2" \
  --name v2 --shards 2 --encoder_threads 1 --log_level warning
"$index" build --model "$out/other_model.pt" --csv "$out/world/database.csv" \
  --output "$out/bundles/mismatch" --name mismatch --encoder_threads 1 --log_level warning
cp -r "$out/bundles/v1" "$out/bundles/corrupt"
shard="$(ls "$out/bundles/corrupt/shards/"*.faiss | head -n 1)"
size="$(stat -c %s "$shard")"
# Flip one byte in the middle of the vectors: the SHA-256 check must catch it.
"$py" - "$shard" "$((size / 2))" <<'PY'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(offset)
    b = f.read(1)
    f.seek(offset)
    f.write(bytes([b[0] ^ 0xFF]))
PY
cells="$build/tools/cells/geoloc-cells"
cp -r "$out/bundles/v1" "$out/bundles/classified"
"$cells" generate --bundle "$out/bundles/classified" --lvl_start 2 --lvl_end 10 --t_min 2 \
  --t_max 12 >/dev/null
"$cells" train --bundle "$out/bundles/classified" --variant hmc --epochs 30 --hidden 64 \
  --threads 1 --progress=false >/dev/null
ln -sfn v1 "$out/bundles/current"
touch "$stamp"
echo "server fixture: ready in $out"
