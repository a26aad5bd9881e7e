#!/usr/bin/env bash
# One command from a fresh clone: set up with dev tools, lint, and run the whole test suite
# (package unit tests, dbt unit + data tests through end-to-end dbt builds, real-data builds
# when ../shared/data or CUSTSEG_SHARED_DATA is present). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "==> ruff"
.venv/bin/ruff check src tests/python benchmarks
.venv/bin/ruff format --check src tests/python benchmarks
echo "==> pytest"
.venv/bin/python -m pytest "$@"
