#!/usr/bin/env bash
# Scoring throughput through the Python package against `leadscore score` on the same generated
# leads and model, both from the same release build; prints time, leads/s and peak memory side by
# side, and checks the probabilities are identical.
# Usage: bench/python.sh [--leads 1000000] [--kind logistic|tree|gbdt] [--reasons 3] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh bench/requirements.txt
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2" polars
wheels="$(dirname "$LEADSCORE")/wheels"
rm -rf "$wheels"
"$venv/bin/maturin" build --quiet --release --manifest-path crates/leadscore-py/Cargo.toml \
  --interpreter "$venv/bin/python" --out "$wheels"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/leadscore-*.whl
"$venv/bin/python" bench/python.py "$@"
