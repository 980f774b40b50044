#!/usr/bin/env bash
# Puts the operator console's npm libraries where geolocd serves them (docs/CONSOLE.md).
#
# console/www/ is the served directory (geolocd --console_dir console/www). Its own files (HTML,
# CSS, the app's JavaScript) are in git; the libraries are not: this script installs the exact
# versions of console/package-lock.json from the npm registry (`npm ci`, into console/node_modules)
# and copies the files the page loads into console/www/vendor/ (git-ignored). With --browser-tests
# it also installs tests/console's playwright-core. Idempotent and quick when nothing changed:
# `npm ci` runs only when node_modules is older than the lock file.
#
# Usage: tools/console_deps.sh [--browser-tests]
# Needs: the machine's Node.js and npm (not a Debian package here), the npm registry on
# first run. The browser itself is Debian's chromium (tools/packages.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
browser_tests=0
for arg in "$@"; do
  case "$arg" in
    --browser-tests) browser_tests=1 ;;
    *) echo "usage: console_deps.sh [--browser-tests]" >&2; exit 2 ;;
  esac
done
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  # Node.js and npm come with the machine (the machine's own, not a Debian package list here:
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
  echo "console_deps: needs Node.js and npm on the PATH (on plain Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# npm_ci DIR: installs DIR's package-lock.json unless node_modules already matches it (npm writes
# node_modules/.package-lock.json on every install; it is newer than the lock file after one).
npm_ci() {
  local dir="$1" marker="$1/node_modules/.package-lock.json"
  if [[ -f "$marker" && "$marker" -nt "$dir/package-lock.json" ]]; then
    return 0
  fi
  echo "console_deps: npm ci in ${dir#"$root"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
}

npm_ci "$root/console"
modules="$root/console/node_modules"
vendor="$root/console/www/vendor"
staging="$(mktemp -d "$root/console/www/.vendor.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/leaflet" "$staging/topojson-client" "$staging/world-atlas"
cp "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" "$modules/leaflet/LICENSE" \
  "$staging/leaflet/"
cp -r "$modules/leaflet/dist/images" "$staging/leaflet/"
cp "$modules/topojson-client/dist/topojson-client.min.js" "$modules/topojson-client/LICENSE" \
  "$staging/topojson-client/"
# Natural Earth 1:50m country outlines (public domain), about 750 KB: the offline basemap.
cp "$modules/world-atlas/countries-50m.json" "$modules/world-atlas/LICENSE" "$staging/world-atlas/"
# Swap the whole folder in at once so that a running server never serves half a copy.
rm -rf "$vendor.old"
[[ -d "$vendor" ]] && mv "$vendor" "$vendor.old"
mv "$staging" "$vendor"
rm -rf "$vendor.old"
chmod -R a+rX "$vendor"
echo "console_deps: console libraries in ${vendor#"$root"/}"

if [[ $browser_tests -eq 1 ]]; then
  npm_ci "$root/tests/console"
  echo "console_deps: playwright-core in tests/console/node_modules"
fi
