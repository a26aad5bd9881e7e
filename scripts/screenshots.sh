#!/usr/bin/env bash
# Redraws docs/screenshots/: every dashboard page in headless Chromium at 1280 wide, on a fresh
# demo warehouse built by scripts/build.sh in a temporary folder (the checkout's warehouse/ and
# target/ are not touched). It is the browser test's 1280 pass with CUSTSEG_SCREENSHOT_DIR set,
# so a page with an error, a raw header or unformatted money fails instead of being pictured.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/install_chromium.sh
CUSTSEG_SCREENSHOT_DIR="$PWD/docs/screenshots" .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/e2e/test_dashboard_browser.py -k reads_as_words "$@"
echo "==> docs/screenshots/ redrawn: look at them before committing"
