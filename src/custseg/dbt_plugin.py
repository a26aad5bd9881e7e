"""dbt-duckdb plugin: UDFs the dbt project needs from Python.

- ``custseg_probe_source(options_json)``: checks the input (see ingest.py); the options are
  the input vars as one JSON object, so no var is ever pasted into SQL. The answer is cached for
  the dbt invocation (the pre-flight hook, the base and the staging model ask the same question).
- ``custseg_probe_customers(options_json)``: the same for a customer table (customer_table.py).
- ``custseg_check_settings(settings_json)``: validates every other var (see settings.py).
- ``custseg_publish_file(working, serving)``: the publish step's file work (macro
  ``publish_warehouse``, :func:`publish_file`): the checkpointed working database is copied byte for byte next to the served one, and the
  finished copy replaces it with one rename, so readers never see a half-written file. The
  replaced publication is kept as ``<serving>.spare``; when no reader has it open, the next
  publish turns it into the copy by writing only the blocks that differ (a weekly batch appends
  and rebuilds a small part of the file), instead of writing the whole file again.
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

import contextlib
import fcntl
import json
import os
import shutil
import stat
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
    spare = spare_path(dst)
    if os.path.lexists(spare):
        os.remove(spare)
    if os.path.lexists(dst):  # the served file, once replaced, is the next publish's spare
        # a file system without hard links: no spare, and the next publish copies
        with contextlib.suppress(OSError):
            os.link(dst, spare, follow_symlinks=False)
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


def spare_path(serving: str) -> str:
    """The publication before the served one, kept to be rewritten by the next publish."""
    return serving + ".spare"


# Compared and written in chunks of DuckDB's block size (its blocks start after a 12 KiB
# header, so one changed block rewrites at most two chunks).
BLOCK = 256 * 1024


def copy_file(src: str, dst: str, serving: str) -> str:
    """Make ``dst`` a byte-for-byte copy of ``src`` (the caller has checkpointed ``src``);
    returns what it wrote, for the build's log.

    When the spare of ``serving`` (the previous publication, see :func:`replace_file`) is ours
    to reuse, it is renamed to ``dst`` and only the blocks that differ from ``src`` are written, then it is cut
    to ``src``'s size: the result is the same bytes as a full copy. Else a plain copy.
    """
    spare = spare_path(serving)
    if os.path.abspath(src) in {os.path.abspath(dst), os.path.abspath(spare)}:
        raise ValueError("publish source and destination are the same file")
    size = os.path.getsize(src)
    fd = _take_spare(spare, dst)
    if fd is None:
        shutil.copyfile(src, dst)
        return f"copied {size / 2**20:,.0f} MiB"
    try:
        written = _write_changed_blocks(src, fd)
        os.ftruncate(fd, size)
    finally:
        os.close(fd)  # also releases the lock
    return f"wrote {written / 2**20:,.0f} of {size / 2**20:,.0f} MiB into the previous publication"


def _take_spare(spare: str, dst: str) -> int | None:
    """``spare`` renamed to ``dst`` and opened for writing under an exclusive lock, or None
    (``dst`` then absent) when it is missing, not a regular file of ours with one name, or held
    open by a reader: DuckDB readers hold a shared lock, and a reader of the old publication
    keeps reading it unchanged (we unlink the name only; the reader keeps the file)."""
    try:
        st = os.lstat(spare)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
        return None
    os.rename(spare, dst)
    fd = -1
    try:
        probe = os.open(dst, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            found = os.fstat(probe)
            if (found.st_dev, found.st_ino) != (st.st_dev, st.st_ino) or found.st_nlink != 1:
                raise OSError("the spare changed while it was taken")
            os.fchmod(probe, 0o600)  # published files are read-only; this one is about to be rewritten
        finally:
            os.close(probe)
        fd = os.open(dst, os.O_RDWR | os.O_NOFOLLOW)
        found = os.fstat(fd)
        if (found.st_dev, found.st_ino) != (st.st_dev, st.st_ino):
            raise OSError("the spare changed while it was taken")
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while any reader has it open
        return fd
    except OSError:
        if fd >= 0:
            os.close(fd)
        os.remove(dst)
        return None


def _write_changed_blocks(src: str, fd: int) -> int:
    """Write into ``fd`` each block of ``src`` that differs from ``fd``'s; returns the bytes written."""
    written = offset = 0
    with open(src, "rb", buffering=0) as source:
        while block := source.read(BLOCK):
            if os.pread(fd, len(block), offset) != block:
                if os.pwrite(fd, block, offset) != len(block):
                    raise OSError(f"short write at byte {offset} of the serving copy")
                written += len(block)
            offset += len(block)
    return written


def prepare_file(path: str) -> str:
    """Make ``path``'s folder and remove a stale ``path`` (and its WAL) left by a crashed publish."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for candidate in (path, path + ".wal"):
        if os.path.exists(candidate):
            os.remove(candidate)
    return path


def publish_file(working: str, serving: str) -> str:
    """The publish step's file work, in its one order: ``working`` (checkpointed by the caller)
    copied to ``<serving>.publishing`` (into the spare when it can be reused), which then
    replaces ``serving`` with one rename; returns what the copy wrote, for the build's log."""
    staging = prepare_file(serving + ".publishing")
    written = copy_file(working, staging, serving)
    replace_file(staging, serving)
    return written


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
            "custseg_publish_file", publish_file, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True
        )
        conn.create_function(
            "custseg_check_serving", check_serving, ["VARCHAR"], "VARCHAR", side_effects=True
        )
