#!/usr/bin/env bash
# apt_install.sh PACKAGE WHAT: installs a Debian package for a test that needs it (the install_*.sh
# scripts call it once they found it absent): with sudo when not root, updating the package lists
# only when the first try fails. Never fails: when it cannot, it says WHAT will not work.
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
{ $SUDO apt-get install -y -q "$1" || { $SUDO apt-get update -q && $SUDO apt-get install -y -q "$1"; }; } \
    >/dev/null 2>&1 || echo "    could not install $1: $2"
