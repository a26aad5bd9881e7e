#!/usr/bin/env bash
# Creates .venv (if absent) and installs the project with pinned ranges. Needs only python3.
# Usage: scripts/setup.sh [--dev | --dashboard | --spark]   (--dev adds the test tools,
# --dashboard the dashboard's streamlit and plotly, --spark dbt-spark and pyspark)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
[ "${1:-}" = "--dashboard" ] && extras="[dashboard]"
[ "${1:-}" = "--spark" ] && extras="[spark]"
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
echo "==> installing custseg${extras} and its dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
