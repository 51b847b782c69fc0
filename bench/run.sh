#!/usr/bin/env bash
# Trains every leadscore model kind and its peers (scikit-learn, LightGBM) on the same splits and
# prints fit time and test AUC side by side. Usage: bench/run.sh [bank] [100k] [1m]  (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh bench/requirements.txt
cargo build --release --locked --quiet -p leadscore-models --example fit
"$venv/bin/python" bench/compare.py "$@"
