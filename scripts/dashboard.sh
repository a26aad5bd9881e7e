#!/usr/bin/env bash
# Start the dashboard (dashboard/app.py) on the published warehouse: run scripts/build.sh first.
# It opens the serving copy read-only (CUSTSEG_SERVING_PATH, default warehouse/custseg.duckdb),
# so it keeps working while dbt builds. Extra arguments go to `streamlit run`, e.g. --server.port 8502.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dashboard
echo "==> dashboard on http://127.0.0.1:8501, this machine only (.streamlit/config.toml; Ctrl-C stops it)"
exec .venv/bin/streamlit run dashboard/app.py --server.headless true --browser.gatherUsageStats false "$@"
