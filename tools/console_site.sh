#!/usr/bin/env bash
# Assembles a served copy of the operator console with a demo folder (docs/CONSOLE.md): OUT_DIR
# gets console/www (its libraries copied in by tools/console_deps.sh first) plus OUT_DIR/demo/
# holding the photos of a CSV's `path` column (paths relative to the CSV, e.g. a geoloc-synth
# world's query.csv) and demo/index.json listing them, which turns on the console's "Random demo
# photo" button. Serve it with `geolocd --console_dir OUT_DIR`.
#
# Usage: tools/console_site.sh OUT_DIR [--demo_csv FILE.csv] [--demo_count N (default 20)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: console_site.sh OUT_DIR [--demo_csv FILE.csv] [--demo_count N]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
out="$1"
shift
csv="" count=20
while [[ $# -gt 0 ]]; do
  case "$1" in
    --demo_csv) [[ $# -ge 2 ]] || usage; csv="$2"; shift 2 ;;
    --demo_count) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; count="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -z "$csv" || -f "$csv" ]] || { echo "console_site: no CSV at $csv" >&2; exit 2; }

"$root/tools/console_deps.sh" >/dev/null
rm -rf "$out"
mkdir -p "$out"
cp -r "$root/console/www/." "$out/"
if [[ -n "$csv" ]]; then
  mkdir -p "$out/demo"
  base="$(cd "$(dirname "$csv")" && pwd)"
  # The first `count` rows' photos, flattened to unique names; index.json lists them in order.
  /usr/bin/python3 - "$csv" "$base" "$out/demo" "$count" <<'PY'
import csv, json, os, shutil, sys
csv_path, base, demo, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
photos = []
with open(csv_path, newline="") as f:
    for row in csv.DictReader(f):
        if len(photos) == count:
            break
        src = os.path.join(base, row["path"])
        name = row["path"].replace("/", "_")
        shutil.copyfile(src, os.path.join(demo, name))
        photos.append(name)
if not photos:
    sys.exit(f"console_site: no photos in {csv_path}")
with open(os.path.join(demo, "index.json"), "w") as f:
    json.dump({"photos": photos}, f, indent=1)
print(f"console_site: {len(photos)} demo photos")
PY
fi
echo "console_site: serve $out with geolocd --console_dir $out"
