#!/usr/bin/env bash
# Makes sure PostgreSQL's server programs (initdb, pg_ctl) are on the machine for the database
# tests (tests/e2e/test_database.py starts a server of its own in a temp folder, on 127.0.0.1
# only, and stops it): installs Debian's postgresql package when they are absent. The package's
# own cluster is never used. Never fails: says so when it cannot (the tests then skip, saying why).
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
echo "==> installing Debian's postgresql (the database tests start a server of their own)"
bash "$(dirname "$0")/apt_install.sh" postgresql "the PostgreSQL tests will skip"
# the package starts its own cluster on installation: the tests never use it
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
$SUDO service postgresql stop >/dev/null 2>&1 || true
