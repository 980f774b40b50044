#!/usr/bin/env bash
# Builds the data the geoloc-cells tests share, once per build tree (CTest fixture
# "cells_classifier_data"): a small exported model, the "small" synthetic world and a flat bundle
# of its database split (756 views of 252 places in 18 cities, 6 regions; group = place).
#   OUT/model.pt         ResNet-18 + GeM at 128x128, random weights (seed 0)
#   OUT/world/           geoloc-synth --preset fixed-small --seed 1
#   OUT/bundles/world    geoloc-index build from OUT/world/database.csv
# Usage: make_fixture.sh BUILD_DIR OUT_DIR
set -euo pipefail
build="$1"
out="$2"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py=/usr/bin/python3
stamp="$out/.complete"
if [[ -f "$stamp" ]]; then
  echo "cells classifier fixture: $out is up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/bundles"

"$py" "$src/tools/export_model.py" --backbone resnet18 --head gem --input-size 128 --seed 0 \
  --name cells-r18-gem -o "$out/model.pt" --quiet
"$build/tools/synth/geoloc-synth" --preset fixed-small --seed 1 --out "$out/world" >/dev/null
"$build/tools/index/geoloc-index" build --model "$out/model.pt" --csv "$out/world/database.csv" \
  --output "$out/bundles/world" --name world --log_level warning >/dev/null
touch "$stamp"
echo "cells classifier fixture: ready in $out"
