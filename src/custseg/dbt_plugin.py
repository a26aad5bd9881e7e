"""dbt-duckdb plugin: UDFs the dbt project needs from Python.

- ``custseg_probe_source(options_json)``: checks the input (see ingest.py); the options are
  the input vars as one JSON object, so no var is ever pasted into SQL. The answer is cached for
  the dbt invocation (the pre-flight hook, the base and the staging model ask the same question).
- ``custseg_probe_customers(options_json)``: the same for a customer table (customer_table.py).
- ``custseg_check_settings(settings_json)``: validates every other var (see settings.py).
- ``custseg_prepare_file(path)`` / ``custseg_copy_file(src, dst)`` /
  ``custseg_replace_file(src, dst)``: the publish step (macro ``publish_warehouse``): the
  checkpointed working database is copied byte for byte next to the served one, and the
  finished copy replaces it with one rename, so readers never see a half-written file.
- ``custseg_check_serving(path)``: refuses to publish over a serving copy that a read-write
  connection holds open or has changed since it was published (its writes would be lost); the
  published file is made read-only (mode 0444) and its size and mtime are stamped beside it.

Enabled in ``profiles.yml``::

    plugins:
      - module: custseg.dbt_plugin
        config: {cache_dir: target/custseg_cache}

``custseg_probe_source(options_json)`` returns the JSON of :func:`custseg.ingest.probe_source`;
the on-run-start hook ``preflight()`` and the macro ``transactions_source()`` read it and stop the
build with the message when the input is unusable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

# Only light modules here (no pandas or scikit-learn): dbt imports this plugin before the
# pre-flight check runs, so every import delays the first input error.
from .customer_table import probe_customer_table
from .ingest import probe_source
from .segmentation.readiness import check_segmentation_input
from .settings import check_settings


def replace_file(src: str, dst: str) -> str:
    """Atomically move ``src`` over ``dst`` (same folder, so one rename); returns ``dst``.

    Readers that hold the old ``dst`` open keep reading the old file until they reconnect.
    """
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("publish source and destination are the same file")
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    os.chmod(src, 0o444)  # readers only: a read-write open fails (for anyone but root)
    problem = check_serving(dst)  # again, right before the swap
    if problem:
        raise RuntimeError("Not published: " + problem)
    os.replace(src, dst)
    with open(_stamp_path(dst) + ".tmp", "w") as handle:
        json.dump(_stamp(dst), handle)
    os.replace(_stamp_path(dst) + ".tmp", _stamp_path(dst))
    return dst


def _stamp_path(path: str) -> str:
    return path + ".published"


def _stamp(path: str) -> dict:
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def check_serving(path: str) -> str:
    """Why ``path`` must not be replaced now ("" when it may be).

    DuckDB holds an exclusive lock on a file open read-write and shared locks for readers, so a
    shared lock we cannot get means a writer is connected: replacing the file would drop its
    writes without a word. A size or mtime that differs from the stamp written at publish time,
    or a WAL file beside it, means someone already wrote to it.
    """
    if not os.path.exists(path):
        return ""
    how_to = (
        " Open the serving copy read-only (duckdb.connect(path, read_only=True), DBeaver access_mode "
        "READ_ONLY) and keep your own tables in a database of your own (ATTACH it beside this one)."
    )
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return (
            f"{path} is open read-write by another process; replacing it now would silently lose that "
            f"connection's writes. Close it and run the build again.{how_to}"
        )
    finally:
        os.close(fd)  # also releases the probe lock
    changed = os.path.exists(path + ".wal")
    if not changed and os.path.exists(_stamp_path(path)):
        with open(_stamp_path(path)) as handle:
            changed = json.load(handle) != _stamp(path)
    if changed:
        return (
            f"{path} was changed after it was published (a read-write connection wrote to it); replacing "
            f"it would lose those changes. Move them out, then delete or rename {path} and run the build "
            f"again.{how_to}"
        )
    return ""


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


class Checks:
    """The input and settings checks the macros ask for, by name, each answer a JSON text,
    computed once per dbt invocation (the pre-flight hook, the base and the staging model
    ask the same question). Shared by this plugin (as DuckDB UDFs) and the Spark adapter
    (custseg.spark, as adapter methods)."""

    def __init__(self, cache_dir: str = "target/custseg_cache") -> None:
        self.cache_dir = cache_dir
        self.answers: dict[str, str] = {}

    def _answer(self, kind: str, options: dict) -> dict:
        if kind == "probe_source":
            return probe_source(options, cache_dir=self.cache_dir)
        if kind == "probe_customers":
            return probe_customer_table(options, cache_dir=self.cache_dir)
        if kind == "check_settings":
            return check_settings(options)
        if kind == "check_segmentation_input":
            return check_segmentation_input(options)
        raise ValueError(f"unknown check {kind!r}")

    def __call__(self, kind: str, options: str) -> str:
        key = kind + ":" + (options or "")
        if key not in self.answers:
            try:
                parsed = json.loads(options or "{}")
            except json.JSONDecodeError as exc:
                return json.dumps({"ok": False, "error": f"{kind} options are not JSON: {exc}"})
            self.answers[key] = json.dumps(self._answer(kind, parsed))
        return self.answers[key]


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.checks = Checks(plugin_config.get("cache_dir", "target/custseg_cache"))

    def configure_connection(self, conn) -> None:
        checks = self.checks

        def probe(options: str) -> str:
            return checks("probe_source", options)

        def probe_customers(options: str) -> str:
            return checks("probe_customers", options)

        def settings(values: str) -> str:
            return checks("check_settings", values)

        def segmentation_input(values: str) -> str:
            return checks("check_segmentation_input", values)

        conn.create_function("custseg_probe_source", probe, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_probe_customers", probe_customers, ["VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("custseg_check_settings", settings, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_check_segmentation_input", segmentation_input, ["VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function(
            "custseg_replace_file", replace_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function("custseg_prepare_file", prepare_file, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function(
            "custseg_check_serving", check_serving, ["VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function(
            "custseg_copy_file", copy_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
