#!/bin/bash
# Trained descriptors against random ones on a world's held-out places (docs/TRAINING.md,
# "The experiment"). One command per model:
#
#   tools/train/experiment.sh SPEC WORLD_DIR OUT_DIR
#
# SPEC       cosplace-r18  ResNet-18 + GeM + FC 512, CosPlace training (seed 002)
#            netvlad-r18   ResNet-18 cut after layer3 + NetVLAD (64 clusters), triplets (seed 003)
#            all           both, one after the other
# WORLD_DIR  a proving-ground world with named splits (train.csv, database.csv, val.csv,
#            test.csv), or a geoloc-synth world (world.csv), which is first split by place
#            (tools/train/split_world.py: 60% train, 20% val, 20% test) into OUT_DIR/splits
# OUT_DIR    results; rerunning the command resumes an interrupted training and skips what is done
#
# For each model it trains on train.csv (validating on val.csv against database.csv every epoch),
# exports the best epoch (OUT/SPEC/run/model.pt) and the weights it started from
# (OUT/SPEC/initial.pt: the same architecture with seeded random weights, NetVLAD clusters from
# k-means), indexes database.csv with each (geoloc-index), and evaluates both on val.csv and
# test.csv (geoloc-eval run --json -> OUT/SPEC/{trained,initial}_{val,test}.json). When
# GEOLOC_PROTOCOL names an executable, it is then called as
#   $GEOLOC_PROTOCOL --model OUT/SPEC/run/model.pt --bundle OUT/SPEC/bundle-trained --world SPLITS
# so the proving ground's protocol script can take the trained model from here. The last line of
# standard output is the trained model's path.
#
# Environment (defaults): GEOLOC_BUILD_DIR (build), INPUT_SIZE ("120 160": H W, the world's 4:3
# photos whole), THREADS (2), EPOCHS (6), COSPLACE_ITERATIONS (150), NETVLAD_ITERATIONS (100),
# VAL_MAX_DATABASE (3000: validation searches the queries' matches plus distractors, 3000 photos
# in all, to keep epochs short; 0: the whole database), EXTRA_TRAIN_ARGS (appended to train.py's
# arguments, e.g. "--lr 3e-4").
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//; /^set -euo/d' >&2
  exit 2
}
[[ $# -eq 3 ]] || usage
SPEC=$1
WORLD=$(cd "$2" && pwd)
OUT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${GEOLOC_BUILD_DIR:-$ROOT/build}
PY=/usr/bin/python3
read -r -a SIZE <<< "${INPUT_SIZE:-120 160}"
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-6}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

case "$SPEC" in
  cosplace-r18|netvlad-r18) ;;
  all) for s in cosplace-r18 netvlad-r18; do "$0" "$s" "$2" "$OUT"; done; exit 0 ;;
  *) echo "experiment.sh: unknown SPEC '$SPEC' (cosplace-r18, netvlad-r18 or all)" >&2; exit 2 ;;
esac
for tool in "$BUILD/tools/index/geoloc-index" "$BUILD/tools/eval/geoloc-eval"; do
  [[ -x $tool ]] || { echo "experiment.sh: $tool not built (cmake --build $BUILD)" >&2; exit 2; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [[ -f $WORLD/train.csv && -f $WORLD/database.csv && -f $WORLD/val.csv && -f $WORLD/test.csv ]]
then
  SPLITS=$WORLD
elif [[ -f $WORLD/world.csv ]]; then
  SPLITS=$OUT/splits
  [[ -f $SPLITS/test.csv ]] || "$PY" "$ROOT/tools/train/split_world.py" --world "$WORLD/world.csv" --out "$SPLITS"
else
  echo "experiment.sh: $WORLD has neither train/database/val/test.csv nor world.csv" >&2
  exit 2
fi

DIR=$OUT/$SPEC
RUN=$DIR/run
mkdir -p "$DIR"
# From random weights (no ImageNet weights here) every layer trains, with settings chosen on the
# validation split of another geoloc-synth world (docs/TRAINING.md, "From random weights"); the
# seeds' 1e-5 from layer3 on is for pretrained backbones. CosPlace: learning rate 1e-3, BatchNorm
# training; cells of 25 m (the recall radius) in 2 x 2 groups (places lie 100 m apart or more,
# each with a few views). NetVLAD: 1e-4 with BatchNorm statistics frozen, which keeps what the
# k-means clusters were fitted to, and hard negatives mined again every 200 queries (50 steps):
# the default 1000 would mine once in a run this short.
case "$SPEC" in
  cosplace-r18)
    MODEL_ARGS=(--method cosplace --backbone resnet18 --dim 512 --lr 1e-3 --train-from all
                --cell-m 25 --group-spacing 2 --min-images-per-class 2
                --iterations-per-epoch "${COSPLACE_ITERATIONS:-150}") ;;
  netvlad-r18)
    MODEL_ARGS=(--method netvlad --backbone resnet18 --truncate-last-stage --clusters 64
                --lr 1e-4 --bn frozen --train-from all --cache-refresh 200
                --iterations-per-epoch "${NETVLAD_ITERATIONS:-100}") ;;
