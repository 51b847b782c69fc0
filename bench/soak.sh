#!/usr/bin/env bash
# Soak test of `leadscore serve` with mixed valid and hostile traffic; prints RSS over time and
# exits non-zero if memory is not flat after warm-up or any answer was a 5xx.
# Usage: bench/soak.sh [--requests 1000000] [--clients 8] [--hostile 0.5]
set -euo pipefail
cd "$(dirname "$0")/.."
# Sourced with an argument, so that this script's own arguments are not read as requirement files.
source bench/env.sh bench/requirements.txt
"$venv/bin/python" bench/soak.py "$@"
