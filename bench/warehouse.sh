#!/usr/bin/env bash
# Scores a generated set with `leadscore score` and with the exported SQL in DuckDB, PostgreSQL and
# Spark SQL; prints time, leads/s, peak memory and parity side by side.
# Usage: bench/warehouse.sh [--leads 100000 | --bank] [--kinds logistic,tree,gbdt] [--engines duckdb,postgres,spark]
# Needs Debian's postgresql and a Java runtime (openjdk-17-jre-headless) for Spark.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh bench/requirements.txt bench/requirements-warehouse.txt
"$venv/bin/python" bench/warehouse.py "$@"
