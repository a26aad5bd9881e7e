"""dbt-duckdb plugin: UDFs the dbt project needs from Python.

- ``custseg_probe_source(options_json)``: checks the input (custseg.inputs.transactions); the options are
  the input vars as one JSON object, so no var is ever pasted into SQL. The answer is cached for
  the dbt invocation (the pre-flight hook, the base and the staging model ask the same question).
- ``custseg_probe_customers(options_json)``: the same for a customer table (custseg.inputs.customer_probe).
- ``custseg_check_settings(settings_json)``: validates every other var (see settings.py).
- ``custseg_publish_file(working, serving)`` / ``custseg_check_serving(path)``: the publish
  step (macro ``publish_warehouse``; the file work is :mod:`custseg.publish`), answering JSON or a
  problem text the macro stops the build with.
- ``custseg_sync(serving, options_json)``: after the publish, the audiences out (:mod:`custseg.sync`).

In a ``dbt`` command's own process the plugin also takes what is alive when the build starts out
of the cyclic garbage collector's walks (:func:`freeze_for_this_command`).

Enabled in ``profiles.yml``::

    plugins:
      - module: custseg.dbt_plugin
        config: {cache_dir: target/custseg_cache}

``custseg_probe_source(options_json)`` returns the JSON of :func:`custseg.inputs.transactions.probe_source`;
the on-run-start hook ``preflight()`` and the macro ``transactions_source()`` read it and stop the
build with the message when the input is unusable.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import PureWindowsPath
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

# Only light modules here (no pandas or scikit-learn): dbt imports this plugin before the
# pre-flight check runs, so every import delays the first input error.
from .inputs.customer_probe import probe_customer_table
from .inputs.transactions import probe_source
from .publish import PublishError, check_serving, publish_file
from .segmentation.readiness import check_segmentation_input
from .settings import check_settings
from .value.config import calibration_end_problem


def publish(working: str, serving: str) -> str:
    """The UDF ``custseg_publish_file``: :func:`custseg.publish.publish_file` as JSON, either
    ``{"written": ...}`` or ``{"problem": ...}`` (a message the macro stops the build with)."""
    try:
        return json.dumps({"written": publish_file(working, serving)})
    except PublishError as exc:
        return json.dumps({"problem": f"Not published: {exc}"})


def sync_published(serving: str, options: str) -> str:
    """The UDF ``custseg_sync``: after a publish, the audiences upserted into the database named by
    CUSTSEG_SYNC_URL (custseg.sync), as JSON: ``{"skipped": true}`` when it is not set, else
    ``{"synced": summary}`` or ``{"problem": message}`` (never the URL)."""
    from .inputs import SourceError
    from .sync import summary, sync, sync_url

    parsed = json.loads(options or "{}")
    try:
        if sync_url() is None:
            return json.dumps({"skipped": True})
        done = sync(serving, parsed.get("sync_schema") or "custseg", run_id=parsed.get("run_id") or "")
        return json.dumps({"synced": summary(done)})
    except SourceError as exc:  # a SyncError, or the target's connection
        return json.dumps({"problem": str(exc)})


def serving_problem(serving: str) -> str:
    """The UDF ``custseg_check_serving``: why the served file must not be replaced ("" if it may)."""
    try:
        return check_serving(serving)
    except PublishError as exc:
        return str(exc)


def catalog_name_problem(conn) -> str:
    """Why the working database's file name cannot be used ("" when it can): DuckDB names the
    database (its catalog) after the file, and dbt-duckdb pastes that name into SQL text unescaped
    in several of its own macros, so a quote in it breaks the build with a bare parser error."""
    for name, path in conn.execute(
        "select database_name, path from duckdb_databases() where not internal and path is not null"
    ).fetchall():
        if "'" in name or '"' in name:
            return (
                f"The warehouse file {path} has a quote in its name: DuckDB names the database after the file "
                f"({name}), and dbt cannot use a name with quotes. Name the file with letters, digits, '_', '-' "
                "or '.' (CUSTSEG_DB_PATH); the published copy (CUSTSEG_SERVING_PATH) may keep any name."
            )
    return ""


class Checks:
    """The input and settings checks the macros ask for, by name, each answer a JSON text,
    computed once per dbt invocation (the pre-flight hook, the base and the staging model
    ask the same question). Shared by this plugin (as DuckDB UDFs) and the Spark adapter
    (custseg.spark, as adapter methods)."""

    KINDS = (
        "probe_source",
        "probe_customers",
        "check_settings",
        "check_segmentation_input",
        "check_calibration_end",
    )

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
        if kind == "check_calibration_end":
            return calibration_end_problem(options)
        raise ValueError(f"unknown check {kind!r}")

    def udf(self, kind: str):
        """The check ``kind`` as a function of its options' JSON alone (a DuckDB UDF)."""

        def answer(options: str) -> str:
            return self(kind, options)

        return answer

    # options that describe the warehouse as it is while the build runs, not the question: a
    # database source is pulled once per invocation, at the pre-flight, and that answer stands
    # for every model (the line store gains the pull's file half-way through the build)
    ASKED_ONCE = ("loaded_pulls", "full_refresh")

    def __call__(self, kind: str, options: str) -> str:
        try:
            parsed = json.loads(options or "{}")
        except json.JSONDecodeError as exc:
            return json.dumps({"ok": False, "error": f"{kind} options are not JSON: {exc}"})
        asked = (
            {k: v for k, v in parsed.items() if k not in self.ASKED_ONCE}
            if isinstance(parsed, dict)
            else parsed
        )
        key = kind + ":" + json.dumps(asked, sort_keys=True)
        if key not in self.answers:
            self.answers[key] = json.dumps(self._answer(kind, parsed))
        return self.answers[key]


# young objects the collector lets pile up before it looks at them, in a dbt command after its
# parse (Python's default: 700; docs/benchmarks.md)
YOUNG_OBJECTS_PER_COLLECTION = 10_000


def freeze_for_this_command() -> bool:
    """In the ``dbt`` command's own process (the CLI: the process ends with the command), what is
    alive when the first connection opens (dbt's imports, the parsed project: some 200,000
    objects) lives until the end: ``gc.freeze()`` spares every later full collection a walk over
    it (an Online Retail build: 16.4 s to 15.3 s, the same peak memory), and the youngest
    generation is collected every 10,000 new objects, not every 700 (dbt makes and drops
    thousands per node: 16.1 s to 15.6 s, 8 MiB more at the peak; docs/benchmarks.md).
    Not where dbt runs inside another program (dbtRunner): there it would keep this run's
    garbage for that program's lifetime. True when it froze."""
    if PureWindowsPath(sys.argv[0]).stem != "dbt":  # either separator: / or \
        return False
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])
    return True


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.checks = Checks(plugin_config.get("cache_dir", "target/custseg_cache"))
        freeze_for_this_command()  # after the parse, before the first node

    def configure_connection(self, conn) -> None:
        problem = catalog_name_problem(conn)
        if problem:
            raise DbtRuntimeError(problem)
        checks = self.checks
        for kind in Checks.KINDS:  # each check as the UDF custseg_<kind>(options_json)
            conn.create_function(
                f"custseg_{kind}", checks.udf(kind), ["VARCHAR"], "VARCHAR", side_effects=True
            )
        conn.create_function(
            "custseg_publish_file", publish, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function(
            "custseg_check_serving", serving_problem, ["VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function(
            "custseg_sync", sync_published, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
