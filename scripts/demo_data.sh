#!/usr/bin/env bash
# Makes the embedded demo data (data/demo/transactions.parquet, the default transactions_path)
# if it is absent. Needs .venv (scripts/setup.sh). Used by build.sh, spark_build.sh and test.sh
# (the lint compiles the project against it).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=data/demo/transactions.parquet
if [ ! -f "$DEMO" ]; then
    echo "==> generating demo data: $DEMO"
    .venv/bin/custseg generate --output "$DEMO" --rows 120000 --customers 2000 --seed 42
fi
