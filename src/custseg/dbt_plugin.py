"""dbt-duckdb plugin: exposes input probing to SQL as the UDF ``custseg_probe_source``.

Enabled in ``profiles.yml``::

    plugins:
      - module: custseg.dbt_plugin
        config: {cache_dir: target/custseg_cache}

``custseg_probe_source(path, format, column_map_json)`` returns the JSON of
:func:`custseg.ingest.probe_source`; the macro ``read_transactions_source`` reads it at compile
time and stops the build with the message when the input is unusable.
"""

from __future__ import annotations

import json
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .ingest import probe_source

UDF_NAME = "custseg_probe_source"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.cache_dir = plugin_config.get("cache_dir", "target/custseg_cache")

    def configure_connection(self, conn) -> None:
        cache_dir = self.cache_dir

        def probe(path: str, fmt: str, column_map: str) -> str:
            return json.dumps(probe_source(path or "", fmt or "", cache_dir, column_map or "{}"))

        conn.create_function(UDF_NAME, probe, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True)
