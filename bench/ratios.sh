#!/usr/bin/env bash
# Every speed goal of issue 14 in one run, each next to its peer measured in the same run: serving
# vs a bare axum route, GBDT vs LightGBM and logistic vs scikit-learn fits, batch scoring leads/s
# and memory, event aggregation per core.
# Usage: bench/ratios.sh [--leads N] [--batch-leads M] [--fit-leads F] [--write-readme]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh bench/requirements.txt
cargo build --release --locked --quiet -p leadscore-server --example load
cargo build --release --locked --quiet -p leadscore-models --example fit
"$venv/bin/python" bench/ratios.py "$@"
