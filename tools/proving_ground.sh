#!/usr/bin/env bash
# The proving-ground protocol, one command (docs/PROVING_GROUND.md): generates a synthetic world,
# exports the random-weight model (or takes --model), builds the bundles, probes the descriptors,
# generates cells and trains the four cell classifiers on the training split, tunes every
# estimator on the validation split, evaluates on the test split and writes a Markdown report with
# plots. It refuses any step that fits or tunes on the test split.
#
#   tools/proving_ground.sh --preset tiny                      # CI-sized, a few minutes
#   tools/proving_ground.sh --preset medium --publish docs     # the report in docs/
#   tools/proving_ground.sh --preset medium --from evaluate    # rerun the last steps
#
# Needs a build (cmake --build build) with geoloc-synth, geoloc-index, geoloc-cells and
# geoloc-eval, and Debian's python3 with python3-torch, python3-numpy, python3-matplotlib and
# python3-pil (tools/packages.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHONPATH="$root/tools/eval${PYTHONPATH:+:$PYTHONPATH}" exec /usr/bin/python3 -m proving_ground "$@"
