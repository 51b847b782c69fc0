#!/usr/bin/env bash
# Trains every leadscore model kind and its peers (scikit-learn, LightGBM) on the same splits and
# prints fit time and test AUC side by side. Usage: bench/run.sh [bank] [100k] [1m]  (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r bench/requirements.txt
fi
cargo build --release --locked --quiet
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEADSCORE="$target/release/leadscore"
"$venv/bin/python" bench/compare.py "$@"
