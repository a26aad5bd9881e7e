#!/usr/bin/env bash
# Build a customer table with one of the example configs (configs/*.yml):
#   scripts/customer_table.sh CONFIG [FILE] [dbt build arguments]
# FILE is the table's path (default: the config's customers_path, under data/customer_tables/);
# the config's vars and the path go to scripts/build.sh as one --vars value.
set -euo pipefail
config="$(realpath "$1")"
shift
file=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    file="$(realpath "$1")"
    shift
fi
cd "$(dirname "$0")/.."
bash scripts/setup.sh
vars="$(.venv/bin/python - "$config" "$file" <<'PY'
import json
import sys

import yaml

config = yaml.safe_load(open(sys.argv[1]))
if sys.argv[2]:
    config["customers_path"] = sys.argv[2]
print(json.dumps(config))
PY
)"
exec bash scripts/build.sh --vars "$vars" "$@"
