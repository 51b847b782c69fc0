#!/usr/bin/env bash
# Test AUC and ECE of leadscore against scikit-learn, LightGBM and XGBoost defaults on raw columns,
# and how far leadscore's validation AUC overstates its test AUC. Usage: bench/quality.sh [mql] [bank] [mql-seeds]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/env.sh bench/requirements.txt
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$venv/bin/python" bench/quality.py "$@"
