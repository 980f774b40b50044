#!/usr/bin/env bash
# Builds the data that the tests needing real models and bundles share, once per build tree (the
# CTest fixtures of docs/TESTING.md). Nothing is downloaded: models are exported with random
# weights (fixed seeds), worlds come from geoloc-synth.
#
#   make_fixture.sh server BUILD_DIR OUT_DIR            (CTest fixture "server_data")
#     model.pt, other_model.pt   ResNet-18 + GeM at 128x128, seeds 0 and 1
#     world/                     geoloc-synth --preset fixed-tiny --seed 3
#     bundles/v1, bundles/v2     the world's database split, under two names (v2: 2 shards)
#     bundles/v1-sq8             the same as v1 with the sq8 flat store (--flat_store sq8)
#     bundles/corrupt            v1 with one byte of its shard flipped (must be rejected)
#     bundles/mismatch           built with other_model.pt (must be rejected)
#     bundles/classified         v1 with adaptive cells and a trained HMC cell classifier head
#     bundles/current -> v1      a symlink, for SIGHUP and --watch_bundle tests
#   make_fixture.sh cells_classifier BUILD_DIR OUT_DIR  (CTest fixture "cells_classifier_data")
#     model.pt                   ResNet-18 + GeM at 128x128, seed 0
#     world/                     geoloc-synth --preset fixed-small --seed 1 (756 views of 252 places in
#                                18 cities, 6 regions)
#     bundles/world              a flat bundle of its database split (group = place)
#
# OUT_DIR/.complete holds the kind and its layout version once everything is written; a fixture
# with another stamp (an older layout, an interrupted run) is rebuilt from scratch.
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: make_fixture.sh server|cells_classifier BUILD_DIR OUT_DIR" >&2
  exit 2
fi
kind="$1"
build="$2"
out="$3"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py=/usr/bin/python3  # Debian's, with python3-torch; another python3 on PATH may lack it
synth="$build/tools/synth/geoloc-synth"
index="$build/tools/index/geoloc-index"
cells="$build/tools/cells/geoloc-cells"

case "$kind" in
  server) layout=3 ;;
  cells_classifier) layout=1 ;;
  *)
    echo "make_fixture.sh: unknown fixture '$kind' (server or cells_classifier)" >&2
    exit 2
    ;;
esac
stamp="$out/.complete"
want="$kind $layout"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$kind fixture: $out is up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/bundles"

# export_model NAME SEED FILE: small and fast, ResNet-18 + GeM at 128x128 (the product's is 224).
export_model() {
  "$py" "$src/tools/export_model.py" --backbone resnet18 --head gem --input-size 128 --seed "$2" \
    --name "$1" -o "$3" --quiet
}
# build_bundle MODEL NAME [FLAGS...]: a bundle of the world's database split at bundles/NAME.
build_bundle() {
  local model="$1" name="$2"
  shift 2
  "$index" build --model "$model" --csv "$out/world/database.csv" --output "$out/bundles/$name" \
    --name "$name" --log_level warning "$@" >/dev/null
}

case "$kind" in
  server)
    export_model fixture-r18-gem 0 "$out/model.pt"
    export_model fixture-other 1 "$out/other_model.pt"
    "$synth" --preset fixed-tiny --seed 3 --out "$out/world" >/dev/null
    build_bundle "$out/model.pt" v1 --encoder_threads 1
    build_bundle "$out/model.pt" v2 --shards 2 --encoder_threads 1
    build_bundle "$out/model.pt" v1-sq8 --flat_store sq8 --encoder_threads 1
    build_bundle "$out/other_model.pt" mismatch --encoder_threads 1
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
    cp -r "$out/bundles/v1" "$out/bundles/classified"
    "$cells" generate --bundle "$out/bundles/classified" --lvl_start 2 --lvl_end 10 --t_min 2 \
      --t_max 12 >/dev/null
    "$cells" train --bundle "$out/bundles/classified" --variant hmc --epochs 30 --hidden 64 \
      --threads 1 --progress=false >/dev/null
    ln -sfn v1 "$out/bundles/current"
    ;;
  cells_classifier)
    export_model cells-r18-gem 0 "$out/model.pt"
    "$synth" --preset fixed-small --seed 1 --out "$out/world" >/dev/null
    build_bundle "$out/model.pt" world
    ;;
esac
echo "$want" >"$stamp"
echo "$kind fixture: ready in $out"