esac

# 1. Train (or resume, or nothing when the run finished).
if [[ -f $RUN/config.json ]]; then
  [[ -f $RUN/model.pt ]] || "$PY" "$ROOT/tools/train/train.py" --resume "$RUN"
else
  # shellcheck disable=SC2086
  "$PY" "$ROOT/tools/train/train.py" "${MODEL_ARGS[@]}" --train "$SPLITS/train.csv" \
    --val-queries "$SPLITS/val.csv" --val-database "$SPLITS/database.csv" \
    --input-size "${SIZE[@]}" --epochs "$EPOCHS" --threads "$THREADS" --out "$RUN" \
    --val-max-database "${VAL_MAX_DATABASE:-3000}" ${EXTRA_TRAIN_ARGS:-}
fi
[[ -f $DIR/initial.pt ]] || "$PY" "$ROOT/tools/export_model.py" --checkpoint "$RUN/initial.pth" \
  --checkpoint-format geoloc --name "$SPEC-initial" -o "$DIR/initial.pt" --quiet

# 2. Index the database with each model; 3. evaluate on validation and test queries.
for which in trained initial; do
  model=$RUN/model.pt
  [[ $which == initial ]] && model=$DIR/initial.pt
  bundle=$DIR/bundle-$which
  if [[ ! -f $bundle/manifest.json ]]; then
    "$BUILD/tools/index/geoloc-index" build --output="$bundle" --model="$model" \
      --csv="$SPLITS/database.csv" --encoder_threads="$THREADS" --replace --log_level=warning \
      > "$DIR/index-$which.log"
  fi
  for split in val test; do
    result=$DIR/${which}_$split.json
    [[ -f $result ]] && continue
    "$BUILD/tools/eval/geoloc-eval" run --model="$model" --bundle="$bundle" \
      --csv="$SPLITS/$split.csv" --threads="$THREADS" --json --log_level=warning > "$result.tmp"
    mv "$result.tmp" "$result"
  done
done

# 4. A summary: recall@N at 25 m; accuracy at 1 and 25 km for 1-NN and both KDEs (geoloc-eval's
# default parameters: tuning them on val.csv is the protocol's job).
"$PY" - "$DIR" <<'EOF'
import json, os, sys
d = sys.argv[1]
name = os.path.basename(d)
print(f"{name}: {'weights':8} {'split':5} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'R@20':>6} "
      f"{'1-NN 1/25 km':>13} {'grid KDE 1/25 km':>17} {'sph. KDE 1/25 km':>17}")
for which in ("initial", "trained"):
    for split in ("val", "test"):
        with open(os.path.join(d, f"{which}_{split}.json")) as f:
            r = json.load(f)
        acc = {e["estimator"]: e["accuracy"] for e in r["estimators"]
               if e["method"] == "retrieval"}
        cells = [f"{acc.get(e, {}).get('1km', float('nan')):.3f}/"
                 f"{acc.get(e, {}).get('25km', float('nan')):.3f}"
                 for e in ("nearest", "grid_kde", "spherical_kde")]
        print(f"{'':{len(name) + 1}} {which:8} {split:5} "
              + " ".join(f"{r['recall_at'][n]:6.3f}" for n in ("1", "5", "10", "20"))
              + f" {cells[0]:>13} {cells[1]:>17} {cells[2]:>17}")
EOF

if [[ -n ${GEOLOC_PROTOCOL:-} ]]; then
  "$GEOLOC_PROTOCOL" --model "$RUN/model.pt" --bundle "$DIR/bundle-trained" --world "$SPLITS"
fi
echo "$RUN/model.pt"
