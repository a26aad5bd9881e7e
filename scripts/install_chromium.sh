#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test and the screenshots (Playwright drives it;
# nothing downloads a browser). Does nothing when chromium is there; says so when it cannot.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
echo "==> installing Debian's chromium for the dashboard's browser test"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
{ $SUDO apt-get install -y -q chromium || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium; }; } \
    >/dev/null 2>&1 || echo "    could not install chromium: the browser test will be skipped, saying so"
