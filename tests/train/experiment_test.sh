#!/bin/bash
# tools/train/experiment.sh end to end on geoloc-synth's fixed-tiny world (world.csv, split by the
# script) with a few steps per model:
# train, export (trained and initial), index, evaluate, summary, the protocol hand-off; a rerun
# finds everything done; a world without splits is refused.
#   tests/train/experiment_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1
SOURCE=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BUILD/tools/synth/geoloc-synth" --preset fixed-tiny --out "$TMP/world" > /dev/null 2>&1
cat > "$TMP/protocol.sh" <<'PROTOCOL'
#!/bin/bash
echo "$*" >> "$(dirname "$0")/protocol.calls"
PROTOCOL
chmod +x "$TMP/protocol.sh"
run() {
  env GEOLOC_BUILD_DIR="$BUILD" INPUT_SIZE="32 32" EPOCHS=1 COSPLACE_ITERATIONS=2 \
    NETVLAD_ITERATIONS=2 THREADS=1 GEOLOC_PROTOCOL="$TMP/protocol.sh" \
    "$SOURCE/tools/train/experiment.sh" all "$TMP/world" "$TMP/out"
}
run > "$TMP/first.log" 2>&1 || { cat "$TMP/first.log" >&2; fail "experiment.sh exited $?"; }

for spec in cosplace-r18 netvlad-r18; do
  d=$TMP/out/$spec
  for f in run/model.pt run/best.pth run/initial.pth run/curves.png initial.pt \
           bundle-trained/manifest.json bundle-initial/manifest.json \
           trained_val.json trained_test.json initial_val.json initial_test.json; do
    [[ -s $d/$f ]] || fail "$spec: no $f"
  done
  grep -q "^$spec: weights" "$TMP/first.log" || fail "$spec: no summary"
  grep -q -- "--model $d/run/model.pt --bundle $d/bundle-trained --world $TMP/out/splits" \
    "$TMP/protocol.calls" || fail "$spec: protocol not called with the trained model"
  "$BUILD/tools/index/geoloc-index" verify "$d/bundle-trained" --model="$d/run/model.pt" \
    > /dev/null 2>&1 || fail "$spec: the trained bundle does not verify against its model"
done
[[ -f $TMP/out/splits/test.csv ]] || fail "world.csv was not split"
[[ $(tail -n 1 "$TMP/first.log") == "$TMP/out/netvlad-r18/run/model.pt" ]] \
  || fail "the last line is not the trained model's path"

# A rerun trains nothing and rebuilds nothing: the same summary from the stored results.
before=$(stat -c %Y "$TMP/out/cosplace-r18/run/state.pth" "$TMP/out/netvlad-r18/bundle-trained/manifest.json")
run > "$TMP/second.log" 2>&1 || fail "rerun exited $?"
after=$(stat -c %Y "$TMP/out/cosplace-r18/run/state.pth" "$TMP/out/netvlad-r18/bundle-trained/manifest.json")
[[ $before == "$after" ]] || fail "the rerun redid finished work"
summary() { grep -E '^ +(initial|trained) +(val|test) ' "$1"; }
[[ $(summary "$TMP/first.log" | wc -l) -eq 8 ]] || fail "the summary has not 8 rows"
diff <(summary "$TMP/first.log") <(summary "$TMP/second.log") > /dev/null \
  || fail "the rerun's summary differs"

# A folder that is neither a proving-ground world nor a geoloc-synth world.
mkdir "$TMP/empty"
if "$SOURCE/tools/train/experiment.sh" cosplace-r18 "$TMP/empty" "$TMP/out2" 2> "$TMP/err"; then
  fail "an empty world was accepted"
fi
grep -q "neither train/database/val/test.csv nor world.csv" "$TMP/err" || fail "no reason given"
echo "experiment_test: OK"
