"""dbt-duckdb plugin: UDFs the dbt project needs from Python.

- ``custseg_probe_source(options_json)``: checks the input (see ingest.py); the options are
  the input vars as one JSON object, so no var is ever pasted into SQL. The answer is cached for
  the dbt invocation (the pre-flight hook, the base and the staging model ask the same question).
- ``custseg_check_settings(settings_json)``: validates every other var (see settings.py).
- ``custseg_prepare_file(path)`` / ``custseg_copy_file(src, dst)`` /
  ``custseg_replace_file(src, dst)``: the publish step (macro ``publish_warehouse``): the
  checkpointed working database is copied byte for byte next to the served one, and the
  finished copy replaces it with one rename, so readers never see a half-written file.

Enabled in ``profiles.yml``::

    plugins:
      - module: custseg.dbt_plugin
        config: {cache_dir: target/custseg_cache}

``custseg_probe_source(options_json)`` returns the JSON of :func:`custseg.ingest.probe_source`;
the on-run-start hook ``preflight()`` and the macro ``transactions_source()`` read it and stop the
build with the message when the input is unusable.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .ingest import probe_source
from .settings import check_settings

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
        self.answers: dict[str, str] = {}

    def configure_connection(self, conn) -> None:
        cache_dir = self.cache_dir
        answers = self.answers

        def probe(options: str) -> str:
            if options not in answers:
                try:
                    parsed = json.loads(options or "{}")
                except json.JSONDecodeError as exc:
                    return json.dumps({"ok": False, "error": f"input options are not JSON: {exc}"})
                answers[options] = json.dumps(probe_source(parsed, cache_dir=cache_dir))
            return answers[options]

        def settings(values: str) -> str:
            return json.dumps(check_settings(json.loads(values or "{}")))

        conn.create_function(UDF_NAME, probe, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function("custseg_check_settings", settings, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_replace_file", replace_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("custseg_prepare_file", prepare_file, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_copy_file", copy_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
