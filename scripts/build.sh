#!/usr/bin/env bash
# One command from a fresh clone: set up, make the demo data if absent, and run dbt build.
# Extra arguments go to dbt build, e.g.:
#   scripts/build.sh --vars '{transactions_path: /data/my_transactions.csv}'
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/demo_data.sh
mkdir -p "$(dirname "${CUSTSEG_DB_PATH:-warehouse/build/custseg.duckdb}")" "$(dirname "${CUSTSEG_SERVING_PATH:-warehouse/custseg.duckdb}")"
echo "==> dbt build"
.venv/bin/dbt build "$@"
echo "==> done: query ${CUSTSEG_SERVING_PATH:-warehouse/custseg.duckdb} (published, read-only); dbt writes ${CUSTSEG_DB_PATH:-warehouse/build/custseg.duckdb}"
