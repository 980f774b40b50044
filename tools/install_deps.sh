#!/usr/bin/env bash
# Installs the Debian packages listed in tools/packages.txt. Idempotent: does nothing when every
# package is already installed; otherwise runs apt-get update (once) and apt-get install -y.
# Usage: tools/install_deps.sh [extra-list-file ...]   (needs root, or sudo, when something is missing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lists=("$here/packages.txt" "$@")

wanted=()
for list in "${lists[@]}"; do
  [[ -f "$list" ]] || { echo "install_deps: no package list at $list" >&2; exit 2; }
  while read -r line; do
    line="${line%%#*}"; line="${line//[[:space:]]/}"
    [[ -n "$line" ]] && wanted+=("$line")
  done <"$list"
done

missing=()
for pkg in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == ii* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: all ${#wanted[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install_deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install_deps: done"
