#!/usr/bin/env bash
# Scores a generated set with `leadscore score` and with the exported SQL in DuckDB, PostgreSQL and
# Spark SQL; prints time, leads/s, peak memory and parity side by side.
# Usage: bench/warehouse.sh [--leads 100000] [--kinds logistic,gbdt] [--engines duckdb,postgres,spark]
# Needs Debian's postgresql and a Java runtime (openjdk-17-jre-headless) for Spark.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt -r bench/requirements-warehouse.txt
cargo build --release --locked --quiet
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEADSCORE="$target/release/leadscore"
"$venv/bin/python" bench/warehouse.py "$@"
