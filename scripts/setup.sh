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
# Installing again is skipped when this pyproject.toml was already installed with these extras
# (or with [dev], which includes [dashboard]): a second build starts at once, and a build run
# while the test suite runs never reinstalls the package under the suite's feet.
stamp=.venv/.custseg-installed
want="$(sha256sum pyproject.toml | cut -c1-16) ${extras:-[]}"
if [ -f "$stamp" ] && { grep -qxF "$want" "$stamp" \
        || { [ -z "$extras" ] && grep -q "^${want%% *} " "$stamp"; } \
        || { [ "$extras" = "[dashboard]" ] && grep -qxF "${want%% *} [dev]" "$stamp"; }; }; then
    echo "==> custseg${extras} is installed in .venv (pyproject.toml unchanged)"
    exit 0
fi
echo "==> installing custseg${extras} and its dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
echo "$want" >> "$stamp"
