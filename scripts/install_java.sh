#!/usr/bin/env bash
# Makes sure Java 17+ is on the machine for Spark (pyspark 4): installs Debian's
# openjdk-17-jre-headless when it is absent or older. Never fails: says so when it cannot.
if java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    exit 0
fi
echo "==> installing Debian's openjdk-17-jre-headless (Spark needs Java 17+)"
bash "$(dirname "$0")/apt_install.sh" openjdk-17-jre-headless "install a JDK/JRE 17+ yourself: Spark cannot start without it"
