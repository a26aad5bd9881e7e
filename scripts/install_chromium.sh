#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test and the screenshots (Playwright drives it;
# nothing downloads a browser). Does nothing when chromium is there; says so when it cannot.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
echo "==> installing Debian's chromium for the dashboard's browser test"
bash "$(dirname "$0")/apt_install.sh" chromium "the browser test will be skipped, saying so"
