#!/usr/bin/env bash
# Runs a deployment-check tool that tools/packages.txt provides (yamllint, promtool), failing with
# a clear message when it is missing: these are project dependencies, not optional extras.
#   tests/deploy/run_tool.sh TOOL DEBIAN_PACKAGE [ARGS...]
set -euo pipefail
tool="$1"; package="$2"; shift 2
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "$tool not found: install the Debian package '$package' (tools/install_deps.sh installs" \
       "everything in tools/packages.txt)" >&2
  exit 1
fi
exec "$tool" "$@"
