"""dbt-duckdb plugin: UDFs the dbt project needs from Python.

- ``custseg_probe_source(path, format, column_map_json)``: checks the input (see ingest.py).
- ``custseg_prepare_file(path)`` / ``custseg_copy_file(src, dst)`` /
  ``custseg_replace_file(src, dst)``: the publish step (macro ``publish_warehouse``): the
  checkpointed working database is copied byte for byte next to the served one, and the
  finished copy replaces it with one rename, so readers never see a half-written file.

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
import os
import shutil
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .ingest import probe_source

UDF_NAME = "custseg_probe_source"


def replace_file(src: str, dst: str) -> str:
    """Atomically move ``src`` over ``dst`` (same folder, so one rename); returns ``dst``.

    Readers that hold the old ``dst`` open keep reading the old file until they reconnect.
    """
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("publish source and destination are the same file")
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    os.replace(src, dst)
    return dst


def copy_file(src: str, dst: str) -> str:
    """Copy ``src`` to ``dst`` byte for byte (the caller has checkpointed ``src``); returns ``dst``."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("publish source and destination are the same file")
    shutil.copyfile(src, dst)
    return dst


def prepare_file(path: str) -> str:
    """Make ``path``'s folder and remove a stale ``path`` (and its WAL) left by a crashed publish."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for candidate in (path, path + ".wal"):
        if os.path.exists(candidate):
            os.remove(candidate)
    return path


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.cache_dir = plugin_config.get("cache_dir", "target/custseg_cache")

    def configure_connection(self, conn) -> None:
        cache_dir = self.cache_dir

        def probe(path: str, fmt: str, column_map: str) -> str:
            return json.dumps(probe_source(path or "", fmt or "", cache_dir, column_map or "{}"))

        conn.create_function(UDF_NAME, probe, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_replace_file", replace_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("custseg_prepare_file", prepare_file, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_copy_file", copy_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
