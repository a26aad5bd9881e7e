#!/usr/bin/env bash
# One command from a fresh clone: set up with dev tools, lint, and run the whole test suite
# (package unit tests, dbt unit + data tests through end-to-end dbt builds, real-data builds
# when ../shared/data or CUSTSEG_SHARED_DATA is present). Extra arguments go to pytest.
# The suite runs on CUSTSEG_TEST_WORKERS pytest-xdist workers (default 2, one test file per
# worker at a time, so module fixtures are built once): most of a dbt build is single-threaded
# Python, so two builds side by side use both cores. CUSTSEG_TEST_WORKERS=0 runs in one process.
# --quick: the unit tests alone (no dbt, no browser, no Spark; about a minute), for the edit-run
# loop; the suite prints how many dbt invocations it made (0 here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
if [ "${1:-}" = "--quick" ]; then
    shift
    exec .venv/bin/python -m pytest -n "${CUSTSEG_TEST_WORKERS:-2}" tests/unit "$@"
fi
bash scripts/install_chromium.sh  # the dashboard's browser test drives Debian's chromium
# the Spark comparison test (tests/e2e/test_spark.py) needs Java 17+; skipped, saying so, without
bash scripts/install_java.sh
# the database tests start a PostgreSQL server of their own (Debian's postgresql package)
bash scripts/install_postgres.sh
echo "==> ruff"
.venv/bin/ruff check src tests benchmarks dashboard python_models scripts
.venv/bin/ruff format --check src tests benchmarks dashboard python_models scripts
bash scripts/demo_data.sh  # the lint compiles the staging models against the default input
echo "==> sqlfluff (dbt templater, compiling in a temp dir)"
LINT_DIR="$(mktemp -d)"
CUSTSEG_DB_PATH="$LINT_DIR/lint.duckdb" CUSTSEG_SERVING_PATH="$LINT_DIR/serving/lint.duckdb" \
    CUSTSEG_MODEL_KEY_PATH="$LINT_DIR/model-signing.key" DBT_TARGET_PATH="$LINT_DIR/target" \
    DBT_LOG_PATH="$LINT_DIR/logs" .venv/bin/sqlfluff lint models analyses tests --processes 2
rm -rf "$LINT_DIR"
echo "==> pytest"
WORKERS="${CUSTSEG_TEST_WORKERS:-2}"
# --durations: where the time goes (the suite also prints its count of dbt invocations)
if [ "$WORKERS" = "0" ]; then
    .venv/bin/python -m pytest --durations=15 "$@"
else
    # one file per worker at a time, in conftest's order (the longest first), not by test count
    .venv/bin/python -m pytest -n "$WORKERS" --dist loadfile --no-loadscope-reorder --durations=15 "$@"
fi
