#!/usr/bin/env bash
# The build on local Spark (docs/spark.md): set up with dbt-spark and pyspark, make
# sure Java 17+ is there, make the demo data if absent, and run `dbt build --target spark`.
# Extra arguments go to dbt build, e.g.:
#   scripts/spark_build.sh --vars '{transactions_path: /data/transactions.parquet}'
# Tables and metastore: CUSTSEG_SPARK_WAREHOUSE (default warehouse/spark).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --spark
bash scripts/install_java.sh
bash scripts/demo_data.sh
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
echo "==> dbt build --target spark"
.venv/bin/dbt build --target spark "$@"
echo "==> done: Parquet tables and the Derby metastore under ${CUSTSEG_SPARK_WAREHOUSE:-warehouse/spark}"
